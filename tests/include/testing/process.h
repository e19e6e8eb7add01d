#pragma once
// Test support: start a real child process (the regiongate binary), read its stdout line by line
// with a deadline, and stop it by PID; the running test fails if the process left a sanitizer
// report (testing/sanitizer_reports.h). Header-only; used by integration tests.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "testing/sanitizer_reports.h"

namespace regiongate::testing {

class ChildProcess {
public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() { stop(); }

  // Starts argv[0] with args; stdout is captured (a pipe), stderr goes to `stderr_file` ("" =
  // inherited). Returns false if fork/exec failed.
  bool start(const std::vector<std::string>& argv, const std::string& stderr_file = "") {
    int fds[2];
    if (pipe(fds) != 0) return false;
    pid_ = fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      dup2(fds[1], 1);
      close(fds[0]);
      close(fds[1]);
      if (!stderr_file.empty()) {
        int fd = open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) dup2(fd, 2);
      }
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(fds[1]);
    out_fd_ = fds[0];
    started_pid_ = pid_;
    return true;
  }

  // Reads stdout until a line starting with `prefix` arrives (returns it) or the deadline passes
  // (returns ""). Lines before it are kept in output().
  std::string waitForLine(const std::string& prefix, int timeout_ms = 10000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (int guard = 0; guard < 100000; ++guard) {
      size_t pos;
      while ((pos = pending_.find('\n')) != std::string::npos) {
        std::string line = pending_.substr(0, pos);
        pending_.erase(0, pos + 1);
        output_ += line + "\n";
        if (line.rfind(prefix, 0) == 0) return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0 || out_fd_ < 0) return "";
      pollfd p{out_fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) return "";
      char buf[4096];
      ssize_t n = read(out_fd_, buf, sizeof(buf));
      if (n <= 0) return "";
      pending_.append(buf, static_cast<size_t>(n));
    }
    return "";
  }

  pid_t pid() const { return pid_; }
  bool running() {
    if (pid_ <= 0) return false;
    int status;
    return waitpid(pid_, &status, WNOHANG) == 0;
  }
  void signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  // Waits up to timeout_ms for exit; returns the exit code (or 128+signal), -1 if still running.
  int wait(int timeout_ms = 10000) {
    if (pid_ <= 0) return exit_code_;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (int guard = 0; guard < 1000000; ++guard) {
      int status = 0;
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        pid_ = -1;
        return exit_code_;
      }
      if (std::chrono::steady_clock::now() > deadline) return -1;
      usleep(2000);  // polling a child's exit, bounded by the deadline
    }
    return -1;
  }
  // SIGTERM, then SIGKILL if it does not exit within 5 s.
  void stop() {
    if (pid_ > 0) {
      signal(SIGTERM);
      if (wait(5000) == -1) {
        signal(SIGKILL);
        wait(5000);
      }
    }
    if (out_fd_ >= 0) {
      close(out_fd_);
      out_fd_ = -1;
    }
    expectNoSanitizerReport();
  }
  const std::string& output() const { return output_; }

private:
  // Once the process has exited: its sanitizer report, if any, fails the running test.
  void expectNoSanitizerReport() {
    if (started_pid_ <= 0 || pid_ > 0) return;
    std::string report = takeSanitizerReport(started_pid_);
    EXPECT_EQ(report, "") << "process " << started_pid_ << " left a sanitizer report";
    started_pid_ = -1;
  }

  pid_t pid_ = -1;
  pid_t started_pid_ = -1;
  int out_fd_ = -1;
  int exit_code_ = -1;
  std::string pending_, output_;
};

inline std::string makeTempDir(const std::string& tag) {
  std::string tmpl = "/tmp/regiongate-" + tag + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  char* dir = mkdtemp(buf.data());
  return dir ? std::string(dir) : std::string();
}

}  // namespace regiongate::testing
