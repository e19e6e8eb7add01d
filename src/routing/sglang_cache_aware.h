#pragma once
// sglang_cache_aware: SGLang's cache-aware router rule (SGLang names it `cache_aware`), rebuilt
// from its documented algorithm (sgl-project/sglang, sgl-router/src/policies/cache_aware.rs;
// docs/routing.md cites it), over our block-granular prefix index instead of a character radix
// tree:
//   imbalanced = (max_load - min_load) > balance_abs_threshold
//                && max_load > balance_rel_threshold * min_load      (load = in_flight)
//   imbalanced        -> least loaded candidate
//   else match_rate = best matched blocks / prompt blocks
//     > cache_threshold -> the candidate with the longest match
//     otherwise         -> the candidate with the smallest tree (fewest indexed blocks)
// Ties: fewer in-flight, then the earlier candidate. The routed prompt is always learned.
#include "routing/prefix_policy.h"

namespace regiongate::routing {

class SglangCacheAwarePolicy final : public PrefixPolicyBase {
 public:
  using PrefixPolicyBase::PrefixPolicyBase;
  std::string_view name() const override { return "sglang_cache_aware"; }
  size_t pick(const RouteRequest& req, std::span<const Candidate> candidates) override;
};

}  // namespace regiongate::routing
