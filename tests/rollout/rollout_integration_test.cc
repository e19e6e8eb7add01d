// Rollouts end to end with real processes on loopback: three mock backends (eu-central-1: blue
// v1 + green v2; eu-west-1: v1) and a real `regiongate serve`. A divergent green fails the parity
// gate and is rolled back while the other region keeps serving; a faithful green is promoted;
// pre-warm raises green's cache hit rate on its first traffic (cached_tokens from the mock).
// Synchronisation is bounded polling of GET /admin/rollouts; no sleeps.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "common/hash.h"
#include "testing/http_client.h"
#include "testing/process.h"

namespace regiongate::testing {
namespace {

const std::string kKey = "sk-rollout-eu";
const std::string kModel = "llama-3.1-8b";
// Rollouts change state: they need an admin token with scope operate.
const std::string kOperateToken = "rollout-test-operate";
const std::vector<std::pair<std::string, std::string>> kAdminAuth = {
    {"authorization", "Bearer " + kOperateToken}};

struct Mock {
  std::string name, region, version;
  uint16_t port = 0;
  std::unique_ptr<ChildProcess> proc;
};

std::string jsonField(const std::string& body, const std::string& key) {
  auto k = body.find("\"" + key + "\":\"");
  if (k == std::string::npos) return "";
  k += key.size() + 4;
  return body.substr(k, body.find('"', k) - k);
}

long jsonInt(const std::string& body, const std::string& key) {
  auto k = body.find("\"" + key + "\":");
  if (k == std::string::npos) return -1;
  return std::stol(body.substr(k + key.size() + 3));
}

class RolloutDeployment {
public:
  RolloutDeployment(double green_divergence, bool prewarm) {
    dir_ = makeTempDir("rollout");
    add("fra-blue", "eu-central-1", "v1", 0);
    add("fra-green", "eu-central-1", "v2", green_divergence);
    add("dub-a", "eu-west-1", "v1", 0);
    std::ofstream(dir_ + "/suite.jsonl") << suite();
    std::ostringstream y;
    y << "listen: 127.0.0.1:0\nadmin_listen: 127.0.0.1:0\nworkers: 2\n"
      << "jurisdictions:\n  EU: { preset: EEA }\n"
      << "regions:\n  eu-central-1: { country: DE }\n  eu-west-1: { country: IE }\n"
      << "endpoints:\n";
    for (const auto& m : mocks_)
      y << "  - { name: " << m.name << ", url: \"http://127.0.0.1:" << m.port << "\", region: "
        << m.region << ", models: [" << kModel << "@" << m.version
        << "], evidence: \"header:x-inference-region\" }\n";
    y << "tenants:\n  - { name: eu-tenant, key_sha256: " << sha256Hex(kKey) << ", jurisdiction: EU }\n"
      << "routing: { policy: round_robin, retries: 1 }\n"
      << "health: { interval_ms: 0 }\n"
      << "audit: { dir: " << dir_ << "/audit, sink: sqlite }\n"
      << "rollouts:\n  - { region: eu-central-1, model: " << kModel
      << ", from: v1, to: v2, green_endpoints: [fra-green] }\n"
      << "rollout: { state_file: " << dir_ << "/state/rollouts.json, steps: [50, 100], step_ms: 150,"
      << " step_max_ms: 20000, min_requests: 5, parity_suite: " << dir_ << "/suite.jsonl,"
      << " parity_runs: 3, tick_ms: 50, discovery_interval_ms: 200, prewarm: "
      << (prewarm ? "true" : "false") << ", max_ttft_p99_ratio: 50 }\n"
      << "admin: { tokens: [ { name: ops, sha256: " << sha256Hex(kOperateToken)
      << ", scope: operate } ] }\n";
    std::ofstream(dir_ + "/gw.yaml") << y.str();
  }
  ~RolloutDeployment() {
    gateway_.reset();
    for (auto& m : mocks_) m.proc.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  static std::string suite() {
    std::string s;
    for (int i = 0; i < 6; ++i)
      s += "{\"id\":\"p" + std::to_string(i) + "\",\"jurisdiction\":\"EU\",\"model\":\"" + kModel +
           "\",\"messages\":[{\"role\":\"user\",\"content\":\"parity question number " +
           std::to_string(i) + "\"}],\"max_tokens\":16}\n";
    return s;
  }

  void add(const std::string& name, const std::string& region, const std::string& version,
           double divergence) {
    Mock m{name, region, version, 0, std::make_unique<ChildProcess>()};
    ASSERT_TRUE(m.proc->start({REGIONGATE_BIN, "mock-backend", "--region", region, "--listen",
                               "127.0.0.1:0", "--model", kModel + "@" + version, "--time-scale",
                               "0", "--divergence", std::to_string(divergence)},
                              dir_ + "/" + name + ".stderr"));
    std::string line = m.proc->waitForLine("listening ");
    ASSERT_FALSE(line.empty()) << name << " did not start";
    m.port = static_cast<uint16_t>(std::stoi(line.substr(line.rfind(':') + 1)));
    mocks_.push_back(std::move(m));
  }

  bool startGateway() {
    gateway_ = std::make_unique<ChildProcess>();
    if (!gateway_->start({REGIONGATE_BIN, "serve", "--config", dir_ + "/gw.yaml", "--log-level", "warn"},
                         dir_ + "/gateway.stderr"))
      return false;
    std::string line = gateway_->waitForLine("listening ");
    if (line.empty()) {
      std::ifstream in(dir_ + "/gateway.stderr");
      std::stringstream ss;
      ss << in.rdbuf();
      ADD_FAILURE() << "gateway did not start: " << ss.str();
      return false;
    }
    auto d = line.find("data="), a = line.find(" admin=");
    std::string data = line.substr(d + 5, a - d - 5), admin = line.substr(a + 7);
    port_ = static_cast<uint16_t>(std::stoi(data.substr(data.rfind(':') + 1)));
    admin_ = static_cast<uint16_t>(std::stoi(admin.substr(admin.rfind(':') + 1)));
    return true;
  }

  HttpReply chat(const std::string& region, const std::string& system, const std::string& user) {
    std::string body = "{\"model\":\"" + kModel + "\",\"max_tokens\":4,\"messages\":["
                       "{\"role\":\"system\",\"content\":\"" + system + "\"},"
                       "{\"role\":\"user\",\"content\":\"" + user + "\"}]}";
    HttpClient c(port_);
    return c.post("/v1/chat/completions", body,
                  {{"authorization", "Bearer " + kKey}, {"x-regiongate-region", region}});
  }

  HttpReply startRollout(const std::string& extra = "") {
    HttpClient c(admin_);
    return c.post("/admin/rollouts", "{\"region\":\"eu-central-1\",\"model\":\"" + kModel +
                                         "\",\"to\":\"v2\"" + extra + "}",
                  kAdminAuth);
  }
  std::string rolloutState() {
    HttpClient c(admin_);
    return c.get("/admin/rollouts/eu-central-1/" + kModel, kAdminAuth).body;
  }
  // Polls the rollout until its state is one of `states` (bounded: deadline and count), running
  // `between` after each poll (e.g. sending traffic). Returns the last body.
  template <class F>
  std::string waitForState(std::initializer_list<const char*> states, F between, int timeout_ms = 30000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    std::string body;
    for (int i = 0; i < 100000 && std::chrono::steady_clock::now() < deadline; ++i) {
      body = rolloutState();
      std::string st = jsonField(body, "state");
      for (const char* s : states)
        if (st == s) return body;
      between();
    }
    return body;
  }

  uint16_t admin() const { return admin_; }
  uint16_t mockPort(const std::string& name) const {
    for (const auto& m : mocks_)
      if (m.name == name) return m.port;
    return 0;
  }
  const std::string& dir() const { return dir_; }

private:
  std::string dir_;
  std::vector<Mock> mocks_;
  std::unique_ptr<ChildProcess> gateway_;
  uint16_t port_ = 0, admin_ = 0;
};

TEST(RolloutIntegration, DivergentGreenFailsParityAndRollsBackOtherRegionKeepsServing) {
  RolloutDeployment d(/*green_divergence=*/1.0, /*prewarm=*/true);
  ASSERT_TRUE(d.startGateway());
  // Before the rollout: green is staged (declared in config), so eu-central-1 serves v1 only.
  auto before = d.chat("eu-central-1", "sys", "hello");
  ASSERT_EQ(before.status, 200) << before.body;
  EXPECT_EQ(before.header("x-regiongate-model-version"), "v1");
  auto started = d.startRollout();
  ASSERT_EQ(started.status, 201) << started.body;
  int west_ok = 0, west_total = 0;
  std::string body = d.waitForState({"rolled_back", "promoted", "paused"}, [&] {
    auto r = d.chat("eu-west-1", "sys", "still serving " + std::to_string(west_total));
    ++west_total;
    if (r.status == 200 && r.header("x-regiongate-model-version") == "v1") ++west_ok;
  });
  EXPECT_EQ(jsonField(body, "state"), "rolled_back") << body;
  EXPECT_NE(body.find("parity gate failed"), std::string::npos) << body;
  EXPECT_GT(west_total, 0);
  EXPECT_EQ(west_ok, west_total) << "the other region must keep serving throughout";
  // After the rollback every eu-central-1 request is served by blue.
  for (int i = 0; i < 6; ++i) {
    auto r = d.chat("eu-central-1", "sys", "after " + std::to_string(i));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-regiongate-model-version"), "v1");
    EXPECT_EQ(r.header("x-regiongate-endpoint"), "fra-blue");
  }
  // The persisted state says so too.
  std::ifstream in(d.dir() + "/state/rollouts.json");
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_NE(ss.str().find("\"state\":\"rolled_back\""), std::string::npos) << ss.str();
}

TEST(RolloutIntegration, FaithfulGreenPassesGatesAndIsPromoted) {
  RolloutDeployment d(/*green_divergence=*/0.0, /*prewarm=*/true);
  ASSERT_TRUE(d.startGateway());
  auto started = d.startRollout();
  ASSERT_EQ(started.status, 201) << started.body;
  // A second start while one runs is refused.
  EXPECT_EQ(d.startRollout().status, 409);
  int sent = 0, green_served = 0;
  std::string body = d.waitForState({"promoted", "rolled_back", "paused"}, [&] {
    for (int k = 0; k < 4; ++k) {
      auto r = d.chat("eu-central-1", "sys", "traffic " + std::to_string(sent++));
      if (r.status == 200 && r.header("x-regiongate-model-version") == "v2") ++green_served;
    }
  });
  ASSERT_EQ(jsonField(body, "state"), "promoted") << body;
  EXPECT_NE(body.find("parity gate successful"), std::string::npos) << body;
  EXPECT_GT(green_served, 0);
  for (int i = 0; i < 4; ++i) {
    auto r = d.chat("eu-central-1", "sys", "after " + std::to_string(i));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-regiongate-model-version"), "v2");
    auto w = d.chat("eu-west-1", "sys", "west " + std::to_string(i));
    ASSERT_EQ(w.status, 200) << w.body;
    EXPECT_EQ(w.header("x-regiongate-model-version"), "v1");  // other region unaffected
  }
  HttpClient admin(d.admin());
  std::string metrics = admin.get("/metrics").body;
  EXPECT_NE(metrics.find("regiongate_model_version_skew{model=\"llama-3.1-8b\"} 1"), std::string::npos)
      << "eu-central-1 serves v2, eu-west-1 v1";
  std::string status = admin.get("/admin/status", kAdminAuth).body;
  EXPECT_NE(status.find("\"versions\":["), std::string::npos);
  EXPECT_NE(status.find("\"source\":\"discovered\""), std::string::npos) << status;
}

// Green's cache hit rate on its first traffic after the switch, from cached_tokens in the mock's
// usage (passed through by the gateway), with and without pre-warm on the same workload.
double greenFirstTrafficHitRate(bool prewarm) {
  RolloutDeployment d(0.0, prewarm);
  if (!d.startGateway()) return -1;
  std::string long_prefix;  // ~200 words: the mock tokenizes by words, blocks are 16 tokens
  for (int w = 0; w < 200; ++w) long_prefix += "policy" + std::to_string(w) + " ";
  auto system = [&](int p) { return "tenant system prompt " + std::to_string(p) + " " + long_prefix; };
  // Warm-up traffic on blue: 8 hot prefixes.
  for (int i = 0; i < 32; ++i) {
    auto r = d.chat("eu-central-1", system(i % 8), "warm " + std::to_string(i));
    EXPECT_EQ(r.status, 200);
  }
  // One step straight to 100% with a long dwell: green takes all traffic once gating passes.
  auto started = d.startRollout(",\"steps\":[100],\"step_ms\":600000");
  EXPECT_EQ(started.status, 201) << started.body;
  std::string body = d.waitForState({"shifting", "rolled_back", "paused", "promoted"}, [] {});
  EXPECT_EQ(jsonField(body, "state"), "shifting") << body;
  if (getenv("ROLLOUT_DEBUG")) std::printf("%s\n", body.c_str());
  long prompt = 0, cached = 0;
  for (int i = 0; i < 16; ++i) {
    auto r = d.chat("eu-central-1", system(i % 8), "first users " + std::to_string(i));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-regiongate-model-version"), "v2");
    prompt += jsonInt(r.body, "prompt_tokens");
    cached += jsonInt(r.body, "cached_tokens");
    if (getenv("ROLLOUT_DEBUG"))
      std::printf("%d %s %ld/%ld\n", i, r.header("x-regiongate-endpoint").c_str(),
                  jsonInt(r.body, "cached_tokens"), jsonInt(r.body, "prompt_tokens"));
  }
  return prompt > 0 ? static_cast<double>(cached) / static_cast<double>(prompt) : -1;
}

TEST(RolloutIntegration, PrewarmRaisesGreenHitRateOnFirstTraffic) {
  double cold = greenFirstTrafficHitRate(false);
  double warm = greenFirstTrafficHitRate(true);
  ASSERT_GE(cold, 0);
  ASSERT_GE(warm, 0);
  RecordProperty("hit_rate_cold", std::to_string(cold));
  RecordProperty("hit_rate_warm", std::to_string(warm));
  std::printf("green first-traffic hit rate: pre-warm off %.3f, on %.3f\n", cold, warm);
  EXPECT_GT(warm, cold + 0.2);
}

}  // namespace
}  // namespace regiongate::testing
