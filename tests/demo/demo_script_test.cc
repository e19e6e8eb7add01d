// scripts/demo.sh as a new user runs it, from a fresh clone of this repository's committed HEAD:
// it builds only the `regiongate` binary (no test or benchmark targets are even configured) and
// runs the demo. The package install step is skipped with `--skip-install` (this suite's machine
// has the packages; installing needs root and the network). The compiler cache is shared, so the
// build is mostly cache hits; bounded by `timeout`.
#include <gtest/gtest.h>

#include <filesystem>

#include "../admin/run_command.h"
#include "testing/process.h"

namespace regiongate {
namespace {

namespace fs = std::filesystem;

TEST(DemoScript, FreshCloneBuildsOnlyTheBinaryAndRunsTheDemo) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "builds a release tree of its own: once, in the release suite";
#endif
  const std::string src = REGIONGATE_SOURCE_DIR;
  if (testing::runCommand("git -C '" + src + "' rev-parse --git-dir").exit_code != 0)
    GTEST_SKIP() << "not a git checkout";
  const std::string tmp = testing::makeTempDir("demo-script");
  ASSERT_FALSE(tmp.empty());
  const std::string clone = tmp + "/clone";
  auto cloned = testing::runCommand("git clone --quiet '" + src + "' '" + clone + "'");
  ASSERT_EQ(cloned.exit_code, 0) << cloned.output;

  auto run = testing::runCommand("cd '" + clone + "' && timeout 1500 bash scripts/demo.sh "
                                 "--skip-install --seconds 6 --dir '" + tmp + "/run'");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output.find("bootstrap"), std::string::npos) << "the install step ran";
  EXPECT_NE(run.output.find("regiongate demo: gateway on 127.0.0.1:"), std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("\ndemo OK"), std::string::npos) << run.output;
  EXPECT_TRUE(fs::exists(clone + "/build/release/regiongate"));
  // Only the binary: no test executables, no benchmarks, not even their build rules.
  EXPECT_FALSE(fs::exists(clone + "/build/release/tests"));
  EXPECT_FALSE(fs::exists(clone + "/build/release/bench"));
  fs::remove_all(tmp);
}

}  // namespace
}  // namespace regiongate
