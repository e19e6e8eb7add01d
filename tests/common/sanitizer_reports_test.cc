// The sanitizer-report plumbing of the test helpers (testing/sanitizer_reports.h): a child
// process sees log_path options pointing into the report directory, a report it writes is found
// by its pid, and ChildProcess fails the running test when the process it stopped left one.
#include "testing/sanitizer_reports.h"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "testing/process.h"

namespace regiongate::testing {
namespace {

// A stand-in for an instrumented process that found a bug: it writes a report where the
// ASan runtime would (log_path + "." + pid), then prints its pid.
const char* const kFakeReport =
    "printf 'ERROR: AddressSanitizer: fake report\\n' > \"${ASAN_OPTIONS##*log_path=}.$$\"; "
    "echo \"pid $$\"";

TEST(SanitizerReports, ChildrenGetLogPathOptionsForEverySanitizer) {
  const std::string want = "log_path=" + sanitizerReportDir() + "/san";
  for (const char* var : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS", "LSAN_OPTIONS"}) {
    const char* v = std::getenv(var);
    ASSERT_NE(v, nullptr) << var;
    EXPECT_NE(std::string(v).find(want), std::string::npos) << var << "=" << v;
  }
}

TEST(SanitizerReports, AReportIsFoundByThePidThatWroteIt) {
  ChildProcess p;
  ASSERT_TRUE(p.start({"/bin/sh", "-c", kFakeReport}));
  std::string line = p.waitForLine("pid ");
  ASSERT_FALSE(line.empty());
  const pid_t pid = static_cast<pid_t>(std::stol(line.substr(4)));
  EXPECT_EQ(p.wait(5000), 0);
  std::string report = takeSanitizerReport(pid);
  EXPECT_NE(report.find("AddressSanitizer: fake report"), std::string::npos) << report;
  EXPECT_EQ(takeSanitizerReport(pid), "") << "a report is taken once";
}

void runChildThatLeavesAReport() {
  ChildProcess p;
  ASSERT_TRUE(p.start({"/bin/sh", "-c", kFakeReport}));
  ASSERT_FALSE(p.waitForLine("pid ").empty());
}  // ~ChildProcess stops it and finds the report

TEST(SanitizerReports, ChildProcessFailsTheTestWhenItsProcessLeftAReport) {
  EXPECT_NONFATAL_FAILURE(runChildThatLeavesAReport(), "left a sanitizer report");
  EXPECT_TRUE(unclaimedSanitizerReports().empty());
}

}  // namespace
}  // namespace regiongate::testing
