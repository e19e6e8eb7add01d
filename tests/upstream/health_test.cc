#include "upstream/health.h"

#include <gtest/gtest.h>

namespace regiongate::upstream {
namespace {

constexpr int64_t kMs = 1'000'000;

HealthConfig cfg() {
  HealthConfig c;
  c.consecutive_failures = 3;
  c.base_ejection_ms = 100;
  c.max_ejection_ms = 350;
  return c;
}

TEST(EndpointHealth, ConsecutiveFailuresEjectAndSuccessResetsTheCount) {
  EndpointHealth h;
  auto c = cfg();
  h.onFailure(0, c, false);
  h.onFailure(0, c, false);
  h.onSuccess(false);  // the run is broken
  h.onFailure(0, c, false);
  h.onFailure(0, c, false);
  EXPECT_EQ(h.admit(0), EndpointHealth::Admit::Yes);
  h.onFailure(0, c, false);  // third in a row
  EXPECT_EQ(h.admit(1 * kMs), EndpointHealth::Admit::No);
  EXPECT_FALSE(h.healthy(1 * kMs));
  EXPECT_EQ(h.retryAfterNanos(1 * kMs), 99 * kMs);
}

TEST(EndpointHealth, HalfOpenAllowsExactlyOneProbe) {
  EndpointHealth h;
  auto c = cfg();
  for (int i = 0; i < 3; ++i) h.onFailure(0, c, false);
  EXPECT_EQ(h.admit(99 * kMs), EndpointHealth::Admit::No);
  EXPECT_EQ(h.admit(100 * kMs), EndpointHealth::Admit::Probe);
  EXPECT_EQ(h.admit(100 * kMs), EndpointHealth::Admit::No);  // the probe is in flight
  h.onSuccess(true);
  EXPECT_EQ(h.admit(101 * kMs), EndpointHealth::Admit::Yes);
  EXPECT_TRUE(h.healthy(101 * kMs));
}

TEST(EndpointHealth, FailedProbeEjectsAgainForLongerUpToTheCap) {
  EndpointHealth h;
  auto c = cfg();
  for (int i = 0; i < 3; ++i) h.onFailure(0, c, false);  // ejection 1: 100 ms
  int64_t t = 100 * kMs;
  ASSERT_EQ(h.admit(t), EndpointHealth::Admit::Probe);
  h.onFailure(t, c, true);  // ejection 2: 200 ms
  EXPECT_EQ(h.retryAfterNanos(t), 200 * kMs);
  t += 200 * kMs;
  ASSERT_EQ(h.admit(t), EndpointHealth::Admit::Probe);
  h.onFailure(t, c, true);  // ejection 3: 400 ms capped to 350
  EXPECT_EQ(h.retryAfterNanos(t), 350 * kMs);
  EXPECT_EQ(h.ejections(), 3u);
}

TEST(EndpointHealth, UnusedProbeSlotCanBeReleased) {
  EndpointHealth h;
  auto c = cfg();
  for (int i = 0; i < 3; ++i) h.onFailure(0, c, false);
  ASSERT_EQ(h.admit(100 * kMs), EndpointHealth::Admit::Probe);
  h.releaseProbe();
  EXPECT_EQ(h.admit(100 * kMs), EndpointHealth::Admit::Probe);
}

TEST(EndpointHealth, FailingActiveCheckTakesTheEndpointOutUntilACheckPasses) {
  EndpointHealth h;
  h.onActiveCheck(false);
  EXPECT_EQ(h.admit(0), EndpointHealth::Admit::No);
  EXPECT_FALSE(h.healthy(0));
  h.onActiveCheck(true);
  EXPECT_EQ(h.admit(0), EndpointHealth::Admit::Yes);
}

TEST(HealthRegistry, SameNameSameStateAcrossReloads) {
  HealthRegistry r;
  auto a = r.get("fra-a");
  auto b = r.get("fra-a");
  EXPECT_EQ(a.get(), b.get());
  EXPECT_NE(r.get("fra-b").get(), a.get());
}

}  // namespace
}  // namespace regiongate::upstream
