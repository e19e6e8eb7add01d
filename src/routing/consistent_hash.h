#pragma once
// consistent_hash: a hash ring with `virtual_nodes x weight` points per endpoint, keyed on the
// chained hash of the prompt's first K blocks (K = hash_key_blocks, default 2: the hash of block
// 2 covers blocks 1-2, i.e. system prompt plus the start of the conversation). Bounded loads
// (Mirrokni, Thorup, Zadimoghaddam 2018): walking the ring clockwise, an endpoint is skipped while
// in_flight + 1 > ceil(c * (total_in_flight + 1) / n). Prompts shorter than one block have no key
// and go to the least loaded candidate.
#include <vector>

#include "routing/policy.h"

namespace regiongate::routing {

class ConsistentHashPolicy final : public Policy {
public:
  explicit ConsistentHashPolicy(const PolicyOptions& options) : options_(options) {}
  std::string_view name() const override { return "consistent_hash"; }
  size_t pick(const RouteRequest& req, std::span<const Candidate> candidates) override;

  size_t ringSize() const { return ring_.size(); }

private:
  void addEndpoint(uint32_t endpoint, uint32_t weight);
  PolicyOptions options_;
  std::vector<std::pair<uint64_t, uint32_t>> ring_;  // (point, endpoint), sorted
  std::vector<bool> on_ring_;
};

}  // namespace regiongate::routing
