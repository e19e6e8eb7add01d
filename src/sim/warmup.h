#pragma once
// The cold-cache dip after a rollout and the time to warm back up, one definition for the
// planner and the demo's report: steady state is the region's last max(window, 20 %) requests
// before the rollout; the region is warm again when the token hit rate over a rolling window of
// `window` requests after it reaches 90 % of the steady hit rate.
#include <cstddef>
#include <cstdint>
#include <span>

namespace regiongate::sim {

struct WarmupSample {
  double at_s = 0;  // arrival, seconds on the same clock as the rollout's time
  uint64_t prompt_tokens = 0;
  uint64_t cached_tokens = 0;
  double ttft_ms = 0;
};

struct WarmupFigures {
  size_t steady_requests = 0;  // 0: no traffic before the rollout, so nothing else is computed
  double steady_hit = 0;
  double steady_ttft_ms = 0;   // mean
  double dip_hit = 0;          // the first window after the rollout
  double time_to_90_s = -1;    // -1 = not reached
  size_t warm_requests = 0;    // requests until warm (all of them when never warm)
  double warm_ttft_ms = 0;     // mean over those requests
  double added_request_s = 0;  // their TTFT above steady, summed
};

// before / after: the region's requests before and after the rollout, each in time order.
WarmupFigures measureWarmup(std::span<const WarmupSample> before,
                            std::span<const WarmupSample> after, double rollout_at_s,
                            size_t window);

}  // namespace regiongate::sim
