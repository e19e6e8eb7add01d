// The planner agrees with the real gateway. Runs the real binary's
// `plan-validate` (in-process gateway on loopback + one mock backend per instance, open-loop
// replay of a Mooncake slice) on a small slice and asserts the per-region agreement from its
// machine-readable `check` lines: hit rate within 5 points. TTFT p50 is compared by the tool and
// recorded by bench/plan_validate.sh (docs/planner.md); on a shared 2-core CI machine it is too
// noisy to assert, so this test only requires it to be measured and finite.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>

#include "testing/process.h"

namespace regiongate {
namespace {

struct Check {
  unsigned long long plan_requests = 0, real_requests = 0;
  double plan_hit = -1, real_hit = -1, plan_p50 = -1, real_p50 = -1;
};

TEST(PlanValidate, PlannerHitRatePerRegionMatchesTheGatewayAndMocks) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The comparison is of timing models: under a sanitizer the gateway and mocks run 2-3x slower
  // than the instance model says, routing by load then differs, and a mismatch would say nothing
  // about the planner. The release suite (also in .ci/run) runs it.
  GTEST_SKIP() << "timing comparison: runs in the release (non-sanitizer) suite";
#endif
  const std::string src = REGIONGATE_SOURCE_DIR;
  testing::ChildProcess p;
  ASSERT_TRUE(p.start({REGIONGATE_BIN, "plan-validate", "--deployment",
                       src + "/bench/configs/plan_validate.yaml", "--trace",
                       src + "/data/mooncake_conversation_trace.jsonl", "--limit", "300",
                       "--compress", "0.1", "--quiet"}));
  // Everything up to and including the verdict line (the run takes ~17 s of wall time).
  ASSERT_FALSE(p.waitForLine("errors=", 120000).empty()) << p.output();
  ASSERT_FALSE(p.waitForLine("plan-validate: ", 10000).empty()) << p.output();
  const int rc = p.wait(30000);
  EXPECT_TRUE(rc == 0 || rc == 1) << "exit " << rc << "\n" << p.output();

  std::map<std::string, Check> checks;
  int errors = -1;
  std::istringstream lines(p.output());
  std::string line;
  while (std::getline(lines, line)) {
    char region[64];
    Check c;
    if (std::sscanf(line.c_str(),
                    "check %63s plan_requests=%llu real_requests=%llu plan_hit=%lf real_hit=%lf "
                    "plan_ttft_p50=%lf real_ttft_p50=%lf",
                    region, &c.plan_requests, &c.real_requests, &c.plan_hit, &c.real_hit,
                    &c.plan_p50, &c.real_p50) == 7)
      checks[region] = c;
    std::sscanf(line.c_str(), "errors=%d", &errors);
  }
  EXPECT_EQ(errors, 0) << p.output();
  ASSERT_EQ(checks.size(), 3u) << p.output();
  unsigned long long plan_total = 0, real_total = 0;
  for (const auto& [region, c] : checks) {
    SCOPED_TRACE(region);
    plan_total += c.plan_requests;
    real_total += c.real_requests;
    EXPECT_GE(c.real_requests, 20u) << "every region serves traffic";
    EXPECT_NEAR(c.real_hit * 100, c.plan_hit * 100, 5.0) << p.output();
    EXPECT_GT(c.plan_p50, 0);
    EXPECT_TRUE(std::isfinite(c.real_p50) && c.real_p50 > 0);
  }
  EXPECT_EQ(plan_total, 300u);
  EXPECT_EQ(real_total, 300u);  // every request answered and attributed to a region
  // The US region's small caches and the EU's routing both leave a real signal to agree on.
  double max_hit = 0;
  for (const auto& [region, c] : checks) max_hit = std::max(max_hit, c.plan_hit);
  EXPECT_GT(max_hit, 0.05);
}

}  // namespace
}  // namespace regiongate
