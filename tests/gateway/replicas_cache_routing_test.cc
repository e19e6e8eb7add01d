// Cache-aware routing with several replicas: the multi-turn workload of cache_routing_test.cc, sent
// in bursts (every session's turn at once, so queues form and replicas see different queue
// lengths) with each turn on a new connection, through nginx round-robin in front of 1 replica and
// then of 3 replicas. Without routing.share each worker's prefix index learns only from the
// requests it routed, so 3 replicas of 2 workers see a sixth of each conversation each; with
// routing.share (workers, and replicas through a real PostgreSQL's LISTEN/NOTIFY) they learn
// each other's routes. The backends' own cached_tokens measure the cost; the figures are reported
// (docs/operations.md "Several replicas").
#include <gtest/gtest.h>

#include <barrier>
#include <thread>

#include "../audit/pg_fixture.h"
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

uint16_t portAfter(const std::string& line, const std::string& key) {
  std::string v = line.substr(line.find(key) + key.size());
  v = v.substr(0, v.find(' '));
  return static_cast<uint16_t>(std::stoi(v.substr(v.rfind(':') + 1)));
}

// Polls a replica's metrics until its routing share is connected to the EU database (10 s).
bool shareConnected(uint16_t admin) {
  const std::string series = "regiongate_routing_share_connected{jurisdiction=\"EU\"} 1";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (int i = 0; i < 1000 && std::chrono::steady_clock::now() < deadline; ++i) {
    HttpClient c(admin);
    if (c.get("/metrics").body.find(series) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// Starts `replicas` gateways (cache-aware policy) behind nginx and runs the bursty workload.
// `share`: "" = no routing.share; else the routing.share section's value.
// Returns {cached_tokens, prompt_tokens} summed over the EU backends' own stats.
std::pair<uint64_t, uint64_t> runReplicated(int replicas, const std::string& share = "") {
  Deployment d({"--time-scale", "0.3"});
  GatewaySettings s;
  s.policy = "estimated_ttft";
  s.audit_sink = "none";
  if (!share.empty()) s.routing_extra = ", share: " + share;
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
    ports.push_back(portAfter(line, "data="));
    if (share.find("dsn") != std::string::npos)
      EXPECT_TRUE(shareConnected(portAfter(line, "admin=")));
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

double ratio(std::pair<uint64_t, uint64_t> r) {
  return r.second ? static_cast<double>(r.first) / static_cast<double>(r.second) : 0;
}

// The four set-ups, interleaved over `kRounds` rounds so a busy moment of the machine hits them
// alike; each set-up's ratio is over all its rounds.
constexpr int kRounds = 2;

TEST(ReplicatedCacheRouting, ThreeReplicasAgainstOneOnTheBackendsCachedTokens) {
  if (NginxRoundRobin::binary().empty()) GTEST_SKIP() << "nginx is not installed";
  if (!audit::testing::PgServer::available()) GTEST_SKIP() << "PostgreSQL 15 is not installed";
  audit::testing::PgServer pg;
  ASSERT_EQ(pg.start(), "");
  const std::string with_db = "{ dsn: { EU: \"" + pg.dsn() + "\" } }";
  struct Setup {
    const char* name;
    int replicas;
    std::string share;
    std::pair<uint64_t, uint64_t> sum{0, 0};
  };
  std::vector<Setup> setups = {{"1 replica", 1, ""},
                               {"1 replica (its workers share)", 1, "{}"},
                               {"3 replicas", 3, ""},
                               {"3 replicas (routing.share through PostgreSQL)", 3, with_db}};
  for (int round = 0; round < kRounds; ++round)
    for (auto& s : setups) {
      auto r = runReplicated(s.replicas, s.share);
      std::printf("round %d, %s: %.3f\n", round + 1, s.name, ratio(r));
      s.sum.first += r.first;
      s.sum.second += r.second;
    }
  ASSERT_GT(setups[0].sum.second, 0u);
  std::printf("backend-measured cached-token ratio over %d rounds:", kRounds);
  for (auto& s : setups) {
    EXPECT_EQ(setups[0].sum.second, s.sum.second) << "every run must send the same workload";
    std::printf(" %s %.3f;", s.name, ratio(s.sum));
  }
  std::printf("\n");
  RecordProperty("cached_ratio_1_replica", std::to_string(ratio(setups[0].sum)));
  RecordProperty("cached_ratio_1_replica_shared", std::to_string(ratio(setups[1].sum)));
  RecordProperty("cached_ratio_3_replicas", std::to_string(ratio(setups[2].sum)));
  RecordProperty("cached_ratio_3_replicas_shared", std::to_string(ratio(setups[3].sum)));
  EXPECT_GT(ratio(setups[2].sum), 0.0);
  // The target: with routing.share, 3 replicas are within 3 points of 1 replica.
  EXPECT_GE(ratio(setups[3].sum), ratio(setups[0].sum) - 0.03);
}

}  // namespace
}  // namespace regiongate::testing
