#pragma once
// Test support: sanitizer reports of the processes a test starts. At start-up every test binary
// points ASAN_OPTIONS, UBSAN_OPTIONS, TSAN_OPTIONS (and LSAN_OPTIONS) at one directory with
// `log_path=<dir>/san`, so each instrumented child (fork/exec, system(), popen(), posix_spawn)
// writes its report to <dir>/san.<pid> instead of a stderr nobody reads. ChildProcess fails the
// running test when the process it stopped left a report; at the end of the binary any report
// no test claimed fails the run (sanitizer_reports.cc). Processes that are not instrumented
// ignore the variables. The test binary's own sanitizer options were read before main, so they
// are unchanged.
#include <sys/types.h>

#include <string>
#include <vector>

namespace regiongate::testing {

// The directory (created once per test binary; $REGIONGATE_SAN_DIR if set).
const std::string& sanitizerReportDir();
// The report a process wrote (all of it), or "" if none; the file is removed once read, so it
// is reported once.
std::string takeSanitizerReport(pid_t pid);
// Reports present now that no one took: path -> first lines.
std::vector<std::string> unclaimedSanitizerReports();

}  // namespace regiongate::testing
