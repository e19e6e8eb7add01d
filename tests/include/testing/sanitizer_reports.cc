// Linked into every test binary (tests/CMakeLists.txt): sets the child sanitizer options at
// static-initialisation time (before any test thread exists) and registers a global
// environment whose tear-down fails the run on reports no test claimed.
#include "testing/sanitizer_reports.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace regiongate::testing {

namespace {

// Per test binary run: the pid keeps parallel runs (ctest -j) apart. Created in SetUp, so
// listing the tests (gtest_discover_tests) leaves nothing behind.
std::string dirPath() {
  if (const char* d = std::getenv("REGIONGATE_SAN_DIR"); d && *d) return d;
  return "/tmp/regiongate-san-" + std::to_string(::getpid());
}

void appendOption(const char* var, const std::string& option) {
  const char* old = std::getenv(var);
  std::string v = old && *old ? std::string(old) + ":" + option : option;
  ::setenv(var, v.c_str(), 1);
}

std::string readAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Files named san.<pid> (ASan/UBSan/TSan append the pid to log_path).
std::vector<std::string> reportFiles() {
  std::vector<std::string> out;
  DIR* d = ::opendir(sanitizerReportDir().c_str());
  if (!d) return out;
  for (int guard = 0; guard < 100000; ++guard) {
    dirent* e = ::readdir(d);
    if (!e) break;
    std::string name = e->d_name;
    if (name.rfind("san.", 0) == 0) out.push_back(sanitizerReportDir() + "/" + name);
  }
  ::closedir(d);
  return out;
}

class UnclaimedReports : public ::testing::Environment {
public:
  void SetUp() override { ::mkdir(sanitizerReportDir().c_str(), 0755); }
  void TearDown() override {
    for (const auto& r : unclaimedSanitizerReports())
      ADD_FAILURE() << "a process started by these tests left a sanitizer report: " << r;
    ::rmdir(sanitizerReportDir().c_str());  // only when empty
  }
};

[[maybe_unused]] const bool kInstalled = [] {
  const std::string option = "log_path=" + sanitizerReportDir() + "/san";
  for (const char* var : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS", "LSAN_OPTIONS"})
    appendOption(var, option);
  ::testing::AddGlobalTestEnvironment(new UnclaimedReports);  // gtest owns it
  return true;
}();

}  // namespace

const std::string& sanitizerReportDir() {
  static const std::string dir = dirPath();
  return dir;
}

std::string takeSanitizerReport(pid_t pid) {
  const std::string path = sanitizerReportDir() + "/san." + std::to_string(pid);
  if (::access(path.c_str(), F_OK) != 0) return "";
  std::string text = readAll(path);
  ::unlink(path.c_str());
  return text.empty() ? "(empty report file " + path + ")" : text;
}

std::vector<std::string> unclaimedSanitizerReports() {
  std::vector<std::string> out;
  for (const auto& path : reportFiles()) {
    std::string text = readAll(path);
    out.push_back(path + ":\n" + text.substr(0, 4000));
  }
  return out;
}

}  // namespace regiongate::testing
