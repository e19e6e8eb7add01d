#include "routing/estimated_ttft.h"

#include <algorithm>
#include <cmath>

namespace regiongate::routing {

double EstimatedTtftPolicy::prefillRate(const Candidate& c) const {
  if (c.prefill_ms_per_token > 0) return c.prefill_ms_per_token;
  if (c.endpoint < learned_rate_.size() && learned_rate_[c.endpoint] > 0)
    return learned_rate_[c.endpoint];
  return options_.default_prefill_ms_per_token;
}

double EstimatedTtftPolicy::estimateTtftMs(const RouteRequest& req, std::span<const Candidate> c,
                                           size_t i) {
  const bool known = c[i].queue_ms > 0 || c[i].queue_known;
  double queue = known ? c[i].queue_ms : double(c[i].in_flight) * options_.service_ms_per_request;
  // miss_weight prices a miss's later cost against real queue times only; the in-flight fallback
  // has its own exchange rate (service_ms_per_request).
  const double miss_weight = known ? options_.miss_weight : 1.0;
  double matched = std::max(double(depths_[i]) * req.tokens_per_block,
                            double(precise_[i]) * req.tokens_per_token_block);
  double uncached = std::max(0.0, double(req.prompt_tokens) - matched);
  return queue + miss_weight * prefillRate(c[i]) * uncached + options_.fixed_ms;
}

size_t EstimatedTtftPolicy::pick(const RouteRequest& req, std::span<const Candidate> c) {
  if (c.size() == 1) return 0;
  computeDepths(req, c);
  size_t best = 0;
  double best_score = estimateTtftMs(req, c, 0);
  for (size_t i = 1; i < c.size(); ++i) {
    double s = estimateTtftMs(req, c, i);
    bool tie = std::fabs(s - best_score) <= 1e-9;
    if ((!tie && s < best_score) ||
        (tie && (c[i].in_flight < c[best].in_flight ||
                 (c[i].in_flight == c[best].in_flight && c[i].endpoint < c[best].endpoint)))) {
      best = i;
      best_score = s;
    }
  }
  return best;
}

void EstimatedTtftPolicy::onCompleted(uint32_t endpoint, const RouteRequest& req, double ttft_ms,
                                      uint64_t cached_tokens) {
  if (options_.learn_alpha <= 0 || ttft_ms <= 0) return;
  uint64_t uncached = req.prompt_tokens > cached_tokens ? req.prompt_tokens - cached_tokens : 0;
  if (uncached < 64) return;  // too little prefill to say anything about the rate
  // The sample includes queueing and the fixed part, so it over-estimates the pure prefill rate;
  // the bias is the same for every endpoint at equal load, which is what the comparison needs.
  double sample = std::clamp(ttft_ms / double(uncached), 1e-4, 100.0);
  if (endpoint >= learned_rate_.size()) learned_rate_.resize(endpoint + 1, 0.0);
  double& r = learned_rate_[endpoint];
  r = r > 0 ? (1 - options_.learn_alpha) * r + options_.learn_alpha * sample : sample;
}

}  // namespace regiongate::routing
