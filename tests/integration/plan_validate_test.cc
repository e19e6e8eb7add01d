// The planner agrees with the real gateway. Runs the real binary's `plan-validate` (in-process
// gateway on loopback + one mock backend per instance, open-loop replay of a trace slice) and
// asserts the per-region agreement from its machine-readable `check` lines. On the Mooncake slice:
// hit rate within 5 points (TTFT is recorded by bench/plan_validate.sh, docs/planner.md). The
// same on a second trace shape at two compressions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "testing/process.h"

namespace regiongate {
namespace {

struct Check {
  unsigned long long plan_requests = 0, real_requests = 0;
  double plan_hit = -1, real_hit = -1, plan_p50 = -1, real_p50 = -1;
  double model_p50 = -1, harness_p50 = -1;
  int saturated = -1;
};

struct Validation {
  int rc = -1;
  int errors = -1;
  std::string verdict;  // the last line
  std::map<std::string, Check> checks;
  std::string output;
};

// Runs `regiongate plan-validate` with `args` and parses its machine-readable `check` lines.
Validation runPlanValidate(const std::vector<std::string>& args) {
  Validation v;
  testing::ChildProcess p;
  std::vector<std::string> argv = {REGIONGATE_BIN, "plan-validate", "--quiet"};
  argv.insert(argv.end(), args.begin(), args.end());
  if (!p.start(argv)) return v;
  // Everything up to and including the verdict line.
  if (p.waitForLine("errors=", 240000).empty() || p.waitForLine("plan-validate: ", 10000).empty()) {
    v.output = p.output();
    return v;
  }
  v.rc = p.wait(30000);
  v.output = p.output();
  std::istringstream lines(v.output);
  std::string line;
  while (std::getline(lines, line)) {
    char region[64];
    Check c;
    if (std::sscanf(line.c_str(),
                    "check %63s plan_requests=%llu real_requests=%llu plan_hit=%lf real_hit=%lf "
                    "plan_ttft_p50=%lf real_ttft_p50=%lf plan_model_ttft_p50=%lf "
                    "harness_p50=%lf saturated=%d",
                    region, &c.plan_requests, &c.real_requests, &c.plan_hit, &c.real_hit,
                    &c.plan_p50, &c.real_p50, &c.model_p50, &c.harness_p50, &c.saturated) == 10)
      v.checks[region] = c;
    std::sscanf(line.c_str(), "errors=%d", &v.errors);
    if (line.rfind("plan-validate: ", 0) == 0) v.verdict = line;
  }
  return v;
}

// The verdict line, the exit code and the regions' saturation flags tell one story: exit 3 and
// "SATURATED" exactly when some region's harness delay exceeds the TTFT tolerance of the
// planner's own TTFT p50 (15 %, the default).
void expectConsistentOutcome(const Validation& v) {
  bool any_saturated = false;
  for (const auto& [region, c] : v.checks) {
    SCOPED_TRACE(region);
    ASSERT_TRUE(c.saturated == 0 || c.saturated == 1) << v.output;
    EXPECT_GE(c.harness_p50, 0) << "the harness's own time is measured per request";
    EXPECT_GT(c.model_p50, 0);
    EXPECT_EQ(c.saturated == 1, c.harness_p50 > 0.15 * c.model_p50) << v.output;
    any_saturated = any_saturated || c.saturated == 1;
  }
  if (any_saturated) {
    EXPECT_EQ(v.rc, 3) << v.output;
    EXPECT_EQ(v.verdict.rfind("plan-validate: SATURATED: harness saturated at compress", 0), 0u)
        << v.output;
  } else {
    EXPECT_TRUE(v.rc == 0 || v.rc == 1) << "exit " << v.rc << "\n" << v.output;
    EXPECT_EQ(v.verdict.find("SATURATED"), std::string::npos) << v.output;
  }
}

TEST(PlanValidate, PlannerHitRatePerRegionMatchesTheGatewayAndMocks) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The comparison is of timing models: under a sanitizer the gateway and mocks run 2-3x slower
  // than the instance model says, routing by load then differs, and a mismatch would say nothing
  // about the planner. The release suite (also in .ci/run) runs it.
  GTEST_SKIP() << "timing comparison: runs in the release (non-sanitizer) suite";
#endif
  const std::string src = REGIONGATE_SOURCE_DIR;
  // ~17 s of wall time.
  Validation v = runPlanValidate({"--deployment", src + "/bench/configs/plan_validate.yaml",
                                  "--trace", src + "/data/mooncake_conversation_trace.jsonl",
                                  "--limit", "300", "--compress", "0.1"});
  EXPECT_EQ(v.errors, 0) << v.output;
  ASSERT_EQ(v.checks.size(), 3u) << v.output;
  expectConsistentOutcome(v);
  unsigned long long plan_total = 0, real_total = 0;
  for (const auto& [region, c] : v.checks) {
    SCOPED_TRACE(region);
    plan_total += c.plan_requests;
    real_total += c.real_requests;
    EXPECT_GE(c.real_requests, 20u) << "every region serves traffic";
    EXPECT_NEAR(c.real_hit * 100, c.plan_hit * 100, 5.0) << v.output;
    EXPECT_GT(c.plan_p50, 0);
    EXPECT_TRUE(std::isfinite(c.real_p50) && c.real_p50 > 0);
  }
  EXPECT_EQ(plan_total, 300u);
  EXPECT_EQ(real_total, 300u);  // every request answered and attributed to a region
  // The US region's small caches and the EU's routing both leave a real signal to agree on.
  double max_hit = 0;
  for (const auto& [region, c] : v.checks) max_hit = std::max(max_hit, c.plan_hit);
  EXPECT_GT(max_hit, 0.05);
}

// A second trace shape, not the slice the tool was built on: long system prompts shared by
// tenants across both jurisdictions, fine-grained Poisson arrivals, full blocks
// (data/synthetic_tenants_trace.jsonl), on the shared-prefixes example deployment, at two
// compressions: hit rates must agree, and the outcome is PASS, FAIL or SATURATED as the
// measured harness delays say. TTFT p50 agreement itself is not asserted: on a shared,
// oversubscribed 2-core machine a stall of a few wall ms flips a routing tie, the two runs then
// place a conversation differently and one region's TTFT p50 moves by 20 % (docs/planner.md).
TEST(PlanValidate, SecondTraceShapeAgreesAtTwoCompressions) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "timing comparison: runs in the release (non-sanitizer) suite";
#endif
  const std::string src = REGIONGATE_SOURCE_DIR;
  for (const char* compress : {"0.1", "0.03"}) {
    SCOPED_TRACE(std::string("compress ") + compress);
    Validation v = runPlanValidate(
        {"--deployment", src + "/examples/deployments/shared-prefixes.yaml", "--trace",
         src + "/data/synthetic_tenants_trace.jsonl", "--limit", "300", "--compress", compress});
    EXPECT_EQ(v.errors, 0) << v.output;
    ASSERT_EQ(v.checks.size(), 2u) << v.output;
    expectConsistentOutcome(v);
    EXPECT_NE(v.output.find("per-request overhead"), std::string::npos) << v.output;
    for (const auto& [region, c] : v.checks) {
      SCOPED_TRACE(region);
      EXPECT_GE(c.real_requests, 20u);
      EXPECT_EQ(c.plan_requests, c.real_requests);  // the same jurisdiction split
      EXPECT_NEAR(c.real_hit * 100, c.plan_hit * 100, 5.0) << v.output;
      EXPECT_GT(c.plan_hit, 0.3) << "the shared prompts give the comparison a signal";
      EXPECT_GT(c.plan_p50, 0);
      EXPECT_TRUE(std::isfinite(c.real_p50) && c.real_p50 > 0);
    }
  }
}

// Beyond what a 2-core machine can replay: at compress 0.01 the client cannot even send the
// trace on time (it writes request i only after request i-1 reached its backend, a millisecond
// or more each, where the trace leaves ~4 ms between requests and bursts closer), so the
// harness's own delays dwarf the planner's TTFT. The tool must say so (exit 3, SATURATED, with
// a minimum usable compression above 0.01), not blame the planner with a FAIL.
TEST(PlanValidate, BeyondTheMachineIsSaturatedNotFail) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "timing comparison: runs in the release (non-sanitizer) suite";
#endif
  const std::string src = REGIONGATE_SOURCE_DIR;
  Validation v = runPlanValidate(
      {"--deployment", src + "/examples/deployments/shared-prefixes.yaml", "--trace",
       src + "/data/synthetic_tenants_trace.jsonl", "--limit", "300", "--compress", "0.01"});
  EXPECT_EQ(v.errors, 0) << v.output;
  ASSERT_EQ(v.checks.size(), 2u) << v.output;
  EXPECT_EQ(v.rc, 3) << v.output;
  expectConsistentOutcome(v);
  double min_compress = -1;
  std::istringstream lines(v.output);
  std::string line;
  while (std::getline(lines, line)) std::sscanf(line.c_str(), "min_usable_compress=%lf", &min_compress);
  EXPECT_GT(min_compress, 0.01) << v.output;
}

}  // namespace
}  // namespace regiongate
