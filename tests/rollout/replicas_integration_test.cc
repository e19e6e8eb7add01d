// Rollouts shared by three `regiongate serve` replicas behind a real nginx (round-robin), with a
// real PostgreSQL started by the test as the shared rollout store and mock backends that log every
// request. What each replica sent where is read from the logs: nginx names the replica that
// answered each request id, the backends name the version that served it. Synchronisation is
// bounded polling of the replicas' admin API; no sleeps.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "../audit/pg_fixture.h"
#include "common/hash.h"
#include "testing/http_client.h"
#include "testing/nginx_lb.h"
#include "testing/process.h"

namespace regiongate::testing {
namespace {

using audit::testing::PgServer;

const std::string kKey = "sk-replicas-eu";
const std::string kModel = "llama-3.1-8b";
const std::string kOperateToken = "replicas-test-operate";
const std::vector<std::pair<std::string, std::string>> kAdminAuth = {
    {"authorization", "Bearer " + kOperateToken}};

std::string jsonField(const std::string& body, const std::string& key, size_t from = 0) {
  auto k = body.find("\"" + key + "\":\"", from);
  if (k == std::string::npos) return "";
  k += key.size() + 4;
  return body.substr(k, body.find('"', k) - k);
}

long jsonInt(const std::string& body, const std::string& key) {
  auto k = body.find("\"" + key + "\":");
  if (k == std::string::npos) return -1;
  return std::stol(body.substr(k + key.size() + 3));
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Mock {
  std::string name, version, log;
  uint16_t port = 0;
  std::unique_ptr<ChildProcess> proc;
};

struct Replica {
  std::string id;
  uint16_t port = 0, admin = 0;
  std::unique_ptr<ChildProcess> proc;
};

struct GreenSpec {
  bool slow = false;  // TTFT ~60 ms against blue's ~0 ms: the TTFT gate must fail
};

class ReplicatedDeployment {
public:
  explicit ReplicatedDeployment(GreenSpec green) {
    dir_ = makeTempDir("replicas");
    if (!PgServer::available()) {
      skip_ = "PostgreSQL 15 is not installed";
      return;
    }
    if (NginxRoundRobin::binary().empty()) {
      skip_ = "nginx is not installed";
      return;
    }
    std::string err = pg_.start();
    if (!err.empty()) {
      ADD_FAILURE() << err;
      return;
    }
    addMock("fra-blue", "v1", {"--time-scale", "0"});
    if (green.slow)
      addMock("fra-green", "v2", {"--time-scale", "1", "--ttft-fixed-ms", "60",
                                  "--prefill-ms-per-token", "0", "--decode-ms-per-token", "0.1"});
    else
      addMock("fra-green", "v2", {"--time-scale", "0"});
    std::ofstream(dir_ + "/suite.jsonl") << suite();
  }
  ~ReplicatedDeployment() {
    lb_.reset();
    for (auto& r : replicas_) r.proc.reset();
    for (auto& m : mocks_) m.proc.reset();
    pg_.stop();
    std::error_code ec;
    if (!getenv("REPLICAS_DEBUG")) std::filesystem::remove_all(dir_, ec);
  }

  const std::string& skipReason() const { return skip_; }
  PgServer& pg() { return pg_; }

  static std::string suite() {
    std::string s;
    for (int i = 0; i < 4; ++i)
      s += "{\"id\":\"p" + std::to_string(i) + "\",\"jurisdiction\":\"EU\",\"model\":\"" + kModel +
           "\",\"messages\":[{\"role\":\"user\",\"content\":\"parity question " + std::to_string(i) +
           "\"}],\"max_tokens\":8}\n";
    return s;
  }

  void addMock(const std::string& name, const std::string& version, std::vector<std::string> extra) {
    Mock m{name, version, dir_ + "/" + name + ".requests.jsonl", 0, std::make_unique<ChildProcess>()};
    std::vector<std::string> argv = {REGIONGATE_BIN, "mock-backend", "--region", "eu-central-1",
                                     "--listen", "127.0.0.1:0", "--model", kModel + "@" + version,
                                     "--request-log", m.log};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ASSERT_TRUE(m.proc->start(argv, dir_ + "/" + name + ".stderr"));
    std::string line = m.proc->waitForLine("listening ");
    ASSERT_FALSE(line.empty()) << name << " did not start";
    m.port = static_cast<uint16_t>(std::stoi(line.substr(line.rfind(':') + 1)));
    mocks_.push_back(std::move(m));
  }

  // A faithful green's TTFT is sub-millisecond here, like blue's, and scheduler noise on a busy
  // machine moves it by more than the default ratio's 1 ms of slack: the tests that expect a
  // promotion pass max_ttft_p99_ratio: 50 (the rank test still compares the two).
  std::string config(const std::string& replica_id, const std::string& rollout_extra) const {
    std::ostringstream y;
    y << "listen: 127.0.0.1:0\nadmin_listen: 127.0.0.1:0\nworkers: 1\n"
      << "jurisdictions:\n  EU: { preset: EEA }\nregions:\n  eu-central-1: { country: DE }\n"
      << "endpoints:\n";
    for (const auto& m : mocks_)
      y << "  - { name: " << m.name << ", url: \"http://127.0.0.1:" << m.port
        << "\", region: eu-central-1, models: [" << kModel << "@" << m.version
        << "], evidence: \"header:x-inference-region\" }\n";
    y << "tenants:\n  - { name: eu-tenant, key_sha256: " << sha256Hex(kKey) << ", jurisdiction: EU }\n"
      << "routing: { policy: round_robin, retries: 1 }\nhealth: { interval_ms: 0 }\n"
      // The spills in the audit directory, not /dev/shm: a replica the test SIGKILLs leaves
      // them, and they go with the test's directory.
      << "audit: { dir: " << dir_ << "/audit-" << replica_id << ", sink: sqlite, replica_id: "
      << replica_id << ", spill_dir: " << dir_ << "/audit-" << replica_id << " }\n"
      << "rollouts:\n  - { region: eu-central-1, model: " << kModel
      << ", from: v1, to: v2, green_endpoints: [fra-green] }\n"
      << "rollout: { store_dsn: \"" << pg_.dsn() << "\", tick_ms: 50, lease_ms: 1000,"
      << " store_timeout_ms: 1000, parity_suite: " << dir_ << "/suite.jsonl, parity_runs: 2,"
      << " prewarm: false, discovery_interval_ms: 0, step_max_ms: 120000" << rollout_extra << " }\n"
      << "admin: { tokens: [ { name: ops, sha256: " << sha256Hex(kOperateToken)
      << ", scope: operate } ] }\n";
    return y.str();
  }

  // Starts three replicas (r1, r2, r3) and nginx in front of them.
  bool start(const std::string& rollout_extra) {
    for (int i = 1; i <= 3; ++i)
      if (!startReplica("r" + std::to_string(i), rollout_extra)) return false;
    lb_ = std::make_unique<NginxRoundRobin>();
    std::vector<uint16_t> ports;
    for (const auto& r : replicas_) ports.push_back(r.port);
    return lb_->start(ports);
  }

  bool startReplica(const std::string& id, const std::string& rollout_extra) {
    std::string cfg = dir_ + "/" + id + ".yaml";
    std::ofstream(cfg) << config(id, rollout_extra);
    Replica r{id, 0, 0, std::make_unique<ChildProcess>()};
    std::string err = dir_ + "/" + id + ".stderr";
    if (!r.proc->start({REGIONGATE_BIN, "serve", "--config", cfg, "--log-level", "info"}, err))
      return false;
    std::string line = r.proc->waitForLine("listening ");
    if (line.empty()) {
      ADD_FAILURE() << id << " did not start: " << readFile(err);
      return false;
    }
    auto d = line.find("data="), a = line.find(" admin=");
    std::string data = line.substr(d + 5, a - d - 5), admin = line.substr(a + 7);
    r.port = static_cast<uint16_t>(std::stoi(data.substr(data.rfind(':') + 1)));
    r.admin = static_cast<uint16_t>(std::stoi(admin.substr(admin.rfind(':') + 1)));
    replicas_.push_back(std::move(r));
    return true;
  }

  Replica& replica(const std::string& id) {
    for (auto& r : replicas_)
      if (r.id == id) return r;
    return replicas_.front();
  }
  std::vector<Replica*> live() {
    std::vector<Replica*> out;
    for (auto& r : replicas_)
      if (r.proc && r.proc->running()) out.push_back(&r);
    return out;
  }
  std::string stderrOf(const std::string& id) const { return readFile(dir_ + "/" + id + ".stderr"); }

  // One chat request through nginx; returns the status.
  int chat(int i) {
    std::string body = "{\"model\":\"" + kModel + "\",\"max_tokens\":4,\"messages\":["
                       "{\"role\":\"user\",\"content\":\"replicated request " + std::to_string(i) +
                       "\"}]}";
    HttpClient c(lb_->port());
    return c.post("/v1/chat/completions", body, {{"authorization", "Bearer " + kKey}}).status;
  }

  HttpReply startRollout(Replica& via, const std::string& extra = "") {
    HttpClient c(via.admin);
    return c.post("/admin/rollouts",
                  "{\"region\":\"eu-central-1\",\"model\":\"" + kModel + "\",\"to\":\"v2\"" + extra + "}",
                  kAdminAuth);
  }
  std::string rollout(Replica& r) {
    HttpClient c(r.admin, 3000);
    return c.get("/admin/rollouts/eu-central-1/" + kModel, kAdminAuth).body;
  }
  std::string status(Replica& r) {
    HttpClient c(r.admin, 3000);
    return c.get("/admin/status", kAdminAuth).body;
  }
  std::string readyz(Replica& r) {
    HttpClient c(r.admin, 3000);
    return c.get("/readyz").body;
  }

  // Polls until every live replica reports a state in `states` (bounded), running `between`
  // after each round (e.g. traffic). Returns true when they all did.
  template <class F>
  bool waitAll(std::initializer_list<const char*> states, F between, int timeout_ms = 60000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (int i = 0; i < 100000 && std::chrono::steady_clock::now() < deadline; ++i) {
      bool all = !live().empty();
      for (auto* r : live()) {
        std::string st = jsonField(rollout(*r), "state");
        bool in = false;
        for (const char* s : states) in = in || st == s;
        all = all && in;
      }
      if (all) return true;
      between();
    }
    return false;
  }

  // nginx writes a request's log line after the client has its answer: waits (bounded) until
  // `requests` lines are there.
  bool waitLogged(size_t requests) const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (int i = 0; i < 100000 && std::chrono::steady_clock::now() < deadline; ++i)
      if (lb_->accessLog().size() >= requests) return true;
    return false;
  }

  // Per replica id: how many of its requests (nginx's log) each version served (the backends'
  // logs, joined on the request id).
  std::map<std::string, std::map<std::string, int>> versionsByReplica() const {
    std::map<std::string, std::string> version_of_request;
    for (const auto& m : mocks_) {
      std::ifstream in(m.log);
      std::string line;
      while (std::getline(in, line)) version_of_request[jsonField(line, "request_id")] = m.version;
    }
    std::map<uint16_t, std::string> replica_of_port;
    for (const auto& r : replicas_) replica_of_port[r.port] = r.id;
    std::map<std::string, std::map<std::string, int>> out;
    for (const auto& l : lb_->accessLog()) {
      auto v = version_of_request.find(l.request_id);
      if (l.status == 200 && v != version_of_request.end())
        ++out[replica_of_port[l.upstream]][v->second];
    }
    return out;
  }

private:
  std::string dir_, skip_;
  PgServer pg_;
  std::vector<Mock> mocks_;
  std::vector<Replica> replicas_;
  std::unique_ptr<NginxRoundRobin> lb_;
};

// The lease of the rollout as a replica's /admin/status shows it.
std::string leaseHolder(const std::string& status) {
  auto l = status.find("\"leases\":[");
  return l == std::string::npos ? "" : jsonField(status, "holder", l);
}

TEST(ReplicatedRollout, StartedThroughOneReplicaShiftsAllAndSurvivesTheLeaseHolderDying) {
  ReplicatedDeployment d(GreenSpec{});
  if (!d.skipReason().empty()) GTEST_SKIP() << d.skipReason();
  ASSERT_TRUE(d.start(", steps: [50, 100], step_ms: 1500, min_requests: 10, max_ttft_p99_ratio: 50"));
  auto started = d.startRollout(d.replica("r1"));
  ASSERT_EQ(started.status, 201) << started.body;
  // A second start through another replica meets the first in the store.
  auto again = d.startRollout(d.replica("r2"));
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_NE(again.body.find("rollout_in_progress"), std::string::npos) << again.body;
  int sent = 0;
  auto traffic = [&] { EXPECT_EQ(d.chat(sent++), 200); };
  ASSERT_TRUE(d.waitAll({"shifting"}, [] {})) << d.rollout(d.replica("r3"));
  for (int i = 0; i < 45; ++i) traffic();
  ASSERT_TRUE(d.waitLogged(static_cast<size_t>(sent)));
  auto by = d.versionsByReplica();
  ASSERT_EQ(by.size(), 3u);
  for (auto& [id, versions] : by) {
    EXPECT_GT(versions["v2"], 0) << id << " sent nothing to green";
    EXPECT_GT(versions["v1"], 0) << id << " sent nothing to blue at 50 %";
  }
  // The store knows every replica and its last report.
  std::string status = d.status(d.replica("r3"));
  for (const char* id : {"r1", "r2", "r3"})
    EXPECT_NE(status.find(std::string("{\"replica_id\":\"") + id + "\",\"last_report_age_ms\":"),
              std::string::npos) << status;
  // Kill the lease holder without letting it release anything.
  std::string holder;
  for (int i = 0; i < 200 && holder.empty(); ++i) holder = leaseHolder(d.status(d.replica("r2")));
  ASSERT_FALSE(holder.empty()) << d.status(d.replica("r2"));
  std::string before = d.rollout(d.replica(holder));
  ASSERT_EQ(jsonField(before, "state"), "shifting") << "the rollout must still be running";
  d.replica(holder).proc->signal(SIGKILL);
  ASSERT_GE(d.replica(holder).proc->wait(5000), 0);
  ASSERT_TRUE(d.waitAll({"promoted", "rolled_back", "paused"}, traffic)) << d.rollout(*d.live().front());
  for (auto* r : d.live()) {
    std::string body = d.rollout(*r);
    EXPECT_EQ(jsonField(body, "state"), "promoted") << r->id << ": " << body;
    EXPECT_NE(body.find("pooled from"), std::string::npos) << body;
  }
  ASSERT_EQ(d.live().size(), 2u) << "only the killed replica may be gone";
  std::string after = leaseHolder(d.status(*d.live().front()));
  EXPECT_NE(after, holder) << "the lease passed to a live replica";
  std::string log;
  for (auto* r : d.live()) log += d.stderrOf(r->id);
  EXPECT_NE(log.find("holds the gate lease (was '" + holder + "')"), std::string::npos) << log;
  // Every surviving replica now sends everything to green.
  ASSERT_TRUE(d.waitLogged(static_cast<size_t>(sent)));
  size_t before_count = 0;
  for (auto& [id, v] : d.versionsByReplica()) before_count += static_cast<size_t>(v["v1"]);
  for (int i = 0; i < 6; ++i) traffic();
  ASSERT_TRUE(d.waitLogged(static_cast<size_t>(sent)));
  size_t after_count = 0;
  for (auto& [id, v] : d.versionsByReplica()) after_count += static_cast<size_t>(v["v1"]);
  EXPECT_EQ(after_count, before_count) << "blue served traffic after the promotion";
}

TEST(ReplicatedRollout, SlowGreenIsRolledBackByGatesOnEveryReplicasTraffic) {
  ReplicatedDeployment d(GreenSpec{true});
  if (!d.skipReason().empty()) GTEST_SKIP() << d.skipReason();
  // 30 samples: no replica alone sees that many green requests before the others add theirs.
  ASSERT_TRUE(d.start(", steps: [50, 100], step_ms: 300, min_requests: 30"));
  ASSERT_EQ(d.startRollout(d.replica("r2")).status, 201);
  int sent = 0;
  ASSERT_TRUE(d.waitAll({"rolled_back", "promoted", "paused"}, [&] { EXPECT_EQ(d.chat(sent++), 200); },
                        120000));
  ASSERT_EQ(d.live().size(), 3u);
  ASSERT_TRUE(d.waitLogged(static_cast<size_t>(sent)));
  std::string body = d.rollout(d.replica("r1"));
  ASSERT_EQ(jsonField(body, "state"), "rolled_back") << body;
  ASSERT_NE(body.find("ttft_p99 gate failed"), std::string::npos) << body;
  EXPECT_NE(body.find("pooled from 3 replica(s)"), std::string::npos) << body;
  // The failing gate counted more green samples than any one replica sent to green.
  auto at = body.find("green TTFT p99");
  ASSERT_NE(at, std::string::npos);
  long samples = std::stol(body.substr(body.find(" over ", at) + 6));
  auto by = d.versionsByReplica();
  ASSERT_EQ(by.size(), 3u);
  int most = 0;
  for (auto& [id, v] : by) most = std::max(most, v["v2"]);
  EXPECT_GE(samples, 30);
  EXPECT_GT(samples, most) << "the gate must have pooled the replicas' reports";
}

TEST(ReplicatedRollout, AbortThroughAnotherReplicaIsFollowedByAll) {
  ReplicatedDeployment d(GreenSpec{});
  if (!d.skipReason().empty()) GTEST_SKIP() << d.skipReason();
  ASSERT_TRUE(d.start(", steps: [50, 100], step_ms: 60000, min_requests: 5, max_ttft_p99_ratio: 50"));
  ASSERT_EQ(d.startRollout(d.replica("r1")).status, 201);
  ASSERT_TRUE(d.waitAll({"shifting"}, [] {}));
  HttpClient admin(d.replica("r3").admin);
  auto aborted = admin.post("/admin/rollouts/eu-central-1/" + kModel + "/abort", "", kAdminAuth);
  ASSERT_EQ(aborted.status, 200) << aborted.body;
  EXPECT_EQ(jsonField(aborted.body, "state"), "rolled_back");
  // Followed by every replica within the documented delay (one tick, 50 ms here; bounded at 5 s).
  ASSERT_TRUE(d.waitAll({"rolled_back"}, [] {}, 5000));
  size_t green_before = 0;
  for (auto& [id, v] : d.versionsByReplica()) green_before += static_cast<size_t>(v["v2"]);
  int sent = 0;
  for (int i = 0; i < 9; ++i) EXPECT_EQ(d.chat(sent++), 200);
  ASSERT_TRUE(d.waitLogged(9));
  size_t green_after = 0, total = 0;
  for (auto& [id, v] : d.versionsByReplica()) {
    green_after += static_cast<size_t>(v["v2"]);
    total += static_cast<size_t>(v["v1"] + v["v2"]);
  }
  EXPECT_EQ(green_after, green_before) << "no replica may send traffic to green after the abort";
  EXPECT_GE(total, 9u);
}

TEST(ReplicatedRollout, StoreDownFreezesTheRolloutEveryReplicaServesAndItResumes) {
  ReplicatedDeployment d(GreenSpec{});
  if (!d.skipReason().empty()) GTEST_SKIP() << d.skipReason();
  ASSERT_TRUE(d.start(", steps: [50, 100], step_ms: 600, min_requests: 5, max_ttft_p99_ratio: 50"));
  ASSERT_EQ(d.startRollout(d.replica("r3")).status, 201);
  ASSERT_TRUE(d.waitAll({"shifting"}, [] {}));
  d.pg().stop();
  // Every replica notices and says so on /readyz, which stays ready: it keeps serving.
  int sent = 0;
  bool all_down = false;
  for (int i = 0; i < 2000 && !all_down; ++i) {
    all_down = true;
    for (auto* r : d.live()) all_down = all_down && d.readyz(*r).find("\"rollout_store\":\"unavailable\"") != std::string::npos;
  }
  ASSERT_TRUE(all_down);
  ASSERT_EQ(d.live().size(), 3u);
  for (auto* r : d.live()) EXPECT_NE(d.readyz(*r).find("\"ready\":true"), std::string::npos);
  std::map<std::string, std::string> frozen;
  for (auto* r : d.live()) frozen[r->id] = jsonField(d.rollout(*r), "state") + "/" +
                                            std::to_string(jsonInt(d.rollout(*r), "step"));
  // Traffic for well over two step dwells (600 ms): every request answered, nothing advances.
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2000);
  int down_ok = 0, down_sent = 0;
  for (int i = 0; i < 100000 && std::chrono::steady_clock::now() < until; ++i, ++down_sent)
    if (d.chat(sent++) == 200) ++down_ok;
  EXPECT_GT(down_sent, 10);
  EXPECT_EQ(down_ok, down_sent);
  for (auto* r : d.live()) {
    std::string body = d.rollout(*r);
    EXPECT_EQ(jsonField(body, "state") + "/" + std::to_string(jsonInt(body, "step")), frozen[r->id])
        << r->id << " advanced without the store: " << body;
    HttpClient admin(r->admin);
    EXPECT_NE(admin.get("/metrics").body.find("regiongate_rollout_store_up 0"), std::string::npos);
    EXPECT_NE(d.status(*r).find("\"state\":\"unavailable\""), std::string::npos);
  }
  for (auto& [id, v] : d.versionsByReplica()) EXPECT_GT(v["v2"], 0) << id;
  ASSERT_EQ(d.pg().start(), "");
  ASSERT_TRUE(d.waitAll({"promoted", "rolled_back", "paused"}, [&] { EXPECT_EQ(d.chat(sent++), 200); }));
  ASSERT_EQ(d.live().size(), 3u) << "every replica must survive the store's outage";
  for (auto* r : d.live()) {
    EXPECT_EQ(jsonField(d.rollout(*r), "state"), "promoted") << d.rollout(*r);
    EXPECT_NE(d.readyz(*r).find("\"rollout_store\":\"up\""), std::string::npos);
  }
}

}  // namespace
}  // namespace regiongate::testing
