#pragma once
// A real deployment on loopback for integration tests: five mock backends (EU: two in
// eu-central-1, one in eu-west-1; US: us-east-1, us-west-2), each a real `regiongate mock-backend`
// process with a request log, and a real `regiongate serve` in front of them. Tests check what
// the backends themselves received.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "common/hash.h"
#include "testing/http_client.h"
#include "testing/process.h"

namespace regiongate::testing {

inline const std::string kEuKey = "sk-test-eu";
inline const std::string kUsKey = "sk-test-us";
// Admin bearer tokens of adminTokensYaml(): one per scope.
inline const std::string kAdminOperateToken = "rg-admin-operate-test";
inline const std::string kAdminReadToken = "rg-admin-read-test";

// An `admin:` block with an operate token (named ops) and a read token (named viewer). Changes
// through the admin listener (POST /admin/reload, /admin/rollouts) need the operate one.
inline std::string adminTokensYaml() {
  return "admin:\n  tokens:\n    - { name: ops, sha256: " + sha256Hex(kAdminOperateToken) +
         ", scope: operate }\n    - { name: viewer, sha256: " + sha256Hex(kAdminReadToken) +
         ", scope: read }\n";
}
inline std::vector<std::pair<std::string, std::string>> adminAuth(const std::string& token) {
  return {{"authorization", "Bearer " + token}};
}

struct Backend {
  std::string name, region, jurisdiction, log;
  uint16_t port = 0;
  std::unique_ptr<ChildProcess> proc;
  std::vector<std::string> argv;  // as started (listen port 0); restarts reuse `port`
};

struct GatewaySettings {
  std::string on_violation = "alert";
  uint32_t retries = 2;
  uint32_t per_try_timeout_ms = 800;
  uint32_t health_interval_ms = 0;  // active checks off unless a test wants them
  uint32_t base_ejection_ms = 60000;
  uint32_t max_ejection_ms = 120000;
  uint64_t max_body_bytes = 65536;
  uint32_t read_timeout_ms = 1000;
  std::string evidence = "header:x-inference-region";
  std::string policy = "round_robin";
  std::string audit_sink = "sqlite";
  std::string audit_extra;  // extra keys inside `audit: { ... }`, e.g. ", wait_durable: false"
  std::string limits_extra;  // extra keys inside `limits: { ... }`, e.g. ", max_connections: 9"
  std::string routing_extra;  // extra keys inside `routing: { ... }`, e.g. ", share: {}"
  std::string extra_yaml;
  std::string admin_yaml;  // e.g. adminTokensYaml(); "" = no tokens (reads open, changes 403)
  std::string log_level = "warn";
};

class Deployment {
public:
  explicit Deployment(std::vector<std::string> backend_extra_args = {}) {
    dir_ = makeTempDir("gw");
    struct Spec { const char* name; const char* region; const char* j; };
    for (auto s : {Spec{"fra-a", "eu-central-1", "EU"}, Spec{"fra-b", "eu-central-1", "EU"},
                   Spec{"dub-a", "eu-west-1", "EU"}, Spec{"iad-a", "us-east-1", "US"},
                   Spec{"pdx-a", "us-west-2", "US"}}) {
      Backend b{s.name, s.region, s.j, dir_ + "/" + s.name + ".log", 0, std::make_unique<ChildProcess>()};
      std::vector<std::string> argv = {REGIONGATE_BIN, "mock-backend", "--region", b.region,
                                       "--listen", "127.0.0.1:0", "--model", "llama-3.1-8b@v1",
                                       "--request-log", b.log};
      bool scaled = false;
      for (const auto& a : backend_extra_args) scaled = scaled || a == "--time-scale";
      if (!scaled) argv.insert(argv.end(), {"--time-scale", "0"});
      for (const auto& a : backend_extra_args) argv.push_back(a);
      b.argv = argv;
      EXPECT_TRUE(b.proc->start(argv, dir_ + "/" + b.name + ".stderr"));
      std::string line = b.proc->waitForLine("listening ");
      EXPECT_FALSE(line.empty()) << "mock backend " << b.name << " did not start: "
                                 << readFile(dir_ + "/" + b.name + ".stderr");
      if (!line.empty()) b.port = static_cast<uint16_t>(std::stoi(line.substr(line.rfind(':') + 1)));
      backends_.push_back(std::move(b));
    }
  }
  ~Deployment() {
    gateway_.reset();
    for (auto& b : backends_) b.proc.reset();
  }

  std::string configYaml(const GatewaySettings& s) const {
    std::ostringstream y;
    y << "listen: 127.0.0.1:0\nadmin_listen: 127.0.0.1:0\nworkers: 2\n"
      << "jurisdictions:\n  EU: { preset: EEA }\n  US: { countries: [US] }\n"
      << "regions:\n  eu-central-1: { country: DE }\n  eu-west-1: { country: IE }\n"
      << "  us-east-1: { country: US }\n  us-west-2: { country: US }\nendpoints:\n";
    for (const auto& b : backends_)
      y << "  - { name: " << b.name << ", url: \"http://127.0.0.1:" << b.port << "\", region: "
        << b.region << ", models: [llama-3.1-8b@v1], evidence: \"" << s.evidence << "\" }\n";
    y << "tenants:\n  - { name: eu-tenant, key_sha256: " << sha256Hex(kEuKey) << ", jurisdiction: EU }\n"
      << "  - { name: us-tenant, key_sha256: " << sha256Hex(kUsKey) << ", jurisdiction: US }\n"
      << "routing: { policy: " << s.policy << ", retries: " << s.retries
      << ", per_try_timeout_ms: " << s.per_try_timeout_ms << ", upstream_timeout_ms: 10000"
      << s.routing_extra << " }\n"
      << "health: { consecutive_failures: 2, base_ejection_ms: " << s.base_ejection_ms
      << ", max_ejection_ms: " << s.max_ejection_ms << ", interval_ms: "
      << s.health_interval_ms << ", timeout_ms: 300 }\n"
      << "residency: { on_violation: " << s.on_violation << " }\n"
      << "audit: { dir: " << dir_ << "/audit, sink: " << s.audit_sink << s.audit_extra << " }\n"
      << "limits: { max_body_bytes: " << s.max_body_bytes << ", read_timeout_ms: " << s.read_timeout_ms
      << s.limits_extra << " }\n"
      << s.extra_yaml << s.admin_yaml;
    return y.str();
  }

  std::string writeConfig(const GatewaySettings& s, const std::string& name = "gw.yaml") const {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << configYaml(s);
    return path;
  }

  // Starts the real gateway; returns false (with a gtest failure) if it did not come up.
  bool startGateway(const GatewaySettings& s = {}) {
    return startGatewayWithConfig(configYaml(s), s.log_level);
  }
  // The same with a config written by the test (any endpoints); a running gateway is stopped.
  bool startGatewayWithConfig(const std::string& yaml, const std::string& log_level = "warn") {
    config_path_ = dir_ + "/gw.yaml";
    std::ofstream(config_path_) << yaml;
    gateway_ = std::make_unique<ChildProcess>();
    if (!gateway_->start({REGIONGATE_BIN, "serve", "--config", config_path_, "--log-level", log_level},
                         dir_ + "/gateway.stderr"))
      return false;
    std::string line = gateway_->waitForLine("listening ");
    if (line.empty()) {
      ADD_FAILURE() << "gateway did not start: " << readFile(dir_ + "/gateway.stderr");
      return false;
    }
    auto d = line.find("data=");
    auto a = line.find(" admin=");
    std::string data = line.substr(d + 5, a - d - 5);
    std::string admin = line.substr(a + 7);
    port_ = static_cast<uint16_t>(std::stoi(data.substr(data.rfind(':') + 1)));
    admin_port_ = static_cast<uint16_t>(std::stoi(admin.substr(admin.rfind(':') + 1)));
    return true;
  }

  HttpReply chat(const std::string& key, const std::string& content, bool stream = false,
                 std::vector<std::pair<std::string, std::string>> headers = {}) {
    headers.emplace_back("authorization", "Bearer " + key);
    std::string body = std::string("{\"model\":\"llama-3.1-8b\",\"stream\":") +
                       (stream ? "true" : "false") +
                       ",\"messages\":[{\"role\":\"system\",\"content\":\"You are helpful.\"},"
                       "{\"role\":\"user\",\"content\":\"" + content + "\"}]}";
    HttpClient c(port_);
    return c.post("/v1/chat/completions", body, headers);
  }

  // SIGKILLs a backend (a crash, not a drain).
  void killBackend(const std::string& name) {
    auto& b = backendByName(name);
    b.proc->signal(SIGKILL);
    b.proc->wait(5000);
  }
  // Starts a killed backend again on its old port (its faults reset to the start options).
  bool restartBackend(const std::string& name) {
    auto& b = backendByName(name);
    auto argv = b.argv;
    for (size_t i = 0; i + 1 < argv.size(); ++i)
      if (argv[i] == "--listen") argv[i + 1] = "127.0.0.1:" + std::to_string(b.port);
    b.proc = std::make_unique<ChildProcess>();
    if (!b.proc->start(argv, dir_ + "/" + b.name + ".stderr")) return false;
    return !b.proc->waitForLine("listening ").empty();
  }

  HttpReply setFaults(const std::string& backend, const std::string& json) {
    HttpClient c(backendByName(backend).port);
    return c.post("/admin/faults", json);
  }

  std::string metrics() {
    HttpClient c(admin_port_);
    return c.get("/metrics").body;
  }

  // Request ids each backend logged.
  std::set<std::string> requestIdsAt(const std::string& backend) const {
    std::set<std::string> ids;
    std::ifstream in(backendByName(backend).log);
    std::string line;
    while (std::getline(in, line)) {
      auto k = line.find("\"request_id\":\"");
      if (k == std::string::npos) continue;
      k += 14;
      ids.insert(line.substr(k, line.find('"', k) - k));
    }
    return ids;
  }
  std::set<std::string> requestIdsInJurisdiction(const std::string& j) const {
    std::set<std::string> all;
    for (const auto& b : backends_)
      if (b.jurisdiction == j)
        for (auto& id : requestIdsAt(b.name)) all.insert(id);
    return all;
  }

  const Backend& backendByName(const std::string& name) const {
    for (const auto& b : backends_)
      if (b.name == name) return b;
    throw std::runtime_error("no backend " + name);
  }
  Backend& backendByName(const std::string& name) {
    for (auto& b : backends_)
      if (b.name == name) return b;
    throw std::runtime_error("no backend " + name);
  }

  static std::string readFile(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // Sum of a metric's samples whose line contains every fragment.
  static double metricSum(const std::string& text, const std::string& name,
                          const std::vector<std::string>& fragments = {}) {
    double sum = 0;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(name, 0) != 0) continue;
      if (line.size() > name.size() && line[name.size()] != '{' && line[name.size()] != ' ') continue;
      bool all = true;
      for (const auto& f : fragments) all = all && line.find(f) != std::string::npos;
      if (all) sum += std::stod(line.substr(line.rfind(' ') + 1));
    }
    return sum;
  }

  uint16_t port() const { return port_; }
  uint16_t adminPort() const { return admin_port_; }
  const std::string& dir() const { return dir_; }
  const std::string& configPath() const { return config_path_; }
  ChildProcess& gatewayProcess() { return *gateway_; }
  std::vector<Backend>& backends() { return backends_; }

private:
  std::string dir_, config_path_;
  std::vector<Backend> backends_;
  std::unique_ptr<ChildProcess> gateway_;
  uint16_t port_ = 0, admin_port_ = 0;
};

}  // namespace regiongate::testing
