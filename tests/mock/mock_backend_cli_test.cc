// The real binary: `regiongate mock-backend --listen 127.0.0.1:0` prints its port, serves, and
// exits 0 on SIGTERM. Stops only the process it started, by PID.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "test_client.h"

extern char** environ;

namespace regiongate::mock {
namespace {

struct Child {
  pid_t pid = -1;
  int out_fd = -1;
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (out_fd >= 0) ::close(out_fd);
  }
};

// Starts the binary with stdout on a pipe. Returns false if it could not be spawned.
bool spawn(Child& c, std::vector<std::string> args) {
  int fds[2];
  if (::pipe(fds) != 0) return false;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int rc = posix_spawn(&c.pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  c.out_fd = fds[0];
  return rc == 0;
}

// Reads one line from fd within `ms`.
std::string readLine(int fd, int ms) {
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    char ch;
    if (::read(fd, &ch, 1) != 1) break;
    if (ch == '\n') return line;
    line.push_back(ch);
  }
  return line;
}

TEST(MockBackendCli, ListensOnPortZeroPrintsPortAndStopsOnSigterm) {
  ASSERT_EQ(::access(REGIONGATE_BIN, X_OK), 0) << "build the `regiongate` target first";
  const std::string port_file =
      ::testing::TempDir() + "mock_cli_port_" + std::to_string(::getpid());
  Child c;
  ASSERT_TRUE(spawn(c, {REGIONGATE_BIN, "mock-backend", "--region", "eu-west-3", "--listen",
                        "127.0.0.1:0", "--model", "llama@v3", "--time-scale", "0",
                        "--output-tokens", "3", "--port-file", port_file}));
  std::string line = readLine(c.out_fd, 10000);
  ASSERT_EQ(line.rfind("listening 127.0.0.1:", 0), 0u) << line;
  const int port = std::stoi(line.substr(line.rfind(':') + 1));
  ASSERT_GT(port, 0);
  std::ifstream pf(port_file);
  int file_port = 0;
  pf >> file_port;
  EXPECT_EQ(file_port, port);

  testing::Client client(static_cast<uint16_t>(port));
  auto r = client.post("/v1/chat/completions",
                       R"({"model":"llama","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("x-inference-region"), "eu-west-3");
  EXPECT_NE(r.body().find("\"model\":\"llama@v3\""), std::string::npos);
  EXPECT_NE(r.body().find("\"completion_tokens\":3"), std::string::npos);
  client.close();

  ASSERT_EQ(::kill(c.pid, SIGTERM), 0);
  int status = -1;
  pid_t done = 0;
  for (int i = 0; i < 500 && done == 0; ++i) {  // bounded: 5 s
    done = ::waitpid(c.pid, &status, WNOHANG);
    if (done == 0) ::usleep(10000);
  }
  ASSERT_EQ(done, c.pid);
  c.pid = -1;
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  std::remove(port_file.c_str());
}

TEST(MockBackendCli, BadOptionsExitWithUsageError) {
  ASSERT_EQ(::access(REGIONGATE_BIN, X_OK), 0) << "build the `regiongate` target first";
  Child c;
  ASSERT_TRUE(spawn(c, {REGIONGATE_BIN, "mock-backend", "--region", "r", "--model", "m@",
                        "--listen", "127.0.0.1:0"}));
  int status = -1;
  pid_t done = 0;
  for (int i = 0; i < 500 && done == 0; ++i) {
    done = ::waitpid(c.pid, &status, WNOHANG);
    if (done == 0) ::usleep(10000);
  }
  ASSERT_EQ(done, c.pid);
  c.pid = -1;
  EXPECT_EQ(WEXITSTATUS(status), 2);
}

}  // namespace
}  // namespace regiongate::mock
