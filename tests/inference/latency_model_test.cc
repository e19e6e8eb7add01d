#include "inference/latency_model.h"

#include <gtest/gtest.h>

namespace regiongate::inference {
namespace {

LatencyParams simple(uint32_t slots, double scale = 1.0) {
  LatencyParams p;
  p.prefill_ms_per_token = 0.5;
  p.decode_ms_per_token = 10;
  p.ttft_fixed_ms = 20;
  p.batch_slots = slots;
  p.time_scale = scale;
  return p;
}

// Coalesced stream writes: the first and the last token at their own time, and in between one
// write per group of tokens spanning at least the interval; every token in exactly one write.
TEST(LatencyPlan, WritePointsGroupTokensByTheMinimumInterval) {
  LatencyPlan p;
  p.prefill_ms = 10;
  p.decode_ms_per_token = 2;
  p.output_tokens = 10;
  EXPECT_EQ(p.writePoints(0), (std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(p.writePoints(2), (std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(p.writePoints(5), (std::vector<uint32_t>{0, 3, 6, 9}));
  EXPECT_EQ(p.writePoints(4), (std::vector<uint32_t>{0, 2, 4, 6, 8, 9}));
  EXPECT_EQ(p.writePoints(1000), (std::vector<uint32_t>{0, 9}));
  p.decode_ms_per_token = 0;  // every token ready at TTFT
  EXPECT_EQ(p.writePoints(1), (std::vector<uint32_t>{0, 9}));
  p.output_tokens = 1;
  EXPECT_EQ(p.writePoints(5), (std::vector<uint32_t>{0}));
  p.output_tokens = 0;
  EXPECT_TRUE(p.writePoints(5).empty());
}

TEST(LatencyModel, TtftIsFixedPlusPerUncachedToken) {
  ManualClock clock;
  LatencyModel m(simple(4), clock);
  auto plan = m.admit(100, 5);
  EXPECT_DOUBLE_EQ(plan.queue_ms, 0);
  EXPECT_DOUBLE_EQ(plan.ttftMs(), 20 + 0.5 * 100);
  EXPECT_DOUBLE_EQ(plan.tokenReadyMs(1), 70 + 10);
  EXPECT_DOUBLE_EQ(plan.totalMs(), 70 + 4 * 10);
  // Fewer uncached tokens (cache hit): shorter TTFT.
  auto hit = m.admit(10, 5);
  EXPECT_DOUBLE_EQ(hit.ttftMs(), 25);
}

TEST(LatencyModel, QueuesFifoBeyondBatchSlots) {
  ManualClock clock;
  LatencyModel m(simple(2), clock);
  auto a = m.admit(0, 1);  // service 20 ms
  auto b = m.admit(0, 1);
  EXPECT_DOUBLE_EQ(a.queue_ms, 0);
  EXPECT_DOUBLE_EQ(b.queue_ms, 0);
  EXPECT_EQ(m.busySlots(), 2u);
  auto c = m.admit(0, 1);  // waits for the first slot to free at 20 ms
  EXPECT_DOUBLE_EQ(c.queue_ms, 20);
  EXPECT_DOUBLE_EQ(c.ttftMs(), 40);
  auto d = m.admit(0, 1);
  EXPECT_DOUBLE_EQ(d.queue_ms, 20);
  EXPECT_EQ(m.queued(), 2u);
  auto e = m.admit(0, 1);  // third in line: after c (or d) finishes at 40
  EXPECT_DOUBLE_EQ(e.queue_ms, 40);
  clock.advanceMs(20);
  EXPECT_EQ(m.queued(), 1u);  // c and d started, e still waits
  clock.advanceMs(50);
  EXPECT_EQ(m.busySlots(), 0u);
  EXPECT_EQ(m.queued(), 0u);
  auto f = m.admit(0, 1);
  EXPECT_DOUBLE_EQ(f.queue_ms, 0);
}

TEST(LatencyModel, TimeScaleMultipliesAndZeroIsInstant) {
  ManualClock clock;
  LatencyModel half(simple(1, 0.5), clock);
  auto p = half.admit(100, 3);
  EXPECT_DOUBLE_EQ(p.ttftMs(), 35);
  EXPECT_DOUBLE_EQ(p.decode_ms_per_token, 5);
  auto q = half.admit(100, 3);
  EXPECT_DOUBLE_EQ(q.queue_ms, 35 + 2 * 5);

  LatencyModel zero(simple(1, 0), clock);
  for (int i = 0; i < 5; ++i) {
    auto z = zero.admit(1000, 100);
    EXPECT_DOUBLE_EQ(z.totalMs(), 0);
    EXPECT_DOUBLE_EQ(z.queue_ms, 0);
  }
}

TEST(LatencyModel, DefaultsComeFromTheSplitwiseFit) {
  ManualClock clock;
  LatencyModel m(LatencyParams{}, clock);
  // 1000 uncached tokens: about 370 ms of prefill for llama2-70b on 2x A100 (docs/mock-backend.md).
  auto p = m.admit(1000, 1);
  EXPECT_GT(p.ttftMs(), 300);
  EXPECT_LT(p.ttftMs(), 450);
}

}  // namespace
}  // namespace regiongate::inference
