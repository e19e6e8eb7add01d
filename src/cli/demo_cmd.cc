// regiongate demo: the whole product on an embedded default, in one process.
// Five mock backends (EU: eu-central-1 x2, eu-west-1; US: us-east-1, us-west-2), the gateway in
// front of them, a multi-tenant chat workload with shared system prompts and multi-turn sessions;
// part-way one EU region fails, then every EU endpoint, then all is restored. Ends with a
// one-screen report per jurisdiction and region, and the audit chains verified.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "audit/sqlite_store.h"
#include "audit/verify.h"
#include "cli/commands.h"
#include "common/hash.h"
#include "config/loader.h"
#include "gateway/gateway.h"
#include "mock/mock_backend.h"

namespace regiongate::cli {

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

struct DemoBackend {
  const char* name;
  const char* region;
  const char* jurisdiction;
  std::unique_ptr<mock::MockBackend> mock;
};

struct Tenant {
  const char* name;
  const char* key;
  const char* jurisdiction;
  const char* system_prompt;
};

// Shared system prompts make the KV cache matter; each tenant's users hold multi-turn sessions.
const Tenant kTenants[] = {
    {"acme-bank", "sk-demo-acme-bank", "EU",
     "You are Acme Bank's assistant for retail customers in Germany and France. Answer questions "
     "about accounts, cards, transfers and fees. Never give investment advice. Always answer in the "
     "customer's language and cite the relevant section of the terms and conditions when you can."},
    {"helio-health", "sk-demo-helio", "EU",
     "You are Helio Health's triage assistant. You help patients in Ireland describe symptoms, book "
     "appointments and understand prescriptions. You never diagnose. Escalate emergencies to 112 at "
     "once and keep every answer short, calm and factual."},
    {"us-retail", "sk-demo-us-retail", "US",
     "You are a shopping assistant for a US retailer. Help customers find products, track orders, "
     "process returns within 30 days and explain shipping options. Be friendly and concise."},
};

const char* kQuestions[] = {
    "How do I change my address?", "What does this fee mean?", "Can you explain the last step again?",
    "Is there a faster way?", "What happens if I miss the deadline?", "Can I do this online?",
    "Who do I contact for help?", "What documents do I need?", "How long does it take?",
    "Thanks, one more question about that.",
};

struct Sample {
  std::string jurisdiction, region;
  int status = 0;
  std::string error_type;
  double ttft_ms = -1;
  int64_t prompt_tokens = 0, cached_tokens = 0;
  int attempts = 1;
  bool fallback = false;
};

// One blocking streaming request (the demo's clients are ordinary threads, not the data plane).
Sample chatOnce(uint16_t port, const Tenant& t, const std::string& body) {
  Sample s;
  s.jurisdiction = t.jurisdiction;
  try {
    asio::io_context ioc;
    tcp::socket sock(ioc);
    sock.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    timeval tv{10, 0};
    setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/v1/chat/completions", 11};
    req.set(bhttp::field::host, "127.0.0.1");
    req.set(bhttp::field::authorization, std::string("Bearer ") + t.key);
    req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    auto t0 = std::chrono::steady_clock::now();
    bhttp::write(sock, req);
    boost::beast::flat_buffer buf;
    bhttp::response_parser<bhttp::buffer_body> parser;
    parser.body_limit(boost::none);
    bhttp::read_header(sock, buf, parser);
    s.status = parser.get().result_int();
    auto reg = parser.get().find("x-regiongate-region");
    if (reg != parser.get().end()) s.region = std::string(reg->value());
    auto att = parser.get().find("x-regiongate-attempts");
    if (att != parser.get().end()) s.attempts = std::atoi(std::string(att->value()).c_str());
    std::string body_text;
    char chunk[8192];
    for (int i = 0; i < 100000 && !parser.is_done(); ++i) {
      parser.get().body().data = chunk;
      parser.get().body().size = sizeof(chunk);
      boost::system::error_code ec;
      bhttp::read_some(sock, buf, parser, ec);
      if (ec && ec != bhttp::error::need_buffer) break;
      size_t n = sizeof(chunk) - parser.get().body().size;
      if (n > 0 && s.ttft_ms < 0 && s.status == 200 &&
          std::string_view(chunk, n).find("\"content\"") != std::string_view::npos)
        s.ttft_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      body_text.append(chunk, n);
    }
    auto num = [&](std::string_view key) -> int64_t {
      auto k = body_text.rfind(key);
      if (k == std::string::npos) return 0;
      return std::atoll(body_text.c_str() + k + key.size());
    };
    s.prompt_tokens = num("\"prompt_tokens\":");
    s.cached_tokens = num("\"cached_tokens\":");
    if (s.status != 200) {
      auto k = body_text.find("\"type\":\"");
      if (k != std::string::npos) s.error_type = body_text.substr(k + 8, body_text.find('"', k + 8) - k - 8);
    }
  } catch (const std::exception& e) {
    s.status = 0;
    s.error_type = std::string("client: ") + e.what();
  }
  return s;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

std::string jsonEscape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o.push_back('\\');
    o.push_back(c);
  }
  return o;
}

std::atomic<bool> g_interrupted{false};

}  // namespace

Run addDemoCommand(CLI::App& app) {
  struct Opts {
    int seconds = 20;
    bool keep_running = false;
    int clients = 6;
    std::string dir;
    double time_scale = 0.05;
    uint16_t port = 0;
  };
  auto opts = std::make_shared<Opts>();
  auto* sub = app.add_subcommand(
      "demo",
      "Run everything in one process: mock backends in two jurisdictions (EU: eu-central-1 x2,\n"
      "eu-west-1; US: us-east-1, us-west-2), the gateway, and a multi-tenant chat workload. Part-way\n"
      "one EU region fails, then every EU endpoint, then all is restored; prints a report per\n"
      "jurisdiction and region (requests, KV-cache hit rate, TTFT, fallbacks, typed 503s,\n"
      "residency violations, audit state).");
  sub->add_option("--seconds", opts->seconds, "workload duration")->check(CLI::Range(4, 3600));
  sub->add_flag("--keep-running", opts->keep_running,
                "leave the gateway and backends up afterwards (Ctrl-C to stop) and print a curl line");
  sub->add_option("--clients", opts->clients, "concurrent client sessions")->check(CLI::Range(1, 64));
  sub->add_option("--dir", opts->dir, "where the audit stores go (default: a new temp dir)");
  sub->add_option("--time-scale", opts->time_scale,
                  "mock latency scale (1 = real GPU timings from the Splitwise calibration)");
  sub->add_option("--port", opts->port, "gateway data port (default: any free port)");
  return [opts]() -> int {
    spdlog::set_level(spdlog::level::warn);
    std::string dir = opts->dir;
    if (dir.empty()) {
      char tmpl[] = "/tmp/regiongate-demo-XXXXXX";
      if (!mkdtemp(tmpl)) {
        std::fprintf(stderr, "regiongate demo: cannot create a temp dir\n");
        return 2;
      }
      dir = tmpl;
    }
    std::filesystem::create_directories(dir);

    // 1. Mock backends.
    std::vector<DemoBackend> backends;
    for (auto [n, r, j] : {std::tuple{"fra-a", "eu-central-1", "EU"}, {"fra-b", "eu-central-1", "EU"},
                           {"dub-a", "eu-west-1", "EU"}, {"iad-a", "us-east-1", "US"},
                           {"pdx-a", "us-west-2", "US"}}) {
      mock::MockOptions mo;
      mo.region = r;
      mo.models = {{"llama-3.1-8b", "v1"}};
      mo.latency.time_scale = opts->time_scale;
      mo.output_tokens = 24;
      mo.cache_tokens = 65536;
      auto m = std::make_unique<mock::MockBackend>(mo);
      if (auto st = m->start(); !st) {
        std::fprintf(stderr, "regiongate demo: mock %s: %s\n", n, st.error().message.c_str());
        return 2;
      }
      backends.push_back({n, r, j, std::move(m)});
    }

    // 2. The gateway, on a built-in config.
    std::string yaml = fmt::format(
        "listen: 127.0.0.1:{}\nadmin_listen: 127.0.0.1:0\nworkers: 2\n"
        "jurisdictions:\n  EU: {{ preset: EEA }}\n  US: {{ countries: [US] }}\n"
        "regions:\n  eu-central-1: {{ country: DE }}\n  eu-west-1: {{ country: IE }}\n"
        "  us-east-1: {{ country: US }}\n  us-west-2: {{ country: US }}\nendpoints:\n",
        opts->port);
    for (auto& b : backends)
      yaml += fmt::format(
          "  - {{ name: {}, url: \"http://127.0.0.1:{}\", region: {}, models: [llama-3.1-8b@v1], "
          "evidence: \"header:x-inference-region\" }}\n",
          b.name, b.mock->port(), b.region);
    yaml += "tenants:\n";
    for (const auto& t : kTenants)
      yaml += fmt::format("  - {{ name: {}, key_sha256: {}, jurisdiction: {} }}\n", t.name,
                          sha256Hex(t.key), t.jurisdiction);
    yaml += "routing: { policy: cache_aware, retries: 2, per_try_timeout_ms: 1000 }\n"
            "health: { consecutive_failures: 2, base_ejection_ms: 500, max_ejection_ms: 2000, "
            "interval_ms: 500, timeout_ms: 300 }\n"
            "residency: { on_violation: block }\n"
            "audit: { dir: \"" + jsonEscape(dir + "/audit") + "\", sink: sqlite }\n";
    auto cfg = loadConfigString(yaml, "<demo>");
    if (!cfg) {
      std::fprintf(stderr, "regiongate demo: built-in config: %s\n", cfg.error().message.c_str());
      return 2;
    }
    gateway::GatewayOptions gopts;
    gopts.quiet = true;
    auto gw = gateway::Gateway::create(cfg.value(), gopts);
    if (!gw) {
      std::fprintf(stderr, "regiongate demo: %s\n", gw.error().message.c_str());
      return 2;
    }
    auto& g = *gw.value();
    if (auto st = g.start(); !st) {
      std::fprintf(stderr, "regiongate demo: %s\n", st.error().message.c_str());
      return 2;
    }
    std::printf("regiongate demo: gateway on 127.0.0.1:%u (admin 127.0.0.1:%u), 5 mock backends, "
                "audit in %s\n", g.port(), g.adminPort(), (dir + "/audit").c_str());
    std::printf("  EU = EEA (eu-central-1/DE: fra-a, fra-b; eu-west-1/IE: dub-a)   "
                "US = {US} (us-east-1: iad-a; us-west-2: pdx-a)\n\n");

    // 3. Workload with a fault schedule.
    std::signal(SIGINT, [](int) { g_interrupted = true; });
    const double total = opts->seconds;
    struct Phase { double start; const char* name; };
    const Phase phases[] = {{0.0, "steady"}, {0.30, "eu-central-1 down"}, {0.50, "all EU down"},
                            {0.62, "restored"}};
    std::mutex mu;
    std::vector<Sample> samples;
    std::atomic<int> phase_idx{0};
    std::atomic<bool> done{false};
    auto t_start = std::chrono::steady_clock::now();
    auto elapsed = [&] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    };
    std::vector<std::thread> clients;
    for (int c = 0; c < opts->clients; ++c) {
      clients.emplace_back([&, c] {
        std::mt19937_64 rng(1000 + c);
        const Tenant& t = kTenants[c % 3];
        int session = 0;
        for (int guard = 0; guard < 1'000'000 && !done && !g_interrupted; ++guard) {
          // A session: 2-6 turns; each turn resends the conversation so far (multi-turn reuse).
          int turns = 2 + static_cast<int>(rng() % 5);
          std::string convo = std::string("[{\"role\":\"system\",\"content\":\"") + t.system_prompt + "\"}";
          for (int turn = 0; turn < turns && !done && !g_interrupted; ++turn) {
            std::string q = fmt::format("User {}-{} asks: {}", c, session, kQuestions[rng() % 10]);
            convo += ",{\"role\":\"user\",\"content\":\"" + q + "\"}";
            std::string body = "{\"model\":\"llama-3.1-8b\",\"stream\":true,\"messages\":" + convo + "]}";
            Sample s = chatOnce(g.port(), t, body);
            convo += ",{\"role\":\"assistant\",\"content\":\"(answer " + std::to_string(turn) + ")\"}";
            bool refused = s.status == 503;
            {
              std::lock_guard lock(mu);
              samples.push_back(std::move(s));
            }
            // A well-behaved client backs off on a typed 503 (Retry-After), briefly in the demo.
            if (refused) std::this_thread::sleep_for(std::chrono::milliseconds(200));
          }
          ++session;
        }
      });
    }
    auto setAll = [&](const char* jurisdiction, const char* region, bool down) {
      for (auto& b : backends) {
        if (std::string(b.jurisdiction) != jurisdiction) continue;
        if (region && std::string(b.region) != region) continue;
        mock::FaultConfig f;
        if (down) {
          f.error_rate = 1.0;
          f.error_status = 503;
        }
        b.mock->setFaults(f);
      }
    };
    int shown_phase = -1;
    for (int tick = 0; tick < 100000 && !g_interrupted; ++tick) {
      double t = elapsed();
      if (t >= total) break;
      int p = 0;
      for (int i = 0; i < 4; ++i)
        if (t >= phases[i].start * total) p = i;
      if (p != shown_phase) {
        if (p == 1) setAll("EU", "eu-central-1", true);
        if (p == 2) setAll("EU", nullptr, true);
        if (p == 3) setAll("EU", nullptr, false);
        std::printf("[%5.1fs] phase: %s\n", t, phases[p].name);
        shown_phase = p;
        phase_idx = p;
      }
      size_t n, ok, e503;
      {
        std::lock_guard lock(mu);
        n = samples.size();
        ok = std::count_if(samples.begin(), samples.end(), [](const Sample& s) { return s.status == 200; });
        e503 = std::count_if(samples.begin(), samples.end(), [](const Sample& s) { return s.status == 503; });
      }
      if (tick % 2 == 1)
        std::printf("[%5.1fs]   requests %zu  ok %zu  typed-503 %zu\n", t, n, ok, e503);
      std::fflush(stdout);
      std::this_thread::sleep_for(std::chrono::milliseconds(500));  // demo pacing, not a test
    }
    done = true;
    for (auto& th : clients) th.join();

    // 4. Report per jurisdiction and region.
    std::string metrics = g.registry().render();
    auto metricSum = [&](const std::string& name, const std::vector<std::string>& frags) {
      double sum = 0;
      size_t pos = 0;
      while ((pos = metrics.find(name, pos)) != std::string::npos) {
        size_t eol = metrics.find('\n', pos);
        std::string line = metrics.substr(pos, eol - pos);
        pos = eol;
        if (line.size() <= name.size() || (line[name.size()] != '{' && line[name.size()] != ' ')) continue;
        bool all = true;
        for (auto& f : frags) all = all && line.find(f) != std::string::npos;
        if (all) sum += std::atof(line.c_str() + line.rfind(' ') + 1);
      }
      return sum;
    };
    std::printf("\n%-4s %-13s %8s %8s %9s %9s %9s %9s %9s %10s\n", "jur", "region", "requests", "ok",
                "kv-hit", "ttft-p50", "ttft-p99", "fallback", "typed503", "violations");
    std::map<std::pair<std::string, std::string>, std::vector<const Sample*>> by;
    for (const auto& s : samples) by[{s.jurisdiction, s.status == 200 ? s.region : "(none)"}].push_back(&s);
    for (const auto& [key, v] : by) {
      std::vector<double> ttft;
      int64_t pt = 0, ct = 0;
      size_t ok = 0, e503 = 0;
      for (auto* s : v) {
        if (s->status == 200) {
          ++ok;
          if (s->ttft_ms >= 0) ttft.push_back(s->ttft_ms);
          pt += s->prompt_tokens;
          ct += s->cached_tokens;
        }
        if (s->status == 503) ++e503;
      }
      double fb = key.second == "(none)" ? 0
                  : metricSum("regiongate_fallbacks_total", {"jurisdiction=\"" + key.first + "\"",
                                                             "to_region=\"" + key.second + "\""});
      double viol = metricSum("regiongate_residency_violations_total",
                              {"jurisdiction=\"" + key.first + "\"", "actual_region=\"" + key.second + "\""});
      std::printf("%-4s %-13s %8zu %8zu %8.1f%% %7.1fms %7.1fms %9.0f %9zu %10.0f\n", key.first.c_str(),
                  key.second.c_str(), v.size(), ok, pt ? 100.0 * ct / pt : 0.0, percentile(ttft, 0.5),
                  percentile(ttft, 0.99), fb, e503, viol);
    }
    double violations = metricSum("regiongate_residency_violations_total", {});
    size_t cross = 0;
    for (const auto& s : samples)
      if (s.status == 200 && ((s.jurisdiction == "EU") != (s.region.rfind("eu-", 0) == 0))) ++cross;
    std::printf("\nresidency: %.0f violations counted by the gateway; %zu responses served outside "
                "their tenant's jurisdiction (must be 0)\n", violations, cross);

    // Audit: flush (stop drains), then verify every chain.
    g.stop(2000);
    int audit_rc = 0;
    for (const char* j : {"EU", "US"}) {
      std::string path = dir + "/audit/" + j + ".db";
      audit::SqliteStore store(path, "normal", true);
      if (auto st = store.open(); !st) {
        std::printf("audit %s: cannot open %s: %s\n", j, path.c_str(), st.error().message.c_str());
        audit_rc = 1;
        continue;
      }
      auto reports = audit::verifyStore(store, "");
      if (!reports) {
        std::printf("audit %s: %s\n", j, reports.error().message.c_str());
        audit_rc = 1;
        continue;
      }
      for (const auto& r : reports.value()) {
        std::printf("audit %s: %s\n", j, audit::formatReport(r).c_str());
        if (!r.ok) audit_rc = 1;
      }
    }
    std::printf("verify yourself: regiongate audit verify --dir %s/audit ; "
                "regiongate audit query --dir %s/audit --jurisdiction EU --format table --limit 5\n"
                "keep proof off this host: regiongate audit heads --dir %s/audit > heads.jsonl, "
                "later: regiongate audit verify --dir %s/audit --heads heads.jsonl\n",
                dir.c_str(), dir.c_str(), dir.c_str(), dir.c_str());

    if (opts->keep_running && !g_interrupted) {
      // Bring the gateway back up on the same config and wait for Ctrl-C.
      auto gw2 = gateway::Gateway::create(cfg.value(), gopts);
      if (gw2 && gw2.value()->start().ok()) {
        std::printf("\nkept running: gateway 127.0.0.1:%u, admin 127.0.0.1:%u (metrics: curl "
                    "127.0.0.1:%u/metrics). Try:\n  curl -s 127.0.0.1:%u/v1/chat/completions -H "
                    "'Authorization: Bearer sk-demo-acme-bank' -d '{\"model\":\"llama-3.1-8b\","
                    "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}'\nCtrl-C to stop.\n",
                    gw2.value()->port(), gw2.value()->adminPort(), gw2.value()->adminPort(),
                    gw2.value()->port());
        std::fflush(stdout);
        for (int i = 0; i < 10'000'000 && !g_interrupted; ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
        gw2.value()->stop(2000);
      }
    }
    for (auto& b : backends) b.mock->stop();
    bool pass = cross == 0 && violations == 0 && audit_rc == 0;
    std::printf("\ndemo %s\n", pass ? "OK" : "FAILED");
    return pass ? 0 : 1;
  };
}

}  // namespace regiongate::cli
