#include "inference/kv_cache.h"

#include <algorithm>
#include <cstdint>
#include <string_view>

#include "routing/prompt_blocks.h"

namespace regiongate::inference {

BlockSeq makeBlocks(std::vector<TokenId> tokens, uint32_t block_tokens) {
  BlockSeq seq;
  seq.block_tokens = block_tokens == 0 ? 1 : block_tokens;
  seq.tokens = std::move(tokens);
  // The router's precise-mode token-block hash: a gateway holding the token ids matches exactly.
  seq.hashes = routing::tokenBlocks(seq.tokens, seq.block_tokens);
  return seq;
}

KvCache::KvCache(uint64_t capacity_tokens, uint32_t block_tokens)
    : block_tokens_(block_tokens == 0 ? 1 : block_tokens),
      capacity_blocks_(capacity_tokens / (block_tokens == 0 ? 1 : block_tokens)) {}

void KvCache::touch(std::list<uint64_t>::iterator it) { lru_.splice(lru_.begin(), lru_, it); }

uint64_t KvCache::lookup(const BlockSeq& seq, size_t max_blocks) {
  ++stats_.lookups;
  const size_t n = std::min(seq.blocks(), max_blocks);
  size_t hit = 0;
  while (hit < n) {
    auto it = index_.find(seq.hashes[hit]);
    if (it == index_.end()) break;
    ++hit;
  }
  // Touch deepest-first so parents end up more recent than their children.
  for (size_t i = hit; i-- > 0;) touch(index_.find(seq.hashes[i])->second);
  stats_.hit_blocks += hit;
  stats_.miss_blocks += n - hit;
  return static_cast<uint64_t>(hit) * block_tokens_;
}

void KvCache::insert(const BlockSeq& seq) {
  const size_t n = seq.blocks();
  // Emit one BlockStored per run of consecutive new blocks.
  size_t run_start = SIZE_MAX;
  auto flush_run = [&](size_t end) {
    if (run_start == SIZE_MAX) return;
    if (on_event_) {
      KvEvent ev;
      ev.kind = KvEvent::Kind::BlockStored;
      ev.block_size = block_tokens_;
      if (run_start > 0) ev.parent_block_hash = seq.hashes[run_start - 1];
      ev.block_hashes.assign(seq.hashes.begin() + run_start, seq.hashes.begin() + end);
      ev.token_ids.assign(seq.tokens.begin() + run_start * block_tokens_,
                          seq.tokens.begin() + end * block_tokens_);
      on_event_(ev);
    }
    run_start = SIZE_MAX;
  };
  for (size_t i = 0; i < n; ++i) {
    if (index_.count(seq.hashes[i])) {
      flush_run(i);
      continue;
    }
    lru_.push_front(seq.hashes[i]);
    index_.emplace(seq.hashes[i], lru_.begin());
    ++stats_.stored_blocks;
    if (run_start == SIZE_MAX) run_start = i;
  }
  flush_run(n);
  for (size_t i = n; i-- > 0;) touch(index_.find(seq.hashes[i])->second);
  evictToCapacity();
}

void KvCache::evictToCapacity() {
  if (index_.size() <= capacity_blocks_) return;
  KvEvent ev;
  ev.kind = KvEvent::Kind::BlockRemoved;
  while (index_.size() > capacity_blocks_) {
    uint64_t victim = lru_.back();
    lru_.pop_back();
    index_.erase(victim);
    ++stats_.evicted_blocks;
    ev.block_hashes.push_back(victim);
  }
  if (on_event_) on_event_(ev);
}

void KvCache::clear() {
  lru_.clear();
  index_.clear();
  ++stats_.clears;
  if (on_event_) {
    KvEvent ev;
    ev.kind = KvEvent::Kind::AllBlocksCleared;
    on_event_(ev);
  }
}

std::vector<uint64_t> KvCache::lruOrder() const { return {lru_.rbegin(), lru_.rend()}; }

}  // namespace regiongate::inference
