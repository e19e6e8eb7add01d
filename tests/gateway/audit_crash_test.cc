// Crash test at the gateway level: clients send requests, the gateway is SIGKILLed at a
// random moment, restarted on the same audit directory, and every request whose response reached
// a client must be in the audit, with every chain verifying.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "gateway_fixture.h"

namespace regiongate::testing {
namespace {

std::string runCli(const std::vector<std::string>& args, int* exit_code) {
  ChildProcess p;
  std::vector<std::string> argv = {REGIONGATE_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  EXPECT_TRUE(p.start(argv));
  p.waitForLine("\x01never", 60000);  // collects all output until EOF
  *exit_code = p.wait(60000);
  return p.output();
}

TEST(GatewayAuditCrash, EveryAnsweredRequestIsInTheAuditAfterSigkill) {
  Deployment d;
  GatewaySettings settings;
  if (getenv("RG_CRASH_NO_WAIT")) settings.audit_extra = ", wait_durable: false, flush_interval_ms: 200";
  ASSERT_TRUE(d.startGateway(settings));
  std::mt19937 rng(std::random_device{}());
  const int kill_after = 150 + static_cast<int>(rng() % 400);
  std::mutex mu;
  std::vector<std::string> answered;
  std::atomic<int> count{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < 5000 && !stop; ++i) {
        auto r = d.chat(c % 2 ? kUsKey : kEuKey, "crash " + std::to_string(c) + "-" + std::to_string(i));
        if (r.status != 200) break;  // the gateway died: this response never reached us
        std::lock_guard lock(mu);
        answered.push_back(r.header("x-regiongate-request-id"));
        ++count;
      }
    });
  }
  for (int i = 0; i < 30000 && count < kill_after; ++i) usleep(1000);  // bounded wait for load
  d.gatewayProcess().signal(SIGKILL);
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(d.gatewayProcess().wait(5000), 128 + SIGKILL);
  ASSERT_GE(answered.size(), static_cast<size_t>(kill_after));

  // Restart on the same audit dir: the chains continue, and the new records verify too.
  ASSERT_TRUE(d.startGateway(settings));
  EXPECT_EQ(d.chat(kEuKey, "after restart").status, 200);
  d.gatewayProcess().stop();

  int rc = -1;
  std::string verify = runCli({"audit", "verify", "--dir", d.dir() + "/audit"}, &rc);
  EXPECT_EQ(rc, 0) << verify;
  std::string all;
  for (const char* j : {"EU", "US"}) {
    std::string out = runCli({"audit", "query", "--dir", d.dir() + "/audit", "--jurisdiction", j,
                              "--format", "jsonl", "--limit", "1000000"}, &rc);
    EXPECT_EQ(rc, 0) << out;
    all += out;
  }
  size_t missing = 0;
  for (const auto& id : answered)
    if (all.find("\"" + id + "\"") == std::string::npos) ++missing;
  EXPECT_EQ(missing, 0u) << missing << " of " << answered.size()
                         << " answered requests are missing from the audit (killed after " << kill_after << ")";
}

}  // namespace
}  // namespace regiongate::testing
