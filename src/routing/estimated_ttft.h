#pragma once
// estimated_ttft (regiongate's own; called cache_aware before, a name SGLang uses for another
// rule, see sglang_cache_aware.h): pick the endpoint with the lowest estimated time to first token
//   ttft(e) = queue(e) + w * prefill_ms_per_token(e) * uncached_tokens(e) + fixed_ms
//   queue(e) = candidate.queue_ms if > 0 or queue_known, else in_flight * service_ms_per_request
//   w = miss_weight when queue(e) is the caller's queue_ms, else 1
//   uncached_tokens(e) = max(0, prompt_tokens - matched_tokens(e))
//   matched_tokens(e) = max(approx matched blocks * tokens_per_block,
//                           precise matched token blocks * tokens_per_token_block)
//   prefill_ms_per_token(e) = candidate's value if > 0, else learned EWMA, else the default.
// Ties (within 1e-9 ms): fewer in-flight, then lower endpoint index. docs/routing.md has details.
#include <vector>

#include "routing/prefix_policy.h"

namespace regiongate::routing {

class EstimatedTtftPolicy final : public PrefixPolicyBase {
 public:
  using PrefixPolicyBase::PrefixPolicyBase;
  std::string_view name() const override { return "estimated_ttft"; }
  size_t pick(const RouteRequest& req, std::span<const Candidate> candidates) override;
  void onCompleted(uint32_t endpoint, const RouteRequest& req, double ttft_ms,
                   uint64_t cached_tokens) override;

  // The estimate pick() minimises, for candidate i (after computeDepths). Exposed for tests.
  double estimateTtftMs(const RouteRequest& req, std::span<const Candidate> candidates, size_t i);
  double prefillRate(const Candidate& c) const;

 private:
  std::vector<double> learned_rate_;  // per endpoint, 0 = unknown
};

}  // namespace regiongate::routing
