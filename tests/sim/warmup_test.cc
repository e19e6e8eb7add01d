// The warm-up after a rollout, as the planner and the demo's report both measure it.
#include "sim/warmup.h"

#include <gtest/gtest.h>

#include <vector>

namespace regiongate::sim {
namespace {

// n requests of 100 prompt tokens from at_s on, one a second, `cached` of them cached each.
std::vector<WarmupSample> requests(size_t n, double at_s, uint64_t cached, double ttft_ms) {
  std::vector<WarmupSample> v;
  for (size_t i = 0; i < n; ++i) v.push_back({at_s + double(i), 100, cached, ttft_ms});
  return v;
}

TEST(Warmup, ColdWindowThenBackToNinetyPercentOfSteady) {
  auto before = requests(100, 0, 80, 10);  // steady: 80 % hit, 10 ms
  auto after = requests(60, 100, 0, 30);   // 60 cold requests
  auto warm = requests(100, 160, 95, 10);  // then warmer than before
  after.insert(after.end(), warm.begin(), warm.end());
  const WarmupFigures f = measureWarmup(before, after, 100, 50);
  EXPECT_EQ(f.steady_requests, 50u);  // max(window, 20 % of 100)
  EXPECT_DOUBLE_EQ(f.steady_hit, 0.8);
  EXPECT_DOUBLE_EQ(f.steady_ttft_ms, 10);
  EXPECT_DOUBLE_EQ(f.dip_hit, 0);
  // The window ending at after[k] holds k - 59 warm requests: 0.95 (k - 59) / 50 >= 0.9 x 0.8
  // first at k = 97 (38 warm ones).
  EXPECT_DOUBLE_EQ(f.time_to_90_s, 97);
  EXPECT_EQ(f.warm_requests, 98u);
  EXPECT_DOUBLE_EQ(f.warm_ttft_ms, (60 * 30.0 + 38 * 10.0) / 98);
  EXPECT_NEAR(f.added_request_s, (f.warm_ttft_ms - 10) * 98 / 1000, 1e-12);
}

TEST(Warmup, NeverWarmCountsEveryRequestAfter) {
  const WarmupFigures f =
      measureWarmup(requests(300, 0, 50, 10), requests(80, 300, 10, 20), 300, 50);
  EXPECT_EQ(f.steady_requests, 60u);  // 20 % of 300
  EXPECT_DOUBLE_EQ(f.time_to_90_s, -1);
  EXPECT_EQ(f.warm_requests, 80u);
  EXPECT_DOUBLE_EQ(f.dip_hit, 0.1);
  EXPECT_DOUBLE_EQ(f.added_request_s, 10 * 80 / 1000.0);
}

TEST(Warmup, NoTrafficBeforeMeansNoSteadyStateToReturnTo) {
  const WarmupFigures f = measureWarmup({}, requests(80, 0, 80, 10), 0, 50);
  EXPECT_EQ(f.steady_requests, 0u);
  EXPECT_DOUBLE_EQ(f.time_to_90_s, -1);
  EXPECT_EQ(f.warm_requests, 0u);
}

}  // namespace
}  // namespace regiongate::sim
