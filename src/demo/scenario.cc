#include "demo/scenario.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "audit/sqlite_store.h"
#include "audit/verify.h"
#include "common/hash.h"
#include "config/loader.h"
#include "demo/client.h"
#include "demo/prom.h"
#include "demo/report.h"
#include "demo/workload.h"
#include "gateway/gateway.h"
#include "inference/latency_model.h"
#include "mock/mock_backend.h"

namespace regiongate::demo {

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kModel = "llama-2-70b";
// One instance = 2 x A100-80GB (tensor parallel 2, as the latency model was measured); an
// on-demand A100-80GB at about 2 USD/h. The same price in both jurisdictions, so the EU's extra
// cost below is the cache's alone.
constexpr double kPricePerInstanceHour = 4.0;
constexpr double kRolloutGateUsd = 400;  // engineer time for one region's validation gate

struct Backend {
  std::string name, region, jurisdiction;
  std::unique_ptr<mock::MockBackend> mock;
};

Result<std::vector<Backend>> startBackends(double time_scale) {
  std::vector<Backend> backends;
  for (auto [n, r, j] : {std::tuple{"fra-a", "eu-central-1", "EU"}, {"fra-b", "eu-central-1", "EU"},
                         {"dub-a", "eu-west-1", "EU"}, {"iad-a", "us-east-1", "US"},
                         {"pdx-a", "us-west-2", "US"}}) {
    mock::MockOptions mo;
    mo.region = r;
    mo.models = {{kModel, "v1"}};
    mo.latency.time_scale = time_scale;  // the calibrated defaults, scaled
    mo.output_tokens = 24;
    mo.cache_tokens = 65536;
    auto m = std::make_unique<mock::MockBackend>(mo);
    if (auto st = m->start(); !st)
      return Error::internal(fmt::format("mock {}: {}", n, st.error().message));
    backends.push_back({n, r, j, std::move(m)});
  }
  return backends;
}

std::string gatewayYaml(const std::vector<Backend>& backends, uint16_t port,
                        const std::string& audit_dir) {
  std::string y = fmt::format(
      "listen: 127.0.0.1:{}\nadmin_listen: 127.0.0.1:0\nworkers: 2\n"
      "jurisdictions:\n  EU: {{ preset: EEA }}\n  US: {{ countries: [US] }}\n"
      "regions:\n  eu-central-1: {{ country: DE }}\n  eu-west-1: {{ country: IE }}\n"
      "  us-east-1: {{ country: US }}\n  us-west-2: {{ country: US }}\nendpoints:\n",
      port);
  for (const auto& b : backends)
    y += fmt::format("  - {{ name: {}, url: \"http://127.0.0.1:{}\", region: {}, models: [{}@v1], "
                     "evidence: \"header:x-inference-region\" }}\n",
                     b.name, b.mock->port(), b.region, kModel);
  y += "tenants:\n";
  for (const auto& t : demoTenants())
    y += fmt::format("  - {{ name: {}, key_sha256: {}, jurisdiction: {} }}\n", t.name,
                     sha256Hex(t.key), t.jurisdiction);
  y += "routing: { policy: estimated_ttft, retries: 2, per_try_timeout_ms: 5000 }\n"
       "health: { consecutive_failures: 2, base_ejection_ms: 500, max_ejection_ms: 2000, "
       "interval_ms: 500, timeout_ms: 300 }\n"
       "rollout: { discovery_interval_ms: 500 }\n"  // in-place updates are seen within 0.5 s
       "residency: { on_violation: block }\n"
       "audit: { dir: \"" + jsonEscape(audit_dir) + "\", sink: sqlite }\n";
  return y;
}

// Client threads of both user pools; samples are collected under a mutex.
class Workload {
public:
  Workload(uint16_t port, Clock::time_point origin) : port_(port), origin_(origin) {}
  ~Workload() { stop(); }

  void start(const UserPool& pool, int threads, std::chrono::milliseconds think, uint64_t seed) {
    for (int c = 0; c < threads; ++c)
      threads_.emplace_back([this, pool, think, seed, c] { client(pool, think, seed + c); });
  }
  void stop() {
    done_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  std::vector<Sample> samples() const {
    std::lock_guard lock(mu_);
    return samples_;
  }

private:
  void client(const UserPool& pool, std::chrono::milliseconds think, uint64_t seed) {
    Conversation conv(pool, seed);
    for (int guard = 0; guard < 10'000'000 && !done_; ++guard) {
      std::string body = conv.nextBody(kModel);
      const double at = std::chrono::duration<double>(Clock::now() - origin_).count();
      Sample s = chatOnce(port_, conv.tenant().key, body);
      s.at_s = at;
      s.jurisdiction = conv.tenant().jurisdiction;
      if (s.status == 200) conv.answered(s.text);
      const bool refused = s.status == 503;
      s.text.clear();
      {
        std::lock_guard lock(mu_);
        samples_.push_back(std::move(s));
      }
      // A well-behaved client backs off on a typed 503 (Retry-After), briefly in the demo.
      auto pause = refused ? std::chrono::milliseconds(200) : think;
      if (pause.count() > 0) std::this_thread::sleep_for(pause);
    }
  }

  uint16_t port_;
  Clock::time_point origin_;
  std::atomic<bool> done_{false};
  std::vector<std::thread> threads_;
  mutable std::mutex mu_;
  std::vector<Sample> samples_;
};

// "eu-central-1 v2 · eu-west-1 v1 · ..." from regiongate_model_version_info.
std::string versionsLine(const std::vector<PromSample>& metrics) {
  std::map<std::string, std::set<std::string>> by_region;
  for (const auto& s : metrics)
    if (s.name == "regiongate_model_version_info" && s.value > 0)
      by_region[s.labels.count("region") ? s.labels.at("region") : "?"].insert(
          s.labels.count("version") ? s.labels.at("version") : "?");
  std::string line;
  for (const auto& [region, versions] : by_region) {
    std::string v;
    for (const auto& x : versions) v += (v.empty() ? "" : "+") + x;
    line += (line.empty() ? "" : " · ") + region + " " + v;
  }
  const double skew = promSum(metrics, "regiongate_model_version_skew", {{"model", kModel}});
  return line + (skew > 0 ? "  (version skew)" : "");
}

bool verifyAudit(const std::string& audit_dir, std::FILE* out) {
  bool ok = true;
  for (const char* j : {"EU", "US"}) {
    std::string path = audit_dir + "/" + j + ".db";
    audit::SqliteStore store(path, "normal", true);
    if (auto st = store.open(); !st) {
      std::fprintf(out, "audit %s: cannot open %s: %s\n", j, path.c_str(), st.error().message.c_str());
      ok = false;
      continue;
    }
    auto reports = audit::verifyStore(store, "");
    if (!reports) {
      std::fprintf(out, "audit %s: %s\n", j, reports.error().message.c_str());
      ok = false;
      continue;
    }
    for (const auto& r : reports.value()) {
      std::fprintf(out, "audit %s: %s\n", j, audit::formatReport(r).c_str());
      ok = ok && r.ok;
    }
  }
  return ok;
}

void setDown(std::vector<Backend>& backends, const std::string& jurisdiction,
             const std::string& region, bool down) {
  for (auto& b : backends) {
    if (b.jurisdiction != jurisdiction || (!region.empty() && b.region != region)) continue;
    mock::FaultConfig f;
    if (down) {
      f.error_rate = 1.0;
      f.error_status = 503;
    }
    b.mock->setFaults(f);
  }
}

// An in-place model update of one region (as a provider's serving update lands): every backend
// there serves `version` from now on, with an empty KV cache; the gateway learns it by discovery.
void updateRegion(std::vector<Backend>& backends, const std::string& region,
                  const std::string& version) {
  for (auto& b : backends)
    if (b.region == region) (void)b.mock->setVersion(kModel, version);
}

struct Step {
  double at;  // fraction of the run
  std::string name;
  std::function<void()> apply;
};

ReportInputs reportInputs(const std::vector<Backend>& backends, double time_scale, double wall_s) {
  ReportInputs in;
  in.time_scale = time_scale;
  in.prefill_ms_per_token = inference::LatencyParams{}.prefill_ms_per_token;
  in.wall_seconds = wall_s;
  in.rollout_gate_cost_usd = kRolloutGateUsd;
  in.warmup_window = 10;  // the planner uses 50; the demo's regions see tens of requests
  for (const auto& b : backends) {
    auto it = std::find_if(in.regions.begin(), in.regions.end(),
                           [&](const RegionCosting& r) { return r.name == b.region; });
    if (it == in.regions.end()) {
      in.regions.push_back({b.region, b.jurisdiction, 0, kPricePerInstanceHour});
      it = in.regions.end() - 1;
    }
    ++it->instances;
  }
  return in;
}

void printHeader(std::FILE* out, const gateway::Gateway& g, const std::string& audit_dir,
                 const DemoOptions& o) {
  const inference::LatencyParams lp;
  std::fprintf(out,
               "regiongate demo: gateway on 127.0.0.1:%u (admin 127.0.0.1:%u), 5 mock backends, "
               "audit in %s\n",
               g.port(), g.adminPort(), audit_dir.c_str());
  std::fprintf(out, "  EU = EEA (eu-central-1/DE: fra-a, fra-b; eu-west-1/IE: dub-a)   "
                    "US = {US} (us-east-1: iad-a; us-west-2: pdx-a)\n");
  std::fprintf(out,
               "  latency: the mock's calibrated model of %s on 2 x A100-80GB (tensor parallel 2; "
               "fitted to the Splitwise performance model, data/splitwise_perf_model.csv): "
               "%.2f ms + %.3f ms per uncached prompt token to the first token, %.1f ms per "
               "output token; run at time scale %g (%.0fx faster than real time); times below "
               "are model times\n",
               kModel, lp.ttft_fixed_ms, lp.prefill_ms_per_token, lp.decode_ms_per_token,
               o.time_scale, 1.0 / o.time_scale);
  std::fprintf(out,
               "  workload: %zu assistants' system prompts shared by both jurisdictions (Zipf "
               "popularity), multi-turn chats; US user pool 400 users on %d clients, EU 60 users "
               "on %d clients\n\n",
               assistantPrompts().size(), o.us_clients, o.eu_clients);
}

}  // namespace

int runDemo(const DemoOptions& o, const std::atomic<bool>& interrupted, std::FILE* out) {
  std::string dir = o.dir;
  if (dir.empty()) {
    char tmpl[] = "/tmp/regiongate-demo-XXXXXX";
    if (!mkdtemp(tmpl)) {
      std::fprintf(stderr, "regiongate demo: cannot create a temp dir\n");
      return 2;
    }
    dir = tmpl;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string audit_dir = dir + "/audit";

  auto started = startBackends(o.time_scale);
  if (!started) {
    std::fprintf(stderr, "regiongate demo: %s\n", started.error().message.c_str());
    return 2;
  }
  std::vector<Backend>& backends = started.value();
  auto stopBackends = [&] {
    for (auto& b : backends) b.mock->stop();
  };
  auto cfg = loadConfigString(gatewayYaml(backends, o.port, audit_dir), "<demo>");
  if (!cfg) {
    std::fprintf(stderr, "regiongate demo: built-in config: %s\n", cfg.error().message.c_str());
    stopBackends();
    return 2;
  }
  gateway::GatewayOptions gopts;
  gopts.quiet = true;
  auto gw = gateway::Gateway::create(cfg.value(), gopts);
  if (!gw || !gw.value()->start()) {
    std::fprintf(stderr, "regiongate demo: the gateway did not start%s%s\n", gw ? "" : ": ",
                 gw ? "" : gw.error().message.c_str());
    stopBackends();
    return 2;
  }
  gateway::Gateway& g = *gw.value();
  printHeader(out, g, audit_dir, o);

  const double total = o.seconds;
  std::vector<ReportInputs::Rollout> rollouts;
  auto origin = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - origin).count(); };
  auto rollout = [&](const std::string& region) {
    updateRegion(backends, region, "v2");
    rollouts.push_back({region, "v1", "v2", elapsed()});
  };
  std::vector<Step> steps = {
      {0.0, "steady", [] {}},
      {0.30, "rollout: eu-central-1 llama-2-70b v1 -> v2 (in place; caches emptied)",
       [&] { rollout("eu-central-1"); }},
      {0.55, "rollout: eu-west-1 follows, v1 -> v2", [&] { rollout("eu-west-1"); }},
      {0.70, "eu-central-1 down", [&] { setDown(backends, "EU", "eu-central-1", true); }},
      {0.78, "all EU down", [&] { setDown(backends, "EU", "", true); }},
      {0.86, "restored", [&] { setDown(backends, "EU", "", false); }},
  };

  Workload work(g.port(), origin);
  work.start({"US", 400, 0}, o.us_clients, std::chrono::milliseconds(0), 1000);
  work.start({"EU", 60, 400}, o.eu_clients, std::chrono::milliseconds(0), 2000);
  size_t next_step = 0;
  std::string shown_versions;
  for (int tick = 0; tick < 1'000'000 && !interrupted; ++tick) {
    const double t = elapsed();
    if (t >= total) break;
    for (; next_step < steps.size() && t >= steps[next_step].at * total; ++next_step) {
      steps[next_step].apply();
      std::fprintf(out, "[%5.1fs] phase: %s\n", t, steps[next_step].name.c_str());
    }
    const auto metrics = parseProm(g.registry().render());
    if (auto v = versionsLine(metrics); v != shown_versions) {
      std::fprintf(out, "[%5.1fs]   model versions: %s\n", t, v.c_str());
      shown_versions = v;
    }
    if (tick % 4 == 3) {
      const auto s = work.samples();
      size_t ok = 0, e503 = 0;
      for (const auto& x : s) {
        ok += x.status == 200;
        e503 += x.status == 503;
      }
      std::fprintf(out, "[%5.1fs]   requests %zu  ok %zu  typed-503 %zu\n", t, s.size(), ok, e503);
    }
    std::fflush(out);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));  // demo pacing, not a test
  }
  const double wall_s = elapsed();
  work.stop();

  const auto samples = work.samples();
  const auto metrics = parseProm(g.registry().render());
  ReportInputs in = reportInputs(backends, o.time_scale, wall_s);
  in.rollouts = rollouts;
  const DemoReport report = computeReport(samples, metrics, in);
  std::fputs(formatReport(report, in).c_str(), out);

  bool audit_ok = true;
  if (o.keep_running && !interrupted) {
    std::fprintf(out, "audit chains as committed so far (the gateway keeps running):\n");
    audit_ok = verifyAudit(audit_dir, out);
  } else {
    g.stop(2000);  // drains the audit queue
    audit_ok = verifyAudit(audit_dir, out);
  }
  std::fprintf(out,
               "verify yourself: regiongate audit verify --dir %s ; regiongate audit query --dir "
               "%s --jurisdiction EU --format table --limit 5\n"
               "keep proof off this host: regiongate audit heads --dir %s > heads.jsonl, later: "
               "regiongate audit verify --dir %s --heads heads.jsonl\n",
               audit_dir.c_str(), audit_dir.c_str(), audit_dir.c_str(), audit_dir.c_str());
  const bool pass = report.served_outside == 0 && report.violations == 0 && audit_ok;
  std::fprintf(out, "\ndemo %s\n", pass ? "OK" : "FAILED");
  std::fflush(out);

  if (o.keep_running && !interrupted) {
    Workload background(g.port(), origin);
    background.start({"US", 400, 0}, 1, std::chrono::milliseconds(1000), 3000);
    background.start({"EU", 60, 400}, 1, std::chrono::milliseconds(1000), 4000);
    std::fprintf(out,
                 "\nkept running: the demo's gateway, backends and audit, with a light background "
                 "workload (one EU and one US client, one request a second each).\n"
                 "  dashboard: http://127.0.0.1:%u/   metrics: http://127.0.0.1:%u/metrics\n"
                 "  try: curl -s 127.0.0.1:%u/v1/chat/completions -H 'Authorization: Bearer "
                 "sk-demo-acme-bank' -d '{\"model\":\"%s\",\"messages\":[{\"role\":\"user\","
                 "\"content\":\"hello\"}]}'\nCtrl-C to stop.\n",
                 g.adminPort(), g.adminPort(), g.port(), kModel);
    std::fflush(out);
    for (int i = 0; i < 100'000'000 && !interrupted; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    background.stop();
    g.stop(2000);
  }
  stopBackends();
  return pass ? 0 : 1;
}

}  // namespace regiongate::demo
