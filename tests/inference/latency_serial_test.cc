// LatencyParams::serial_prefill: the planner's instance model in the mock (docs/mock-backend.md).
#include <gtest/gtest.h>

#include "inference/latency_model.h"

namespace regiongate::inference {
namespace {

LatencyParams serial(uint32_t slots) {
  LatencyParams p;
  p.prefill_ms_per_token = 1.0;
  p.decode_ms_per_token = 10;
  p.ttft_fixed_ms = 5;
  p.batch_slots = slots;
  p.serial_prefill = true;
  return p;
}

TEST(LatencySerialPrefill, PrefillsRunOneAtATimeFifo) {
  ManualClock clock;
  LatencyModel m(serial(8), clock);
  auto a = m.admit(100, 3);  // prefill 105 ms
  auto b = m.admit(20, 3);   // waits for a's prefill, not for its decode
  auto c = m.admit(0, 1);
  EXPECT_DOUBLE_EQ(a.queue_ms, 0);
  EXPECT_DOUBLE_EQ(a.ttftMs(), 105);
  EXPECT_DOUBLE_EQ(b.queue_ms, 105);
  EXPECT_DOUBLE_EQ(b.ttftMs(), 105 + 25);
  EXPECT_DOUBLE_EQ(c.ttftMs(), 130 + 5);
  EXPECT_EQ(m.queued(), 2u);
  // Decode stays concurrent: a's tokens do not delay b's first token.
  EXPECT_DOUBLE_EQ(a.totalMs(), 125);
  clock.advanceMs(200);  // everything prefilled; the next prefill starts at once
  EXPECT_EQ(m.queued(), 0u);
  EXPECT_DOUBLE_EQ(m.admit(10, 1).ttftMs(), 15);
}

TEST(LatencySerialPrefill, SlotLimitStillHoldsUntilTheLastToken) {
  ManualClock clock;
  LatencyModel m(serial(1), clock);
  auto a = m.admit(0, 11);  // prefill 5 ms, then 10 x 10 ms decode: slot busy until 105
  auto b = m.admit(0, 1);
  EXPECT_DOUBLE_EQ(a.totalMs(), 105);
  EXPECT_DOUBLE_EQ(b.queue_ms, 105);
  EXPECT_DOUBLE_EQ(b.ttftMs(), 110);
}

TEST(LatencySerialPrefill, OffByDefaultPrefillsInParallel) {
  ManualClock clock;
  LatencyParams p = serial(8);
  p.serial_prefill = false;
  EXPECT_FALSE(LatencyParams{}.serial_prefill);
  LatencyModel m(p, clock);
  m.admit(100, 3);
  EXPECT_DOUBLE_EQ(m.admit(20, 3).queue_ms, 0);
}

TEST(LatencySerialPrefill, TimeScaleAppliesToTheSerialQueue) {
  ManualClock clock;
  LatencyParams p = serial(4);
  p.time_scale = 0.5;
  LatencyModel m(p, clock);
  m.admit(100, 1);  // 52.5 ms scaled
  EXPECT_DOUBLE_EQ(m.admit(0, 1).queue_ms, 52.5);
}

}  // namespace
}  // namespace regiongate::inference
