#include "sim/instance.h"

#include <algorithm>

namespace regiongate::sim {

InstanceParams InstanceParams::fromLatency(const inference::LatencyParams& p, uint64_t kv_tokens,
                                           uint32_t block_tokens) {
  InstanceParams out;
  out.kv_tokens = kv_tokens;
  out.block_tokens = block_tokens;
  out.prefill_ms_per_token = p.prefill_ms_per_token;
  out.ttft_fixed_ms = p.ttft_fixed_ms;
  out.decode_ms_per_token = p.decode_ms_per_token;
  out.batch_slots = p.batch_slots;
  return out;
}

size_t Instance::peekCachedBlocks(const std::vector<uint64_t>& blocks) const {
  size_t n = 0;
  while (n < blocks.size() && cache_.contains(blocks[n])) ++n;
  return n;
}

double Instance::backlogMs(double now_ms) const {
  double current = prefilling_ ? std::max(0.0, prefill_end_ms_ - now_ms) : 0.0;
  return current + waiting_work_ms_;
}

}  // namespace regiongate::sim
