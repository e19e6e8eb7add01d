// Cache-aware routing with several replicas: the multi-turn workload of cache_routing_test.cc, sent
// in bursts (every session's turn at once, so queues form and replicas see different queue
// lengths) with each turn on a new connection, through nginx round-robin in front of 1 replica and
// then of 3 replicas. Each replica's prefix index learns only from the requests it routed, so 3
// replicas see a third of each conversation each. The backends' own cached_tokens measure the
// cost; the figure is reported (docs/operations.md "Several replicas").
#include <gtest/gtest.h>

#include <barrier>
#include <thread>

#include "gateway_fixture.h"
#include "testing/nginx_lb.h"

namespace regiongate::testing {
namespace {

uint64_t statNumber(const std::string& body, const std::string& key) {
  auto k = body.find("\"" + key + "\":");
  if (k == std::string::npos) return 0;
  return std::strtoull(body.c_str() + k + key.size() + 3, nullptr, 10);
}

constexpr int kSessions = 9, kTurns = 6;

// Starts `replicas` gateways (cache-aware policy) behind nginx and runs the bursty workload.
// Returns {cached_tokens, prompt_tokens} summed over the EU backends' own stats.
std::pair<uint64_t, uint64_t> runReplicated(int replicas) {
  Deployment d({"--time-scale", "0.3"});
  GatewaySettings s;
  s.policy = "estimated_ttft";
  s.audit_sink = "none";
  std::vector<std::unique_ptr<ChildProcess>> gateways;
  std::vector<uint16_t> ports;
  for (int i = 0; i < replicas; ++i) {
    auto g = std::make_unique<ChildProcess>();
    std::string cfg = d.writeConfig(s, "gw" + std::to_string(i) + ".yaml");
    EXPECT_TRUE(g->start({REGIONGATE_BIN, "serve", "--config", cfg, "--log-level", "warn"},
                         d.dir() + "/gw" + std::to_string(i) + ".stderr"));
    std::string line = g->waitForLine("listening ");
    EXPECT_FALSE(line.empty());
    if (line.empty()) return {0, 0};
    std::string data = line.substr(line.find("data=") + 5);
    data = data.substr(0, data.find(' '));
    ports.push_back(static_cast<uint16_t>(std::stoi(data.substr(data.rfind(':') + 1))));
    gateways.push_back(std::move(g));
  }
  NginxRoundRobin lb;
  EXPECT_TRUE(lb.start(ports));
  std::barrier turn_start(kSessions);
  std::vector<std::thread> sessions;
  for (int session = 0; session < kSessions; ++session)
    sessions.emplace_back([&, session] {
      std::string convo = R"([{"role":"system","content":"You are the assistant of tenant number )" +
                          std::to_string(session % 3) +
                          R"(. Answer briefly and politely, cite the policy section, never guess."})";
      for (int turn = 0; turn < kTurns; ++turn) {
        std::string q = "Session " + std::to_string(session) + " turn " + std::to_string(turn) +
                        " asks a fairly long question about accounts, transfers, fees and limits "
                        "so that every turn adds a few prefix blocks of fresh text to the "
                        "conversation.";
        convo += R"(,{"role":"user","content":")" + q + R"("})";
        turn_start.arrive_and_wait();  // a burst: every session's turn at once
        HttpClient c(lb.port());       // each turn on a new connection
        auto r = c.post("/v1/chat/completions",
                        R"({"model":"llama-3.1-8b","max_tokens":4,"messages":)" + convo + "]}",
                        {{"authorization", "Bearer " + kEuKey}});
        EXPECT_EQ(r.status, 200) << r.body;
        convo += R"(,{"role":"assistant","content":"Answer )" + std::to_string(turn) + R"(."})";
      }
    });
  for (auto& t : sessions) t.join();
  uint64_t cached = 0, prompt = 0;
  for (const char* b : {"fra-a", "fra-b", "dub-a"}) {
    HttpClient admin(d.backendByName(b).port);
    auto st = admin.get("/admin/stats");
    cached += statNumber(st.body, "cached_tokens");
    prompt += statNumber(st.body, "prompt_tokens");
  }
  return {cached, prompt};
}

TEST(ReplicatedCacheRouting, ThreeReplicasAgainstOneOnTheBackendsCachedTokens) {
  if (NginxRoundRobin::binary().empty()) GTEST_SKIP() << "nginx is not installed";
  auto [one_cached, one_prompt] = runReplicated(1);
  auto [three_cached, three_prompt] = runReplicated(3);
  ASSERT_GT(one_prompt, 0u);
  EXPECT_EQ(one_prompt, three_prompt) << "the two runs must send the same workload";
  double one = static_cast<double>(one_cached) / static_cast<double>(one_prompt);
  double three = static_cast<double>(three_cached) / static_cast<double>(three_prompt);
  RecordProperty("cached_ratio_1_replica", std::to_string(one));
  RecordProperty("cached_ratio_3_replicas", std::to_string(three));
  std::printf("backend-measured cached-token ratio: 1 replica %.3f, 3 replicas %.3f\n", one, three);
  EXPECT_GT(one, 0.0);
  EXPECT_GT(three, 0.0);
}

}  // namespace
}  // namespace regiongate::testing
