#include "sim/warmup.h"

#include <algorithm>

namespace regiongate::sim {
namespace {

double ratio(uint64_t num, uint64_t den) { return den ? double(num) / double(den) : 0; }

// Steady state: the last max(window, 20 %) requests before the rollout.
void measureSteady(std::span<const WarmupSample> before, size_t window, WarmupFigures& w) {
  const size_t n = std::min(before.size(), std::max(window, before.size() / 5));
  uint64_t in = 0, cached = 0;
  double ttft = 0;
  for (const auto& s : before.subspan(before.size() - n)) {
    in += s.prompt_tokens;
    cached += s.cached_tokens;
    ttft += s.ttft_ms;
  }
  w.steady_requests = n;
  w.steady_hit = ratio(cached, in);
  w.steady_ttft_ms = n ? ttft / double(n) : 0;
}

// The first request at which the rolling window's hit rate is back to 90 % of steady; returns
// how many requests that took (all of them when never).
size_t findWarm(std::span<const WarmupSample> after, double rollout_at_s, size_t window,
                WarmupFigures& w) {
  uint64_t in = 0, cached = 0;
  for (size_t k = 0; k < after.size(); ++k) {
    in += after[k].prompt_tokens;
    cached += after[k].cached_tokens;
    if (k >= window) {
      in -= after[k - window].prompt_tokens;
      cached -= after[k - window].cached_tokens;
    }
    if (k + 1 == window) w.dip_hit = ratio(cached, in);
    if (k + 1 >= window && in > 0 && ratio(cached, in) >= 0.9 * w.steady_hit) {
      w.time_to_90_s = after[k].at_s - rollout_at_s;
      return k + 1;
    }
  }
  return after.size();
}

}  // namespace

WarmupFigures measureWarmup(std::span<const WarmupSample> before,
                            std::span<const WarmupSample> after, double rollout_at_s,
                            size_t window) {
  WarmupFigures w;
  measureSteady(before, window, w);
  if (w.steady_requests == 0) return w;  // nothing to warm back up to
  w.warm_requests = findWarm(after, rollout_at_s, window, w);
  double warm = 0;
  for (const auto& s : after.first(w.warm_requests)) warm += s.ttft_ms;
  w.warm_ttft_ms = w.warm_requests ? warm / double(w.warm_requests) : 0;
  w.added_request_s =
      std::max(0.0, (w.warm_ttft_ms - w.steady_ttft_ms) * double(w.warm_requests) / 1000.0);
  return w;
}

}  // namespace regiongate::sim
