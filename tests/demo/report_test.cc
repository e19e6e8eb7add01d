// The demo's report arithmetic on hand-made samples (no gateway): hit rates, the isolation
// penalty in points and USD per 1M input tokens, the rollout warm-up, the budget, and the
// /metrics reader it relies on.
#include <gtest/gtest.h>

#include "demo/prom.h"
#include "demo/report.h"

namespace regiongate::demo {
namespace {

Sample ok(double at, const std::string& jur, const std::string& region, int64_t prompt,
          int64_t cached, double ttft_wall_ms, const std::string& version = "v1") {
  Sample s;
  s.at_s = at;
  s.jurisdiction = jur;
  s.region = region;
  s.status = 200;
  s.prompt_tokens = prompt;
  s.cached_tokens = cached;
  s.ttft_wall_ms = ttft_wall_ms;
  s.version = version;
  return s;
}

ReportInputs inputs() {
  ReportInputs in;
  in.time_scale = 0.5;
  in.prefill_ms_per_token = 0.36;
  in.wall_seconds = 36;  // 72 s of model time = 0.02 h
  in.rollout_gate_cost_usd = 400;
  in.regions = {{"eu-central-1", "EU", 2, 4.0}, {"us-east-1", "US", 1, 4.0}};
  in.warmup_window = 2;
  return in;
}

TEST(DemoReport, PenaltyInPointsAndUsdPerMillionInputTokens) {
  // EU caches 400 of 1000 prompt tokens, US 800 of 1000.
  std::vector<Sample> s = {ok(1, "EU", "eu-central-1", 1000, 400, 10),
                           ok(1, "US", "us-east-1", 600, 500, 10),
                           ok(2, "US", "us-east-1", 400, 300, 10)};
  const DemoReport r = computeReport(s, {}, inputs());
  EXPECT_DOUBLE_EQ(r.penalty.eu_hit, 0.4);
  EXPECT_DOUBLE_EQ(r.penalty.us_hit, 0.8);
  EXPECT_NEAR(r.penalty.points, 40.0, 1e-9);
  // 1M tokens, 60 % uncached, 0.36 ms each = 216 s of GPU at 4 USD/h = 0.24 USD; at the US rate
  // (20 % uncached) 0.08 USD; the difference 0.16 USD per 1M EU input tokens.
  EXPECT_NEAR(r.penalty.eu_usd_per_m_input, 0.24, 1e-9);
  EXPECT_NEAR(r.penalty.us_usd_per_m_input, 0.08, 1e-9);
  EXPECT_NEAR(r.penalty.extra_usd_per_m_input, 0.16, 1e-9);
  // Budget: 3 instances x 4 USD/h x 0.02 h; the penalty on the EU's 1000 tokens.
  EXPECT_NEAR(r.budget.infrastructure_usd, 0.24, 1e-9);
  EXPECT_NEAR(r.budget.cache_penalty_usd, 0.16 / 1000, 1e-12);
  EXPECT_EQ(r.budget.rollout_ops_usd, 0);
  const std::string text = formatReport(r, inputs());
  EXPECT_NE(text.find("EU hit rate 40.0 % vs US baseline 80.0 % = 40.0 points"), std::string::npos)
      << text;
  EXPECT_NE(text.find("+0.1600 USD per 1M EU input tokens"), std::string::npos) << text;
}

TEST(DemoReport, RowsPerRegionCountRefusalsAndServedOutside) {
  std::vector<Sample> s = {ok(1, "EU", "eu-central-1", 100, 50, 20), ok(2, "EU", "us-east-1", 100, 0, 20)};
  Sample refused;
  refused.jurisdiction = "EU";
  refused.status = 503;
  s.push_back(refused);
  const DemoReport r = computeReport(s, {}, inputs());
  EXPECT_EQ(r.served_outside, 1u);  // an EU request answered in us-east-1
  ASSERT_EQ(r.rows.size(), 3u);
  size_t refused_rows = 0;
  for (const auto& row : r.rows) {
    if (row.region == "(none)") {
      ++refused_rows;
      EXPECT_EQ(row.typed_503, 1u);
    }
    if (row.region == "eu-central-1") EXPECT_DOUBLE_EQ(row.ttft_p50_ms, 40.0);  // wall / 0.5
  }
  EXPECT_EQ(refused_rows, 1u);
}

TEST(DemoReport, WarmupMeasuresTheDipAndTheTimeBackTo90PercentOfSteady) {
  ReportInputs in = inputs();
  in.rollouts = {{"eu-central-1", "v1", "v2", 10.0}};
  std::vector<Sample> s;
  // Steady before the rollout: 80 % hits, TTFT 10 ms wall.
  for (int i = 0; i < 5; ++i) s.push_back(ok(5 + i, "EU", "eu-central-1", 100, 80, 10));
  // After: cold (0 %, 50 ms), then 40 %, then back to 80 % from t = 14.
  s.push_back(ok(11, "EU", "eu-central-1", 100, 0, 50, "v2"));
  s.push_back(ok(12, "EU", "eu-central-1", 100, 0, 50, "v2"));
  s.push_back(ok(13, "EU", "eu-central-1", 100, 40, 30, "v2"));
  s.push_back(ok(14, "EU", "eu-central-1", 100, 80, 10, "v2"));
  s.push_back(ok(15, "EU", "eu-central-1", 100, 80, 10, "v2"));
  const Warmup w = computeWarmup(s, in.rollouts[0], in.time_scale, in.warmup_window);
  EXPECT_DOUBLE_EQ(w.steady_hit, 0.8);
  EXPECT_DOUBLE_EQ(w.dip_hit, 0.0);
  // Window of 2: (80 + 80) / 200 = 0.8 >= 0.72 first at the request sent at t = 15.
  EXPECT_DOUBLE_EQ(w.time_to_90_s, 5.0);
  EXPECT_EQ(w.warm_requests, 5u);
  // Model time: steady 20 ms; warm-up mean (100+100+60+20+20)/5 = 60 ms; 40 ms x 5 = 0.2 s.
  EXPECT_DOUBLE_EQ(w.steady_ttft_ms, 20.0);
  EXPECT_DOUBLE_EQ(w.warm_ttft_ms, 60.0);
  EXPECT_NEAR(w.added_request_s, 0.2, 1e-12);
  EXPECT_EQ(w.versions_served.at("v2"), 5u);
  const DemoReport r = computeReport(s, {}, in);
  EXPECT_EQ(r.budget.rollout_ops_usd, 400);
  EXPECT_NEAR(r.budget.warmup_request_s, 0.2, 1e-12);
  EXPECT_NE(formatReport(r, in).find("warm-up time to 90 % of steady: 5.0 s wall"),
            std::string::npos);
}

TEST(DemoReport, WarmupNotReachedIsSaid) {
  ReportInputs in = inputs();
  in.rollouts = {{"eu-central-1", "v1", "v2", 10.0}};
  std::vector<Sample> s;
  for (int i = 0; i < 3; ++i) s.push_back(ok(5 + i, "EU", "eu-central-1", 100, 80, 10));
  for (int i = 0; i < 3; ++i) s.push_back(ok(11 + i, "EU", "eu-central-1", 100, 0, 10));
  const DemoReport r = computeReport(s, {}, in);
  ASSERT_EQ(r.warmups.size(), 1u);
  EXPECT_LT(r.warmups[0].time_to_90_s, 0);
  EXPECT_NE(formatReport(r, in).find("not reached"), std::string::npos);
}

TEST(DemoReport, WarmupWithoutTrafficBeforeHasNoSteadyState) {
  ReportInputs in = inputs();
  in.rollouts = {{"eu-west-1", "v1", "v2", 10.0}};
  std::vector<Sample> s;
  for (int i = 0; i < 3; ++i) s.push_back(ok(11 + i, "EU", "eu-west-1", 100, 0, 10, "v2"));
  const DemoReport r = computeReport(s, {}, in);
  ASSERT_EQ(r.warmups.size(), 1u);
  EXPECT_EQ(r.warmups[0].steady_requests, 0u);
  EXPECT_EQ(r.warmups[0].added_request_s, 0);
  EXPECT_NE(formatReport(r, in).find("no steady state"), std::string::npos);
}

TEST(DemoReport, ViolationsAndFallbacksComeFromMetrics) {
  const auto m = parseProm(
      "# HELP x\n"
      "regiongate_residency_violations_total{jurisdiction=\"EU\",actual_region=\"us-east-1\","
      "kind=\"outside\"} 2\n"
      "regiongate_fallbacks_total{jurisdiction=\"EU\",from_region=\"eu-central-1\","
      "to_region=\"eu-west-1\"} 7\n");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].labels.at("actual_region"), "us-east-1");
  std::vector<Sample> s = {ok(1, "EU", "eu-west-1", 100, 50, 20)};
  const DemoReport r = computeReport(s, m, inputs());
  EXPECT_EQ(r.violations, 2);
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.rows[0].fallbacks_in, 7);
}

TEST(DemoProm, LabelsWithEscapesAndMalformedLinesAreSkipped) {
  const auto m = parseProm("a{k=\"x\\\"y\"} 3\nb{broken 4\nc 5\n");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].labels.at("k"), "x\"y");
  EXPECT_EQ(promSum(m, "c"), 5);
  EXPECT_EQ(promSum(m, "a", {{"k", "other"}}), 0);
}

}  // namespace
}  // namespace regiongate::demo
