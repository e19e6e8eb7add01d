#pragma once
// Precise mode: the blocks each endpoint actually holds, from its vLLM KV-cache events.
//
// vLLM's block hashes (sha256/cbor over token ids with a per-process seed) cannot be recomputed
// by the gateway, so the index re-keys every stored block with OUR token-block hash
// (prompt_blocks.h tokenBlockHash over the event's token_ids, chained through the parent):
// vllm hash -> our hash is remembered so BlockRemoved can be applied. A request then matches
// when the gateway has its token ids (RouteRequest::token_blocks). Without token ids (chat
// text) precise mode cannot match and the approximate, character-based index is used.
//
// Thread-safe: one writer (the ZMQ subscriber thread) and many readers (worker policies) share
// it through a std::shared_mutex; readers take the shared lock once per routing decision.
#include <cstdint>
#include <shared_mutex>
#include <span>
#include <unordered_map>
#include <vector>

#include "routing/kv_events.h"

namespace regiongate::routing {

class KvEventIndex {
public:
  explicit KvEventIndex(size_t max_blocks_per_endpoint = 1 << 20)
      : max_blocks_(max_blocks_per_endpoint) {}

  void apply(uint32_t endpoint, const KvEventBatch& batch);

  size_t matchedBlocks(std::span<const uint64_t> token_blocks, uint32_t endpoint) const;
  void matchDepths(std::span<const uint64_t> token_blocks, std::span<const uint32_t> endpoints,
                   std::span<uint32_t> depths) const;
  size_t blockCount(uint32_t endpoint) const;
  uint32_t blockSize(uint32_t endpoint) const;  // from the events, 0 = none seen yet
  // Stored blocks whose parent was unknown (e.g. events missed): not indexed.
  uint64_t orphanBlocks() const;

private:
  struct EndpointBlocks {
    std::unordered_map<uint64_t, uint64_t> vllm_to_ours;
    std::unordered_map<uint64_t, uint32_t> ours;  // our hash -> refcount
    uint32_t block_size = 0;
  };
  EndpointBlocks& slot(uint32_t endpoint);
  static size_t depthLocked(const EndpointBlocks& eb, std::span<const uint64_t> blocks);

  size_t max_blocks_;
  mutable std::shared_mutex mu_;
  std::vector<EndpointBlocks> endpoints_;
  uint64_t orphans_ = 0;
};

}  // namespace regiongate::routing
