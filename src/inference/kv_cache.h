#pragma once
// KvCache: the mock backend's model of a prefix (KV) cache, after vLLM's automatic prefix caching.
//
// A prompt's tokens are cut into fixed-size blocks of `block_tokens` tokens (only full blocks are
// cacheable). Block i's hash is chainHash(hash of block i-1, the block's token ids as
// little-endian uint32 bytes); block 0's parent is 0. The cache holds at most
// capacity_tokens / block_tokens blocks and evicts the least recently used block first. When a
// prompt touches its blocks they are touched deepest-first, so a prefix's parent is always more
// recent than its children and eviction removes leaves before their parents. lookup() returns the
// longest cached prefix and stops at the first missing block, so an orphan is never counted.
//
// Not thread-safe: the owner serialises calls (the mock server holds a mutex per model; the
// simulator is single-threaded). Time-free: no clock needed.
#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "inference/tokenizer.h"

namespace regiongate::inference {

// A prompt cut into blocks: the tokens and one chained hash per full block.
struct BlockSeq {
  uint32_t block_tokens = 16;
  std::vector<TokenId> tokens;
  std::vector<uint64_t> hashes;  // hashes.size() == tokens.size() / block_tokens

  size_t blocks() const { return hashes.size(); }
  std::span<const TokenId> blockTokens(size_t i) const {
    return std::span<const TokenId>(tokens).subspan(i * block_tokens, block_tokens);
  }
};

// Hashes of the full blocks of `tokens` (see the header comment for the definition).
BlockSeq makeBlocks(std::vector<TokenId> tokens, uint32_t block_tokens);

// One KV-cache event, as vLLM publishes them (see kv_event_publisher.h for the wire format).
struct KvEvent {
  enum class Kind { BlockStored, BlockRemoved, AllBlocksCleared };
  Kind kind = Kind::BlockStored;
  std::vector<uint64_t> block_hashes;         // Stored / Removed
  std::optional<uint64_t> parent_block_hash;  // Stored: the block before the first; none at root
  std::vector<TokenId> token_ids;             // Stored: the tokens of all stored blocks
  uint32_t block_size = 0;                    // Stored
};

struct KvCacheStats {
  uint64_t lookups = 0;
  uint64_t hit_blocks = 0;      // blocks found by lookup()
  uint64_t miss_blocks = 0;     // full blocks looked up and not found
  uint64_t stored_blocks = 0;   // blocks inserted
  uint64_t evicted_blocks = 0;  // blocks removed by LRU eviction
  uint64_t clears = 0;
};

class KvCache {
 public:
  using EventCallback = std::function<void(const KvEvent&)>;

  KvCache(uint64_t capacity_tokens, uint32_t block_tokens);

  // Cached prefix length in tokens (a multiple of block_tokens); considers at most `max_blocks`
  // blocks. Found blocks become most recently used.
  uint64_t lookup(const BlockSeq& seq, size_t max_blocks = SIZE_MAX);
  // Stores every full block of `seq` (present ones are touched), then evicts LRU blocks down to
  // capacity. Emits BlockStored for each run of new blocks and BlockRemoved for evictions.
  void insert(const BlockSeq& seq);
  // Empties the cache (model version change). Emits AllBlocksCleared.
  void clear();

  bool contains(uint64_t hash) const { return index_.count(hash) != 0; }
  size_t sizeBlocks() const { return index_.size(); }
  uint64_t sizeTokens() const { return index_.size() * block_tokens_; }
  uint64_t capacityBlocks() const { return capacity_blocks_; }
  uint32_t blockTokens() const { return block_tokens_; }
  const KvCacheStats& stats() const { return stats_; }
  // Hashes from least to most recently used (for tests and debugging).
  std::vector<uint64_t> lruOrder() const;
  // Called synchronously from insert()/clear(), under the owner's serialisation.
  void setEventCallback(EventCallback callback) { on_event_ = std::move(callback); }

 private:
  void touch(std::list<uint64_t>::iterator it);
  void evictToCapacity();

  uint32_t block_tokens_;
  uint64_t capacity_blocks_;
  std::list<uint64_t> lru_;  // front = most recently used
  std::unordered_map<uint64_t, std::list<uint64_t>::iterator> index_;
  KvCacheStats stats_;
  EventCallback on_event_;
};

}  // namespace regiongate::inference
