// The step gates with injected samples: the minimum sample size, the binomial tests behind the
// error-rate ceiling and the TTFT tail limit, and the Mann-Whitney rank test of green's TTFT
// against blue's. Each case has a twin on the other side of the decision.
#include <gtest/gtest.h>

#include <random>

#include "rollout/gate.h"

namespace regiongate::rollout {
namespace {

VersionObservations withTtft(std::vector<double> ttft, uint64_t errors = 0) {
  VersionObservations o;
  o.requests = ttft.size() + errors;
  o.errors = errors;
  o.ttft_ms = std::move(ttft);
  return o;
}

// n TTFTs around `center_ms` with +-`spread_ms` uniform jitter (fixed seed).
std::vector<double> around(size_t n, double center_ms, double spread_ms, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> d(-spread_ms, spread_ms);
  std::vector<double> v;
  for (size_t i = 0; i < n; ++i) v.push_back(center_ms + d(rng));
  return v;
}

GateThresholds defaults() {
  GateThresholds t;
  t.min_requests = 20;
  return t;
}

TEST(BinomialTail, MatchesClosedForms) {
  EXPECT_DOUBLE_EQ(binomialUpperTail(20, 0, 0.01), 1.0);
  EXPECT_NEAR(binomialUpperTail(20, 1, 0.01), 1 - std::pow(0.99, 20), 1e-12);
  EXPECT_NEAR(binomialUpperTail(20, 20, 0.5), std::pow(0.5, 20), 1e-15);
  EXPECT_NEAR(binomialUpperTail(10, 5, 0.5), 638.0 / 1024.0, 1e-12);  // sum C(10,i), i>=5
  EXPECT_DOUBLE_EQ(binomialUpperTail(10, 11, 0.5), 0.0);
  EXPECT_DOUBLE_EQ(binomialUpperTail(10, 1, 0.0), 0.0);
  // Large n stays finite and monotone in k.
  double a = binomialUpperTail(1'000'000, 10'100, 0.01), b = binomialUpperTail(1'000'000, 10'400, 0.01);
  EXPECT_GT(a, b);
  EXPECT_GT(a, 0.0);
  EXPECT_LT(b, 1e-3);
}

TEST(ErrorRateGate, BelowMinimumSampleIsInconclusiveEvenWhenEveryRequestFailed) {
  auto g = errorRateGate(withTtft({}, 19), withTtft(around(100, 20, 2, 1)), defaults());
  EXPECT_EQ(g.outcome, GateOutcome::Inconclusive) << g.detail;
  g = errorRateGate(withTtft({}, 20), withTtft(around(100, 20, 2, 1)), defaults());
  EXPECT_EQ(g.outcome, GateOutcome::Failed) << g.detail;
}

TEST(ErrorRateGate, OneErrorInTwentyIsNoEvidenceTenIsARollback) {
  // Limit 0.02 (blue 0 + increase): 1/20 is above it but likely by chance.
  auto blue = withTtft(around(100, 20, 2, 1));
  auto one = errorRateGate(withTtft(around(19, 20, 2, 2), 1), blue, defaults());
  EXPECT_EQ(one.outcome, GateOutcome::Inconclusive) << one.detail;
  auto ten = errorRateGate(withTtft(around(10, 20, 2, 2), 10), blue, defaults());
  EXPECT_EQ(ten.outcome, GateOutcome::Failed) << ten.detail;
  auto none = errorRateGate(withTtft(around(20, 20, 2, 2), 0), blue, defaults());
  EXPECT_EQ(none.outcome, GateOutcome::Successful) << none.detail;
}

// The case a user hit: a faithful green at ~21 ms whose 20-sample p99 is its slowest request, just
// above the blue-relative limit. Neither the tail test nor the rank test can call that a failure.
TEST(TtftGate, FaithfulGreenWithOneSlowRequestIsNotRolledBack) {
  auto green = around(19, 21, 3, 3);
  green.push_back(42.3);
  auto blue = around(60, 21, 3, 4);
  blue.push_back(27.2);  // blue p99 ~27 -> limit ~41.9 ms with ratio 1.5
  auto g = ttftGate(withTtft(green), withTtft(blue), defaults());
  EXPECT_EQ(g.outcome, GateOutcome::Successful) << g.detail;
  // The same green with a third of its requests past the limit is a real tail.
  for (size_t i = 0; i < 7; ++i) green[i] = 45;
  g = ttftGate(withTtft(green), withTtft(blue), defaults());
  EXPECT_EQ(g.outcome, GateOutcome::Failed) << g.detail;
}

TEST(TtftGate, RankTestCatchesAUniformlySlowerGreenInsideTheFixedLimit) {
  GateThresholds t = defaults();
  t.max_ttft_p99_ratio = 100;  // fixed limit far away: only the rank test can see it
  auto blue = withTtft(around(60, 20, 2, 5));
  auto slow = ttftGate(withTtft(around(40, 30, 2, 6)), blue, t);
  EXPECT_EQ(slow.outcome, GateOutcome::Failed) << slow.detail;
  EXPECT_NE(slow.detail.find("rank test"), std::string::npos);
  // Slower within the tolerated effect (x1.2 + 1 ms): significant, but not a failure.
  auto close = ttftGate(withTtft(around(40, 21.5, 1, 7)), blue, t);
  EXPECT_EQ(close.outcome, GateOutcome::Successful) << close.detail;
  auto same = ttftGate(withTtft(around(40, 20, 2, 8)), blue, t);
  EXPECT_EQ(same.outcome, GateOutcome::Successful) << same.detail;
}

TEST(TtftGate, TooFewGreenSamplesIsInconclusive) {
  auto g = ttftGate(withTtft(around(19, 500, 1, 9)), withTtft(around(60, 20, 2, 5)), defaults());
  EXPECT_EQ(g.outcome, GateOutcome::Inconclusive) << g.detail;
}

// Below 100 % blue still serves: a slow green must wait for blue's baseline instead of passing
// because blue happened to be a few samples short when green reached its minimum.
TEST(TtftGate, WhileBlueServesItsBaselineIsAwaited) {
  auto slow = withTtft(around(30, 66, 3, 11));
  auto few_blue = withTtft(around(19, 1, 0.5, 12));
  EXPECT_EQ(ttftGate(slow, few_blue, defaults(), /*blue_expected=*/true).outcome,
            GateOutcome::Inconclusive);
  EXPECT_EQ(ttftGate(slow, few_blue, defaults(), /*blue_expected=*/false).outcome,
            GateOutcome::Successful);  // nothing to compare with and no absolute limit
  auto blue = withTtft(around(30, 1, 0.5, 12));
  EXPECT_EQ(ttftGate(slow, blue, defaults(), true).outcome, GateOutcome::Failed);
}

TEST(TtftGate, WithoutBlueTheAbsoluteCeilingNeedsEvidenceToo) {
  GateThresholds t = defaults();
  t.max_ttft_p99_ms = 40;
  auto green = around(29, 21, 3, 10);
  green.push_back(60);
  EXPECT_EQ(ttftGate(withTtft(green), {}, t).outcome, GateOutcome::Successful);
  for (size_t i = 0; i < 5; ++i) green[i] = 60;
  EXPECT_EQ(ttftGate(withTtft(green), {}, t).outcome, GateOutcome::Failed);
}

}  // namespace
}  // namespace regiongate::rollout
