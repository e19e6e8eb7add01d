#include "routing/kv_event_index.h"

#include <mutex>

#include "routing/prompt_blocks.h"

namespace regiongate::routing {

KvEventIndex::EndpointBlocks& KvEventIndex::slot(uint32_t endpoint) {
  if (endpoint >= endpoints_.size()) endpoints_.resize(endpoint + 1);
  return endpoints_[endpoint];
}

void KvEventIndex::apply(uint32_t endpoint, const KvEventBatch& batch) {
  std::unique_lock lock(mu_);
  EndpointBlocks& eb = slot(endpoint);
  for (const KvEvent& ev : batch.events) {
    switch (ev.kind) {
      case KvEventKind::AllBlocksCleared:
        eb.vllm_to_ours.clear();
        eb.ours.clear();
        break;
      case KvEventKind::BlockRemoved:
        for (uint64_t h : ev.block_hashes) {
          auto it = eb.vllm_to_ours.find(h);
          if (it == eb.vllm_to_ours.end()) continue;
          auto o = eb.ours.find(it->second);
          if (o != eb.ours.end() && --o->second == 0) eb.ours.erase(o);
          eb.vllm_to_ours.erase(it);
        }
        break;
      case KvEventKind::BlockStored: {
        if (ev.block_size == 0) break;
        eb.block_size = ev.block_size;
        uint64_t parent = 0;
        if (ev.parent_block_hash) {
          auto it = eb.vllm_to_ours.find(*ev.parent_block_hash);
          if (it == eb.vllm_to_ours.end()) {
            orphans_ += ev.block_hashes.size();
            break;
          }
          parent = it->second;
        }
        std::span<const uint32_t> tokens(ev.token_ids);
        for (size_t i = 0; i < ev.block_hashes.size(); ++i) {
          size_t off = i * ev.block_size;
          if (off + ev.block_size > tokens.size()) break;  // partial / missing token ids
          if (eb.vllm_to_ours.size() >= max_blocks_) break;
          uint64_t ours = tokenBlockHash(parent, tokens.subspan(off, ev.block_size));
          auto [it, inserted] = eb.vllm_to_ours.emplace(ev.block_hashes[i], ours);
          if (inserted) ++eb.ours[ours];
          parent = ours;
        }
        break;
      }
    }
  }
}

size_t KvEventIndex::depthLocked(const EndpointBlocks& eb, std::span<const uint64_t> blocks) {
  size_t d = 0;
  while (d < blocks.size() && eb.ours.contains(blocks[d])) ++d;
  return d;
}

size_t KvEventIndex::matchedBlocks(std::span<const uint64_t> token_blocks,
                                   uint32_t endpoint) const {
  std::shared_lock lock(mu_);
  if (endpoint >= endpoints_.size()) return 0;
  return depthLocked(endpoints_[endpoint], token_blocks);
}

void KvEventIndex::matchDepths(std::span<const uint64_t> token_blocks,
                               std::span<const uint32_t> endpoints,
                               std::span<uint32_t> depths) const {
  std::shared_lock lock(mu_);
  for (size_t i = 0; i < endpoints.size(); ++i)
    depths[i] = endpoints[i] < endpoints_.size()
                    ? static_cast<uint32_t>(depthLocked(endpoints_[endpoints[i]], token_blocks))
                    : 0;
}

size_t KvEventIndex::blockCount(uint32_t endpoint) const {
  std::shared_lock lock(mu_);
  return endpoint < endpoints_.size() ? endpoints_[endpoint].vllm_to_ours.size() : 0;
}

uint32_t KvEventIndex::blockSize(uint32_t endpoint) const {
  std::shared_lock lock(mu_);
  return endpoint < endpoints_.size() ? endpoints_[endpoint].block_size : 0;
}

uint64_t KvEventIndex::orphanBlocks() const {
  std::shared_lock lock(mu_);
  return orphans_;
}

}  // namespace regiongate::routing
