// Routing knowledge shared between replicas through PostgreSQL LISTEN/NOTIFY (routing.share):
// a conversation's first turn routed by replica A makes replica B send the next turn to the same
// backend, checked from the backends' request logs; only the jurisdiction's own routes reach
// its channel. A real PostgreSQL server, real gateway processes and mock backends on loopback.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <poll.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "../audit/pg_fixture.h"
#include "gateway_fixture.h"

namespace regiongate::testing {
namespace {

using audit::testing::PgServer;

struct Replica {
  std::unique_ptr<ChildProcess> proc;
  uint16_t port = 0, admin = 0;
};

uint16_t portAfter(const std::string& line, const std::string& key) {
  auto k = line.find(key);
  if (k == std::string::npos) return 0;
  std::string v = line.substr(k + key.size());
  v = v.substr(0, v.find(' '));
  return static_cast<uint16_t>(std::stoi(v.substr(v.rfind(':') + 1)));
}

Replica startReplica(const Deployment& d, const std::string& yaml, const std::string& name) {
  Replica r;
  const std::string path = d.dir() + "/" + name + ".yaml";
  std::ofstream(path) << yaml;
  r.proc = std::make_unique<ChildProcess>();
  EXPECT_TRUE(r.proc->start({REGIONGATE_BIN, "serve", "--config", path, "--log-level", "warn"},
                            d.dir() + "/" + name + ".stderr"));
  std::string line = r.proc->waitForLine("listening ");
  EXPECT_FALSE(line.empty()) << Deployment::readFile(d.dir() + "/" + name + ".stderr");
  r.port = portAfter(line, "data=");
  r.admin = portAfter(line, "admin=");
  return r;
}

double metricValue(uint16_t admin, const std::string& series) {
  HttpClient c(admin);
  std::istringstream in(c.get("/metrics").body);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(series + " ", 0) == 0)
      return std::strtod(line.c_str() + series.size() + 1, nullptr);
  return 0;
}

std::string shareMetrics(uint16_t admin) {
  HttpClient c(admin);
  std::istringstream in(c.get("/metrics").body);
  std::string line, out;
  while (std::getline(in, line))
    if (line.rfind("regiongate_routing_share", 0) == 0) out += line + "\n";
  return out;
}

// Polls a replica's metric until it reaches `at_least` (bounded: 10 s).
bool waitForMetric(uint16_t admin, const std::string& series, double at_least) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (int i = 0; i < 1000 && std::chrono::steady_clock::now() < deadline; ++i) {
    if (metricValue(admin, series) >= at_least) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// A config without the named endpoints' lines (replica A sees a subset, in another order of
// indexes than replica B: routes travel by endpoint name).
std::string without(std::string yaml, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    auto k = yaml.find(std::string("  - { name: ") + n + ",");
    if (k != std::string::npos) yaml.erase(k, yaml.find('\n', k) + 1 - k);
  }
  return yaml;
}

HttpReply post(uint16_t port, const std::string& key, const std::string& messages) {
  HttpClient c(port);
  return c.post("/v1/chat/completions",
                R"({"model":"llama-3.1-8b","max_tokens":4,"messages":[)" + messages + "]}",
                {{"authorization", "Bearer " + key}});
}

// Everything NOTIFYed on a channel, read by the test's own connection.
class ChannelTap {
public:
  ChannelTap(const std::string& dsn, const std::string& channel) {
    conn_ = PQconnectdb(dsn.c_str());
    PQclear(PQexec(conn_, ("LISTEN \"" + channel + "\"").c_str()));
  }
  ~ChannelTap() { PQfinish(conn_); }
  std::vector<std::string> payloads() {
    PQconsumeInput(conn_);
    while (PGnotify* n = PQnotifies(conn_)) {
      got_.emplace_back(n->extra);
      PQfreemem(n);
    }
    return got_;
  }

private:
  PGconn* conn_ = nullptr;
  std::vector<std::string> got_;
};

class RouteShareTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (!PgServer::available()) GTEST_SKIP() << "PostgreSQL 15 is not installed";
    std::string err = pg_.start();
    ASSERT_EQ(err, "");
  }
  // estimated_ttft, no audit, the EU's routes shared through this test's database.
  GatewaySettings sharingSettings() const {
    GatewaySettings s;
    s.policy = "estimated_ttft";
    s.audit_sink = "none";
    s.routing_extra = ", share: { dsn: { EU: \"" + pg_.dsn() + "\" }, flush_ms: 5 }";
    return s;
  }
  PgServer pg_;
};

TEST_F(RouteShareTest, ATurnRoutedByOneReplicaSteersTheNextTurnOnAnother) {
  Deployment d;
  const GatewaySettings s = sharingSettings();
  ChannelTap eu_tap(pg_.dsn(), "regiongate_routes_EU");
  ChannelTap us_tap(pg_.dsn(), "regiongate_routes_US");
  // A knows only dub-a in the EU; B knows all three EU backends and, knowing nothing about a
  // prompt, picks its first (fra-a): only a shared route can send B's turn to dub-a.
  Replica a = startReplica(d, without(d.configYaml(s), {"fra-a", "fra-b"}), "a");
  Replica b = startReplica(d, d.configYaml(s), "b");
  const std::string connected = "regiongate_routing_share_connected{jurisdiction=\"EU\"}";
  ASSERT_TRUE(waitForMetric(a.admin, connected, 1));
  ASSERT_TRUE(waitForMetric(b.admin, connected, 1));

  // Over 3 prefix blocks (block_chars 256): a prompt shorter than one block has no hash to share.
  std::string convo = R"({"role":"system","content":"You are the assistant of the shared-routes )"
                      R"(test. Answer briefly, cite the policy section, never guess anything. )" +
                      std::string(600, 's') +
                      R"("},{"role":"user","content":"A first question about transfer limits and )"
                      R"(fees on savings accounts, long enough for a few prefix blocks."})";
  ASSERT_EQ(post(a.port, kEuKey, convo).status, 200);
  const auto answered = std::chrono::steady_clock::now();
  ASSERT_EQ(d.requestIdsAt("dub-a").size(), 1u);
  const std::string received = "regiongate_routing_share_received_total{jurisdiction=\"EU\"}";
  ASSERT_TRUE(waitForMetric(b.admin, received, 1))
      << "B never received A's route; A's share metrics:\n" << shareMetrics(a.admin);
  std::printf("B learned A's route %.1f ms after A answered (polled every 10 ms)\n",
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - answered)
                  .count());
  // A US request through A (several blocks long): A's workers learn it, but with no US database
  // configured it must reach no channel, the EU one least of all.
  ASSERT_EQ(post(a.port, kUsKey,
                 R"({"role":"user","content":"A US question about fees. )" + std::string(600, 'u') +
                     R"("})")
                .status,
            200);
  ASSERT_TRUE(waitForMetric(a.admin, "regiongate_routing_share_local_total", 2))
      << "A's share thread did not take the US route";

  convo += R"(,{"role":"assistant","content":"Answer 1."},{"role":"user","content":"And the )"
           R"(second question, about fees abroad?"})";
  ASSERT_EQ(post(b.port, kEuKey, convo).status, 200);
  EXPECT_EQ(d.requestIdsAt("dub-a").size(), 2u) << "B did not follow A's route";
  EXPECT_TRUE(d.requestIdsAt("fra-a").empty());
  EXPECT_TRUE(d.requestIdsAt("fra-b").empty());

  // B's own route came back to A: both replicas published, each ignored its own payloads.
  ASSERT_TRUE(waitForMetric(a.admin, received, 1));
  EXPECT_GE(metricValue(a.admin, "regiongate_routing_share_published_total{jurisdiction=\"EU\"}"),
            1);
  auto eu = eu_tap.payloads();
  ASSERT_FALSE(eu.empty());
  for (const auto& p : eu) {
    EXPECT_TRUE(p.find(" EU\n") != std::string::npos) << p;
    EXPECT_EQ(p.find("iad-a"), std::string::npos) << p;
    EXPECT_EQ(p.find("pdx-a"), std::string::npos) << p;
  }
  EXPECT_TRUE(us_tap.payloads().empty()) << "US routes were published without a US database";
}

// Peer input: a malformed payload and a route naming an endpoint B does not have are counted
// and ignored; B keeps serving.
TEST_F(RouteShareTest, MalformedPeerPayloadsAreCountedAndIgnored) {
  Deployment d;
  const GatewaySettings s = sharingSettings();
  Replica b = startReplica(d, d.configYaml(s), "b");
  ASSERT_TRUE(
      waitForMetric(b.admin, "regiongate_routing_share_connected{jurisdiction=\"EU\"}", 1));
  auto notify = [&](const std::string& payload) {
    return pg_.exec("SELECT pg_notify('regiongate_routes_EU', '" + payload + "')");
  };
  EXPECT_EQ(notify("rg-routes 1 x EU\nm\te\tzz\n"), "");          // not a hash
  EXPECT_EQ(notify("rg-routes 1 x US\nm\tfra-a\t1\n"), "");       // another jurisdiction
  EXPECT_EQ(notify("rg-routes 1 x EU\nllama-3.1-8b\tnowhere\t1,2\n"), "");  // unknown endpoint
  const std::string dropped = "regiongate_routing_share_dropped_total";
  EXPECT_TRUE(waitForMetric(b.admin, dropped + "{reason=\"invalid_payload\"}", 2));
  EXPECT_TRUE(waitForMetric(b.admin, dropped + "{reason=\"unknown_endpoint\"}", 1));
  EXPECT_EQ(post(b.port, kEuKey, R"({"role":"user","content":"still serving?"})").status, 200);
}

// The database down: the replica keeps serving on local knowledge and says so in metrics.
TEST_F(RouteShareTest, ServingGoesOnWhileTheDatabaseIsDown) {
  Deployment d;
  const GatewaySettings s = sharingSettings();
  Replica b = startReplica(d, d.configYaml(s), "b");
  const std::string connected = "regiongate_routing_share_connected{jurisdiction=\"EU\"}";
  ASSERT_TRUE(waitForMetric(b.admin, connected, 1));
  pg_.stop();
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(post(b.port, kEuKey, R"({"role":"user","content":"served while down"})").status, 200);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (metricValue(b.admin, connected) != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(metricValue(b.admin, connected), 0);
  ASSERT_EQ(pg_.start(), "");
  EXPECT_TRUE(waitForMetric(b.admin, connected, 1)) << "did not reconnect";
}

}  // namespace
}  // namespace regiongate::testing
