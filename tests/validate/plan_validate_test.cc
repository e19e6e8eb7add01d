// The plan-validate harness's pieces, in process (the whole run is tests/integration's).
#include "validate/plan_validate.h"

#include <gtest/gtest.h>

#include "config/loader.h"
#include "inference/kv_cache.h"
#include "inference/tokenizer.h"
#include "routing/prompt_blocks.h"

namespace regiongate::validate {
namespace {

TEST(PlanValidatePrompt, SharedTraceBlocksGiveSharedTextAndTokenBlocks) {
  constexpr uint32_t kTpb = 16;
  sim::TraceRequest a{0, 40, 1, {11, 22, 33}, 1};
  sim::TraceRequest b{0, 40, 1, {11, 22, 44}, 2};
  const std::string ta = promptText(a, kTpb, 0), tb = promptText(b, kTpb, 1);
  // Every token is a 3-character word and a space: 4 bytes per mock token.
  EXPECT_EQ(ta.size(), 40u * 4);
  EXPECT_EQ(inference::Tokenizer::count(ta), 40u);
  EXPECT_EQ(ta.substr(0, 2 * kTpb * 4), tb.substr(0, 2 * kTpb * 4));
  EXPECT_NE(ta.substr(2 * kTpb * 4), tb.substr(2 * kTpb * 4));
  // The mock's token blocks and the gateway's character blocks line up with the trace's.
  auto ba = inference::makeBlocks(inference::Tokenizer::encode(ta), kTpb);
  auto bb = inference::makeBlocks(inference::Tokenizer::encode(tb), kTpb);
  ASSERT_EQ(ba.blocks(), 2u);
  EXPECT_EQ(ba.hashes[1], bb.hashes[1]);
  auto ca = routing::promptBlocks(ta, 4 * kTpb), cb = routing::promptBlocks(tb, 4 * kTpb);
  ASSERT_EQ(ca.size(), 2u);
  EXPECT_EQ(ca, cb);
}

TEST(PlanValidatePrompt, TokensBeyondTheTraceBlocksAreUniquePerRequest) {
  sim::TraceRequest r{0, 20, 1, {7}, 1};
  const std::string t0 = promptText(r, 16, 0), t1 = promptText(r, 16, 1);
  EXPECT_EQ(t0.substr(0, 64), t1.substr(0, 64));
  EXPECT_NE(t0.substr(64), t1.substr(64));
  EXPECT_EQ(inference::Tokenizer::count(t0), 20u);
}

TEST(PlanValidateGateway, ConfigLoadsAndNamesEveryEndpoint) {
  sim::Deployment d;
  d.model = "m";
  d.policy = "least_loaded";
  d.jurisdictions.push_back({"EU", "EU", {}, 1.0});
  d.regions.push_back({});
  d.regions.back().name = "eu-west-1";
  d.regions.back().country = "IE";
  const std::string yaml = gatewayYaml(d, {{"eu-west-1-0", 4100}, {"eu-west-1-1", 4101}},
                                       {"eu-west-1", "eu-west-1"}, 64);
  auto cfg = loadConfigString(yaml, "<test>");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message << "\n" << yaml;
  ASSERT_EQ(cfg.value()->endpoints.size(), 2u);
  EXPECT_EQ(cfg.value()->endpoints[1].port, 4101);
  EXPECT_EQ(cfg.value()->routing.block_chars, 64u);
  EXPECT_EQ(cfg.value()->tenants.size(), 1u);
}

TEST(PlanValidateJudge, TolerancesAndVerdicts) {
  RegionCheck c;
  c.name = "r";
  c.plan_requests = c.real_requests = 10;
  c.plan_hit = 0.50;
  c.real_hit = 0.54;
  c.plan_ttft_p50 = 100;
  c.real_ttft_p50 = 110;
  auto ok = judgeRegion(c, 5.0, 15.0);
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.verdict(), "PASS");
  auto hit = judgeRegion(c, 3.0, 15.0);
  EXPECT_EQ(hit.verdict(), "FAIL (hit)");
  auto ttft = judgeRegion(c, 5.0, 5.0);
  EXPECT_EQ(ttft.verdict(), "FAIL (TTFT)");
  EXPECT_EQ(judgeRegion(c, 1.0, 1.0).verdict(), "FAIL (hit, TTFT)");
  RegionCheck none;
  EXPECT_EQ(judgeRegion(none, 0, 0).verdict(), "no traffic");
  EXPECT_TRUE(judgeRegion(none, 0, 0).ok());
}

TEST(PlanValidateReport, TextCarriesTheMachineReadableLines) {
  PlanValidateReport rep;
  rep.hit_points = 5;
  rep.ttft_percent = 15;
  RegionCheck c;
  c.name = "eu-west-1";
  c.plan_requests = 3;
  c.real_requests = 3;
  c.plan_hit = 0.25;
  c.real_hit = 0.5;
  c.plan_ttft_p50 = 10;
  c.real_ttft_p50 = 10;
  rep.regions.push_back(judgeRegion(c, 5, 15));
  EXPECT_FALSE(rep.pass());
  const std::string t = rep.text();
  EXPECT_NE(t.find("check eu-west-1 plan_requests=3 real_requests=3 plan_hit=0.2500 "
                   "real_hit=0.5000 plan_ttft_p50=10.000 real_ttft_p50=10.000 "),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("errors=0\n"), std::string::npos) << t;
  EXPECT_NE(t.find("\nplan-validate: FAIL"), std::string::npos) << t;
  rep.regions[0] = judgeRegion(c, 30, 15);
  EXPECT_TRUE(rep.pass());
  rep.errors = 1;
  EXPECT_FALSE(rep.pass());
}

// Saturation: a region whose median harness delay (simulated ms) exceeds the TTFT tolerance of
// the planner's own TTFT p50 cannot be judged; the report says so instead of PASS or FAIL, with
// its own exit code and the smallest compression this run's delays would allow.
TEST(PlanValidateSaturation, HarnessDelayBeyondTheToleranceIsSaturatedNotFail) {
  RegionCheck c;
  c.name = "us-east-1";
  c.plan_requests = c.real_requests = 100;
  c.plan_hit = c.real_hit = 0.5;
  c.plan_model_ttft_p50 = 300;
  c.plan_ttft_p50 = 400;
  c.real_ttft_p50 = 800;  // disagrees by 100 %
  c.harness_p50 = 44;     // 15 % of 300 = 45
  EXPECT_FALSE(judgeRegion(c, 5, 15).saturated);
  EXPECT_EQ(judgeRegion(c, 5, 15).verdict(), "FAIL (TTFT)");
  c.harness_p50 = 46;
  c.harness_fixed_p50 = 40;  // without the send lateness: what min_usable_compress scales
  EXPECT_TRUE(judgeRegion(c, 5, 15).saturated);
  EXPECT_EQ(judgeRegion(c, 5, 15).verdict(), "SATURATED");
  EXPECT_FALSE(judgeRegion(c, 5, 16).saturated);  // the threshold is the TTFT tolerance

  PlanValidateReport rep;
  rep.compress = 0.03;
  rep.hit_points = 5;
  rep.ttft_percent = 15;
  rep.regions.push_back(judgeRegion(c, 5, 15));
  RegionCheck quiet = c;
  quiet.name = "eu-central-1";
  quiet.real_ttft_p50 = quiet.plan_ttft_p50;
  quiet.harness_p50 = 10;
  rep.regions.push_back(judgeRegion(quiet, 5, 15));
  EXPECT_EQ(rep.outcome(), Outcome::Saturated);
  EXPECT_FALSE(rep.pass());
  EXPECT_EQ(exitCode(rep.outcome()), 3);
  // 40 simulated ms at 0.03 = 1.2 ms wall of fixed harness time; 45 simulated ms would allow
  // compress 0.0267.
  EXPECT_NEAR(rep.minUsableCompress(), 0.03 * 40 / 45, 1e-9);
  const std::string t = rep.text();
  EXPECT_NE(t.find("plan-validate: SATURATED: harness saturated at compress 0.03"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("minimum usable compress on this machine ~0.027"), std::string::npos) << t;
  EXPECT_NE(t.find("harness_p50=46.000 saturated=1\n"), std::string::npos) << t;
  // A failed request is a failure, saturated or not.
  rep.errors = 1;
  EXPECT_EQ(rep.outcome(), Outcome::Fail);
  EXPECT_EQ(exitCode(rep.outcome()), 1);
  // Not saturated: the regions' own verdicts decide.
  rep.errors = 0;
  rep.regions[0].harness_p50 = 1;
  rep.regions[0] = judgeRegion(rep.regions[0], 5, 15);
  EXPECT_EQ(rep.outcome(), Outcome::Fail);
  rep.regions[0].real_ttft_p50 = rep.regions[0].plan_ttft_p50;
  rep.regions[0] = judgeRegion(rep.regions[0], 5, 15);
  EXPECT_EQ(rep.outcome(), Outcome::Pass);
  EXPECT_EQ(exitCode(rep.outcome()), 0);
}

// The overhead model: fixed + per-token, least squares; never a negative slope; a flat line when
// every probe has the same size; the report says what it added.
TEST(PlanValidateOverhead, FitsFixedPlusPerToken) {
  OverheadModel m = fitOverhead({{0, 2.0}, {1000, 3.0}, {2000, 4.0}});
  EXPECT_NEAR(m.fixed_ms, 2.0, 1e-9);
  EXPECT_NEAR(m.per_ktoken_ms, 1.0, 1e-9);
  EXPECT_NEAR(m.wallMs(500), 2.5, 1e-9);
  OverheadModel flat = fitOverhead({{800, 3.0}, {800, 5.0}});
  EXPECT_EQ(flat.per_ktoken_ms, 0.0);
  EXPECT_NEAR(flat.fixed_ms, 4.0, 1e-9);
  OverheadModel falling = fitOverhead({{0, 4.0}, {1000, 2.0}});
  EXPECT_EQ(falling.per_ktoken_ms, 0.0);
  EXPECT_NEAR(falling.fixed_ms, 3.0, 1e-9);
  EXPECT_EQ(fitOverhead({}).wallMs(1000), 0.0);

  PlanValidateReport rep;
  rep.overhead = m;
  rep.overhead_median_sim_ms = 50;
  EXPECT_NE(rep.text().find("per-request overhead"), std::string::npos);
}

}  // namespace
}  // namespace regiongate::validate
