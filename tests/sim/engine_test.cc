#include <gtest/gtest.h>

#include <vector>

#include "sim/event_engine.h"

namespace regiongate::sim {
namespace {

TEST(EventEngine, RunsEventsInTimeOrderAndAdvancesTheClock) {
  ManualClock clock;
  EventEngine engine(clock);
  std::vector<std::pair<int, int64_t>> seen;
  engine.at(300, [&] { seen.push_back({3, clock.nowNanos()}); });
  engine.at(100, [&] { seen.push_back({1, clock.nowNanos()}); });
  engine.at(200, [&] { seen.push_back({2, clock.nowNanos()}); });
  EXPECT_EQ(engine.pending(), 3u);
  EXPECT_EQ(engine.run(), 3u);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], (std::pair<int, int64_t>{1, 100}));
  EXPECT_EQ(seen[1], (std::pair<int, int64_t>{2, 200}));
  EXPECT_EQ(seen[2], (std::pair<int, int64_t>{3, 300}));
  EXPECT_EQ(clock.nowNanos(), 300);
}

TEST(EventEngine, SameTimeRunsInSchedulingOrder) {
  ManualClock clock;
  EventEngine engine(clock);
  std::vector<int> order;
  for (int i = 0; i < 10; ++i) engine.at(50, [&order, i] { order.push_back(i); });
  engine.run();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(EventEngine, EventsScheduleMoreEventsAndThePastIsClamped) {
  ManualClock clock;
  EventEngine engine(clock);
  std::vector<int64_t> times;
  engine.at(1000, [&] {
    times.push_back(clock.nowNanos());
    engine.after(500, [&] { times.push_back(clock.nowNanos()); });
    engine.at(10, [&] { times.push_back(clock.nowNanos()); });  // in the past: runs "now"
  });
  engine.run();
  EXPECT_EQ(times, (std::vector<int64_t>{1000, 1000, 1500}));
}

TEST(EventEngine, RunUntilStopsAtTheBound) {
  ManualClock clock;
  EventEngine engine(clock);
  int ran = 0;
  for (int64_t t : {10, 20, 30, 40}) engine.at(t, [&] { ++ran; });
  EXPECT_EQ(engine.run(25), 2u);
  EXPECT_EQ(ran, 2);
  EXPECT_EQ(engine.pending(), 2u);
  EXPECT_EQ(clock.nowNanos(), 20);
  EXPECT_TRUE(engine.step());
  EXPECT_EQ(clock.nowNanos(), 30);
}

}  // namespace
}  // namespace regiongate::sim
