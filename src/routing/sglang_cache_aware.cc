#include "routing/sglang_cache_aware.h"

#include <algorithm>

#include "routing/least_loaded.h"

namespace regiongate::routing {

size_t SglangCacheAwarePolicy::pick(const RouteRequest& req, std::span<const Candidate> c) {
  uint32_t max_load = 0, min_load = UINT32_MAX;
  for (const auto& cand : c) {
    max_load = std::max(max_load, cand.in_flight);
    min_load = std::min(min_load, cand.in_flight);
  }
  bool imbalanced = (max_load - min_load) > options_.balance_abs_threshold &&
                    double(max_load) > options_.balance_rel_threshold * double(min_load);
  if (imbalanced || c.size() == 1) return leastLoadedIndex(c);

  computeDepths(req, c);
  auto better = [&](size_t a, size_t b) {  // is a preferred over b at equal score
    return c[a].in_flight < c[b].in_flight;
  };
  size_t best = 0;
  double best_tokens = -1;
  for (size_t i = 0; i < c.size(); ++i) {
    // Precise (token) depth counts too when present, in tokens.
    double tokens = std::max(double(depths_[i]) * req.tokens_per_block,
                             double(precise_[i]) * req.tokens_per_token_block);
    if (tokens > best_tokens || (tokens == best_tokens && better(i, best))) {
      best = i;
      best_tokens = tokens;
    }
  }
  double total = req.prompt_tokens > 0 ? double(req.prompt_tokens)
                                       : double(req.blocks.size()) * req.tokens_per_block;
  double rate = total > 0 ? std::min(1.0, best_tokens / total) : 0.0;
  if (rate > options_.cache_threshold) return best;

  const PrefixIndex* idx = indexes_.find(req.jurisdiction, req.model);
  size_t smallest = 0;
  for (size_t i = 1; i < c.size(); ++i) {
    size_t a = idx ? idx->blocksOf(c[i].endpoint) : 0;
    size_t b = idx ? idx->blocksOf(c[smallest].endpoint) : 0;
    if (a < b || (a == b && better(i, smallest))) smallest = i;
  }
  return smallest;
}

}  // namespace regiongate::routing
