// Runs the real `regiongate demo` and asserts the seed's story from its report: the EU's hit rate
// below the US baseline with the penalty printed (points and USD per 1M input tokens), the
// rollout's warm-up time printed, zero violations, nothing served outside its jurisdiction, and
// every audit chain verified.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <regex>
#include <sstream>

#include "testing/process.h"

namespace regiongate {
namespace {

TEST(DemoRun, ReportTellsThePenaltyTheWarmupAndResidency) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "a timed workload: under a sanitizer too few requests complete to warm up";
#endif
  const std::string dir = testing::makeTempDir("demo-run");
  ASSERT_FALSE(dir.empty());
  testing::ChildProcess p;
  ASSERT_TRUE(p.start({REGIONGATE_BIN, "demo", "--seconds", "30", "--dir", dir}));
  ASSERT_FALSE(p.waitForLine("demo ", 120000).empty()) << p.output();
  const int rc = p.wait(30000);
  const std::string out = p.output();
  EXPECT_EQ(rc, 0) << out;

  // The header says which latency model runs.
  EXPECT_NE(out.find("latency: the mock's calibrated model of llama-2-70b on 2 x A100-80GB"),
            std::string::npos)
      << out;

  // Isolation penalty: EU below the US baseline, in points and USD per 1M input tokens.
  std::smatch m;
  const std::regex penalty(
      R"(EU hit rate ([0-9.]+) % vs US baseline ([0-9.]+) % = (-?[0-9.]+) points;.*: \+([0-9.]+) USD per 1M EU input tokens)");
  ASSERT_TRUE(std::regex_search(out, m, penalty)) << out;
  const double eu = std::stod(m[1]), us = std::stod(m[2]), points = std::stod(m[3]);
  EXPECT_LT(eu, us) << out;
  EXPECT_GT(points, 0.0);
  EXPECT_NEAR(points, us - eu, 0.11);
  EXPECT_GT(std::stod(m[4]), 0.0);

  // The eu-central-1 rollout: a cold dip and a warm-up time.
  const std::regex warmup(
      R"(rollout eu-central-1 v1 -> v2 at [0-9.]+s: steady hit rate ([0-9.]+) %, first [0-9]+ requests after ([0-9.]+) % \(cold cache\); warm-up time to 90 % of steady: ([0-9.]+) s wall)");
  ASSERT_TRUE(std::regex_search(out, m, warmup)) << out;
  EXPECT_LT(std::stod(m[2]), std::stod(m[1])) << "the rollout's first requests hit less";
  EXPECT_GE(std::stod(m[3]), 0.0);
  // Version skew was visible while it ran.
  EXPECT_NE(out.find("eu-central-1 v2 · eu-west-1 v1"), std::string::npos) << out;
  EXPECT_NE(out.find("(version skew)"), std::string::npos) << out;

  // The budget formula, filled in.
  EXPECT_NE(out.find("(infrastructure cost x regions) + (cache penalty x EU traffic)"),
            std::string::npos);

  // Residency and audit.
  EXPECT_NE(out.find("residency: 0 violations counted by the gateway; 0 responses served outside"),
            std::string::npos)
      << out;
  int chains = 0, failed = 0;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("audit EU: ", 0) != 0 && line.rfind("audit US: ", 0) != 0) continue;
    ++chains;
    if (line.find(": OK ") == std::string::npos) ++failed;
  }
  EXPECT_EQ(chains, 2) << out;  // one chain per jurisdiction's store
  EXPECT_EQ(failed, 0) << out;
  EXPECT_NE(out.find("\ndemo OK"), std::string::npos) << out;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace regiongate
