// regiongate plan-validate: checks the planner against the real gateway (docs/planner.md,
// "Checked against the real gateway").
//
// One deployment file and a slice of a Mooncake trace are run twice:
//   * the planner: sim::runPlan on exactly these requests (arrivals scaled by the deployment's
//     time_scale; after the replay it runs again with each request's arrival moved by how late
//     the client actually sent it), per-region token hit rate and TTFT p50;
//   * the real thing: one in-process mock::MockBackend per instance (its LatencyParams and KV
//     capacity are the instance's InstanceParams; block size = the trace's block; time compressed
//     by --compress; serial prefill, the planner's instance model), the in-process
//     gateway::Gateway on real loopback sockets in front of them (one worker, so one policy
//     instance, as in the planner), and open-loop clients sending every request at its scaled
//     arrival time to /v1/completions (streaming). Each request's prompt text is built so that
//     every trace block is one fixed text of exactly tokens_per_block mock tokens (3-character
//     words, 4 bytes each) chosen by the block's chained hash: prompts share a text prefix exactly
//     where the trace's hash ids repeat, and the gateway's promptBlocks (block_chars = 4 x
//     tokens_per_block) and the mock's token blocks line up with the trace's blocks.
// Measured: hit rate = sum(usage.prompt_tokens_details.cached_tokens) / sum(usage.prompt_tokens)
// per region (x-regiongate-region); TTFT = client send -> first SSE event, divided by --compress.
// The load generator's threads block and sleep: this is a tool, not the data plane.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "common/hash.h"
#include "config/loader.h"
#include "gateway/gateway.h"
#include "mock/mock_backend.h"
#include "sim/deployment.h"
#include "sim/planner.h"
#include "sim/simulation.h"
#include "sim/trace.h"

namespace regiongate::cli {

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// `words` words of 3 characters + one space, the same for the same seed.
void appendWords(std::string& out, uint64_t seed, uint32_t words) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  uint64_t s = seed;
  for (uint32_t w = 0; w < words; ++w) {
    uint64_t x = splitmix(s);
    out.push_back(kAlphabet[x % 36]);
    out.push_back(kAlphabet[(x / 36) % 36]);
    out.push_back(kAlphabet[(x / 1296) % 36]);
    out.push_back(' ');
  }
}

// The prompt of one trace request: block b (chained hash blocks[b]) is the fixed text of that
// hash, cut to the request's token count; tokens beyond the trace's blocks (inconsistent lines)
// get text unique to the request.
std::string promptText(const sim::TraceRequest& r, uint32_t tokens_per_block, size_t index) {
  std::string out;
  out.reserve(size_t(r.input_tokens) * 4);
  uint32_t left = r.input_tokens;
  for (size_t b = 0; b < r.blocks.size() && left > 0; ++b) {
    uint32_t n = std::min(left, tokens_per_block);
    appendWords(out, r.blocks[b], n);
    left -= n;
  }
  if (left > 0) appendWords(out, 0x5eed0000ULL + index, left);
  return out;
}

struct Sample {
  int status = 0;
  std::string region;
  std::string endpoint;
  std::string error;
  double ttft_wall_ms = -1;
  double total_wall_ms = -1;  // send -> end of the stream
  double late_ms = 0;  // sent this long after its scheduled time
  int64_t prompt_tokens = 0;
  int64_t cached_tokens = 0;
};

int64_t lastNumber(const std::string& text, std::string_view key) {
  auto k = text.rfind(key);
  if (k == std::string::npos) return -1;
  return std::atoll(text.c_str() + k + key.size());
}

// Sends happen in trace order: request i is written only after request i-1 has been written
// (requests with equal timestamps would otherwise reach the gateway in a random order, and the
// routing and the backends' FIFO queues depend on the order).
class Turnstile {
public:
  void wait(size_t turn) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return turn_ == turn; });
  }
  void next() {
    {
      std::lock_guard lock(mu_);
      ++turn_;
    }
    cv_.notify_all();
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t turn_ = 0;
};

// One blocking streaming request: connect, then `send_gate()` (waits for the request's turn and
// time), write, `sent()`, then read the whole stream.
Sample sendOne(uint16_t port, const std::string& key, const std::string& body,
               const std::function<void()>& send_gate, const std::function<void()>& sent) {
  Sample s;
  bool gate_passed = false, reported_sent = false;
  try {
    asio::io_context ioc;
    tcp::socket sock(ioc);
    sock.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    sock.set_option(tcp::no_delay(true));
    timeval tv{120, 0};
    setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/v1/completions", 11};
    req.set(bhttp::field::host, "127.0.0.1");
    req.set(bhttp::field::authorization, "Bearer " + key);
    req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    send_gate();
    gate_passed = true;
    const auto t0 = SteadyClock::now();
    bhttp::write(sock, req);
    sent();
    reported_sent = true;
    boost::beast::flat_buffer buf;
    bhttp::response_parser<bhttp::buffer_body> parser;
    parser.body_limit(boost::none);
    bhttp::read_header(sock, buf, parser);
    s.status = parser.get().result_int();
    if (auto it = parser.get().find("x-regiongate-region"); it != parser.get().end())
      s.region = std::string(it->value());
    if (auto it = parser.get().find("x-regiongate-endpoint"); it != parser.get().end())
      s.endpoint = std::string(it->value());
    std::string text;
    char chunk[16384];
    for (int i = 0; i < 1'000'000 && !parser.is_done(); ++i) {
      parser.get().body().data = chunk;
      parser.get().body().size = sizeof(chunk);
      boost::system::error_code ec;
      bhttp::read_some(sock, buf, parser, ec);
      if (ec && ec != bhttp::error::need_buffer) {
        s.error = ec.message();
        break;
      }
      size_t n = sizeof(chunk) - parser.get().body().size;
      if (n > 0 && s.ttft_wall_ms < 0 &&
          std::string_view(chunk, n).find("data:") != std::string_view::npos)
        s.ttft_wall_ms =
            std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
      text.append(chunk, n);
    }
    s.total_wall_ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
    s.prompt_tokens = lastNumber(text, "\"prompt_tokens\":");
    s.cached_tokens = lastNumber(text, "\"cached_tokens\":");
    if (s.status != 200 && s.error.empty()) s.error = text.substr(0, 200);
  } catch (const std::exception& e) {
    s.status = 0;
    s.error = std::string("client: ") + e.what();
  }
  if (!gate_passed) send_gate();  // keep the turn order even when connecting failed
  if (!reported_sent) sent();
  return s;
}

std::string gatewayYaml(const sim::Deployment& d,
                        const std::vector<std::pair<std::string, uint16_t>>& endpoints,
                        const std::vector<std::string>& endpoint_regions, uint32_t block_chars) {
  std::string y = "listen: 127.0.0.1:0\nadmin_listen: 127.0.0.1:0\nworkers: 1\njurisdictions:\n";
  for (const auto& j : d.jurisdictions) {
    y += fmt::format("  {}: {{", j.name);
    bool first = true;
    if (!j.preset.empty()) {
      y += fmt::format(" preset: \"{}\"", j.preset);
      first = false;
    }
    if (!j.countries.empty()) {
      y += first ? " countries: [" : ", countries: [";
      for (size_t i = 0; i < j.countries.size(); ++i)
        y += (i ? ", " : "") + j.countries[i];
      y += "]";
    }
    y += " }\n";
  }
  y += "regions:\n";
  for (const auto& r : d.regions) y += fmt::format("  {}: {{ country: {} }}\n", r.name, r.country);
  y += "endpoints:\n";
  for (size_t i = 0; i < endpoints.size(); ++i)
    y += fmt::format("  - {{ name: {}, url: \"http://127.0.0.1:{}\", region: {}, models: [{}], "
                     "evidence: \"header:x-inference-region\" }}\n",
                     endpoints[i].first, endpoints[i].second, endpoint_regions[i], d.model);
  y += "tenants:\n";
  for (const auto& j : d.jurisdictions)
    y += fmt::format("  - {{ name: tenant-{}, key_sha256: {}, jurisdiction: {} }}\n", j.name,
                     sha256Hex("sk-validate-" + j.name), j.name);
  y += fmt::format("routing: {{ policy: {}, retries: 0, per_try_timeout_ms: 600000, "
                   "upstream_timeout_ms: 3600000, block_chars: {} }}\n",
                   d.policy, block_chars);
  y += "health: { interval_ms: 0 }\n"
       "limits: { max_body_bytes: 16777216 }\n"
       "audit: { sink: none }\n";
  return y;
}

struct RegionMeasure {
  uint64_t requests = 0;
  int64_t prompt_tokens = 0;
  int64_t cached_tokens = 0;
  std::vector<double> ttft_ms;  // in trace milliseconds (wall / compress)
};

// What the instance model leaves out: the gateway (parse, route, forward), loopback and the mock's
// parsing and tokenising, per request, in wall milliseconds, fitted as fixed + per-token. The
// replay divides every measured TTFT by --compress, so this wall time grows to overhead/compress
// simulated ms; the planner's side gets the same amount (see applyOverhead).
struct OverheadModel {
  double fixed_ms = 0;
  double per_ktoken_ms = 0;
  double wallMs(uint32_t tokens) const {
    return std::max(0.0, fixed_ms + per_ktoken_ms * double(tokens) / 1000.0);
  }
};

// Least squares of y on x; a flat line when x does not vary.
OverheadModel fitOverhead(const std::vector<std::pair<double, double>>& points) {
  OverheadModel m;
  if (points.empty()) return m;
  double sx = 0, sy = 0, sxx = 0, sxy = 0, n = double(points.size());
  for (auto [x, y] : points) {
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const double den = n * sxx - sx * sx;
  const double slope = den > 1e-9 ? (n * sxy - sx * sy) / den : 0.0;
  m.per_ktoken_ms = std::max(0.0, slope) * 1000.0;
  m.fixed_ms = (sy - std::max(0.0, slope) * sx) / n;
  return m;
}

// Measures OverheadModel on a rig of its own, before the replay: the same gateway configuration
// in front of one mock per region whose latency model is off (time_scale 0: the first token is
// ready the moment the prompt is tokenised), so a request's TTFT is nothing but the overhead.
// Probes are requests of the slice itself at sizes spanning it, sent one at a time, three times
// each (median), then fitted.
Result<OverheadModel> measureOverhead(const sim::Deployment& d, const sim::Trace& trace,
                                      const std::vector<std::string>& bodies,
                                      const std::vector<uint32_t>& jur_of) {
  std::vector<std::unique_ptr<mock::MockBackend>> mocks;
  std::vector<std::pair<std::string, uint16_t>> endpoints;
  std::vector<std::string> regions;
  auto stop = [&] {
    for (auto& m : mocks) m->stop();
  };
  for (const auto& r : d.regions) {
    mock::MockOptions mo;
    mo.region = r.name;
    mo.models = {{d.model, "v1"}};
    mo.block_tokens = trace.tokens_per_block;
    mo.latency.time_scale = 0;
    mo.output_tokens = 1;
    mo.admin = false;
    auto m = std::make_unique<mock::MockBackend>(mo);
    if (auto st = m->start(); !st) {
      stop();
      return st.error();
    }
    endpoints.emplace_back(r.name + "-probe", m->port());
    regions.push_back(r.name);
    mocks.push_back(std::move(m));
  }
  auto cfg = loadConfigString(gatewayYaml(d, endpoints, regions, 4 * trace.tokens_per_block),
                              "<plan-validate overhead>");
  if (!cfg) {
    stop();
    return cfg.error();
  }
  gateway::GatewayOptions gopts;
  gopts.quiet = true;
  auto gw = gateway::Gateway::create(cfg.value(), gopts);
  if (!gw || !gw.value()->start()) {
    stop();
    return Error::internal("overhead rig: the gateway did not start");
  }
  std::vector<size_t> order(bodies.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return trace.requests[a].input_tokens < trace.requests[b].input_tokens;
  });
  const size_t probes = std::min<size_t>(12, order.size());
  std::vector<std::pair<double, double>> points;
  for (size_t p = 0; p < probes; ++p) {
    const size_t i = order[probes == 1 ? 0 : p * (order.size() - 1) / (probes - 1)];
    std::vector<double> walls;
    for (int rep = 0; rep < 3; ++rep) {
      Sample s = sendOne(gw.value()->port(), "sk-validate-" + d.jurisdictions[jur_of[i]].name,
                         bodies[i], [] {}, [] {});
      if (s.status == 200 && s.ttft_wall_ms >= 0) walls.push_back(s.ttft_wall_ms);
    }
    if (!walls.empty())
      points.emplace_back(double(trace.requests[i].input_tokens), sim::percentile(walls, 50));
  }
  gw.value()->stop(2000);
  stop();
  if (points.empty()) return Error::internal("overhead rig: no probe was answered");
  return fitOverhead(points);
}

// The planner's side of the overhead: the instance sees request i overhead_i later than the
// client sent it (the overhead is mostly before the backend: upload, parse, route, tokenise), and
// its TTFT, counted from the client's send as the replay counts it, is that much longer. Returns
// the planner's TTFT p50 per region with it.
std::map<std::string, double> ttftP50WithOverhead(const sim::PlanReport& plan,
                                                  const std::vector<double>& overhead_sim_ms) {
  std::map<std::string, std::vector<double>> by_region;
  for (size_t i = 0; i < plan.outcomes.size(); ++i) {
    const auto& o = plan.outcomes[i];
    if (o.instance >= plan.instance_names.size()) continue;
    std::string name = plan.instance_names[o.instance];  // "<region>-<i>"
    name = name.substr(0, name.rfind('-'));
    by_region[name].push_back(o.ttft_ms + (i < overhead_sim_ms.size() ? overhead_sim_ms[i] : 0));
  }
  std::map<std::string, double> p50;
  for (auto& [region, v] : by_region) p50[region] = sim::percentile(v, 50);
  return p50;
}

}  // namespace

Run addPlanValidateCommand(CLI::App& app) {
  struct Opts {
    std::string deployment;
    std::string trace;
    size_t limit = 400;
    size_t skip = 0;
    double compress = 0.05;
    size_t clients = 128;
    double hit_points = 5.0;
    double ttft_percent = 15.0;
    bool parallel_prefill = false;
    bool quiet = false;
    std::string dump;
    double spread_ms = 20;
    std::string candidate_info;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand(
      "plan-validate",
      "Check the planner against the real gateway: replay a slice of a Mooncake trace through the\n"
      "in-process gateway and mock backends built from the deployment file, run the planner on\n"
      "the same requests, and compare per-region hit rate and TTFT p50 (docs/planner.md).\n"
      "Exit 0 when every region agrees within the tolerances, 1 when not, 2 on errors.");
  sub->add_option("--deployment", o->deployment, "deployment YAML (as for `plan`)")->required();
  sub->add_option("--trace", o->trace, "Mooncake JSONL trace")->required();
  sub->add_option("--limit", o->limit, "requests to replay")->capture_default_str();
  sub->add_option("--skip", o->skip, "requests to skip at the start of the trace")
      ->capture_default_str();
  sub->add_option("--compress", o->compress,
                  "wall-clock seconds per simulated second (mock time_scale; arrivals too)")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 10.0));
  sub->add_option("--clients", o->clients, "client threads (open loop; late sends are counted)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  sub->add_option("--hit-points", o->hit_points, "hit-rate tolerance, percentage points")
      ->capture_default_str();
  sub->add_option("--ttft-percent", o->ttft_percent, "TTFT p50 tolerance, percent of planner")
      ->capture_default_str();
  sub->add_option("--spread-ms", o->spread_ms,
                  "simulated ms between requests that share a trace timestamp (both runs)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10000.0));
  sub->add_option("--candidate-info", o->candidate_info,
                  "override the deployment's routing.candidate_info for the planner run")
      ->check(CLI::IsMember({"simulator", "gateway"}));
  sub->add_flag("--parallel-prefill", o->parallel_prefill,
                "run the mocks' default parallel-prefill model, not the planner's serial one");
  sub->add_flag("--quiet", o->quiet, "no progress on stderr");
  sub->add_option("--dump", o->dump,
                  "write one CSV line per request (planner vs measured instance, cached tokens, "
                  "TTFT) to FILE");
  return [o]() -> int {
    spdlog::set_level(spdlog::level::warn);
    auto dep = sim::loadDeploymentFile(o->deployment);
    if (!dep) {
      std::fprintf(stderr, "plan-validate: %s\n", dep.error().message.c_str());
      return 2;
    }
    sim::Deployment d = dep.value();
    if (!o->candidate_info.empty()) d.candidate_info = o->candidate_info;
    if (!d.rollouts.empty() || !d.failures.empty()) {
      std::fprintf(stderr, "plan-validate: ignoring the deployment's rollouts and failures "
                           "(steady-state comparison)\n");
      d.rollouts.clear();
      d.failures.clear();
    }
    auto full = sim::readMooncakeTrace(o->trace, o->limit + o->skip);
    if (!full) {
      std::fprintf(stderr, "plan-validate: %s\n", full.error().message.c_str());
      return 2;
    }
    sim::Trace trace = full.value();
    if (o->skip > 0)
      trace.requests.erase(trace.requests.begin(),
                           trace.requests.begin() +
                               std::ptrdiff_t(std::min(o->skip, trace.requests.size())));
    if (trace.requests.empty()) {
      std::fprintf(stderr, "plan-validate: no requests in the slice\n");
      return 2;
    }
    // The trace's timestamps are coarse (the conversation trace arrives in batches every ~3 s):
    // requests sharing one are spread by --spread-ms (after time_scale), in trace order, in both
    // runs, so that the order in which they reach the gateway is the planner's.
    for (size_t i = 1, k = 0; i < trace.requests.size(); ++i) {
      k = full.value().requests[i + o->skip].arrival_ms ==
                  full.value().requests[i + o->skip - 1].arrival_ms
              ? k + 1
              : 0;
      trace.requests[i].arrival_ms = std::max(
          trace.requests[i].arrival_ms + double(k) * o->spread_ms / d.time_scale,
          trace.requests[i - 1].arrival_ms);
    }
    const uint32_t tpb = trace.tokens_per_block;
    const size_t n = trace.requests.size();

    // 1. The planner on exactly these requests.
    const auto t_plan = SteadyClock::now();
    auto plan = sim::runPlan(d, trace);  // re-run below on the actual send times
    if (!plan) {
      std::fprintf(stderr, "plan-validate: %s\n", plan.error().message.c_str());
      return 2;
    }
    double plan_s = std::chrono::duration<double>(SteadyClock::now() - t_plan).count();

    // The same jurisdiction assignment and arrival times as runPlan.
    sim::Trace scaled = trace;
    sim::scaleArrivals(scaled, d.time_scale);
    std::vector<double> cumulative;
    double total_share = 0, acc = 0;
    for (const auto& j : d.jurisdictions) total_share += j.traffic_share;
    for (const auto& j : d.jurisdictions)
      cumulative.push_back((acc += j.traffic_share) / total_share);
    std::vector<uint32_t> jur_of(n);
    uint32_t max_output = 1;
    for (size_t i = 0; i < n; ++i) {
      jur_of[i] = sim::jurisdictionOf(scaled.requests[i].conversation, cumulative);
      max_output = std::max(max_output, scaled.requests[i].output_tokens);
    }

    // 2. Bodies, built before the clock starts.
    std::vector<std::string> bodies(n);
    for (size_t i = 0; i < n; ++i) {
      const auto& r = scaled.requests[i];
      bodies[i] = fmt::format(
          "{{\"model\":\"{}\",\"prompt\":\"{}\",\"max_tokens\":{},\"stream\":true,"
          "\"stream_options\":{{\"include_usage\":true}}}}",
          d.model, promptText(r, tpb, i + o->skip), std::max<uint32_t>(1, r.output_tokens));
    }

    // The fixed per-request overhead, measured before the replay (OverheadModel).
    auto overhead = measureOverhead(d, scaled, bodies, jur_of);
    if (!overhead) {
      std::fprintf(stderr, "plan-validate: %s\n", overhead.error().message.c_str());
      return 2;
    }
    std::vector<double> overhead_sim_ms(n);  // simulated ms (wall / compress)
    for (size_t i = 0; i < n; ++i)
      overhead_sim_ms[i] = overhead->wallMs(scaled.requests[i].input_tokens) / o->compress;

    // 3. Mock backends, one per instance.
    std::vector<std::unique_ptr<mock::MockBackend>> mocks;
    std::vector<std::pair<std::string, uint16_t>> endpoints;
    std::vector<std::string> endpoint_regions;
    for (const auto& r : d.regions) {
      for (uint32_t i = 0; i < r.instances; ++i) {
        mock::MockOptions mo;
        mo.region = r.name;
        mo.models = {{d.model, "v1"}};
        mo.cache_tokens = r.params.kv_tokens;
        mo.block_tokens = tpb;
        mo.latency.prefill_ms_per_token = r.params.prefill_ms_per_token;
        mo.latency.decode_ms_per_token = r.params.decode_ms_per_token;
        mo.latency.ttft_fixed_ms = r.params.ttft_fixed_ms;
        mo.latency.batch_slots = r.params.batch_slots;
        mo.latency.time_scale = o->compress;
        mo.latency.serial_prefill = !o->parallel_prefill;
        mo.latency.exact_pacing = true;
        mo.output_tokens = max_output;
        mo.admin = false;
        auto m = std::make_unique<mock::MockBackend>(mo);
        if (auto st = m->start(); !st) {
          std::fprintf(stderr, "plan-validate: mock %s-%u: %s\n", r.name.c_str(), i,
                       st.error().message.c_str());
          return 2;
        }
        endpoints.emplace_back(fmt::format("{}-{}", r.name, i), m->port());
        endpoint_regions.push_back(r.name);
        mocks.push_back(std::move(m));
      }
    }
    auto stopMocks = [&] {
      for (auto& m : mocks) m->stop();
    };

    // 4. The gateway.
    const std::string yaml = gatewayYaml(d, endpoints, endpoint_regions, 4 * tpb);
    auto cfg = loadConfigString(yaml, "<plan-validate>");
    if (!cfg) {
      std::fprintf(stderr, "plan-validate: gateway config: %s\n", cfg.error().message.c_str());
      stopMocks();
      return 2;
    }
    gateway::GatewayOptions gopts;
    gopts.quiet = true;
    auto gw = gateway::Gateway::create(cfg.value(), gopts);
    if (!gw) {
      std::fprintf(stderr, "plan-validate: %s\n", gw.error().message.c_str());
      stopMocks();
      return 2;
    }
    auto& g = *gw.value();
    if (auto st = g.start(); !st) {
      std::fprintf(stderr, "plan-validate: %s\n", st.error().message.c_str());
      stopMocks();
      return 2;
    }
    const uint16_t port = g.port();

    // 5. Open-loop replay at the scaled arrival times.
    const double first_ms = scaled.requests.front().arrival_ms;
    const double span_wall_s = (scaled.requests.back().arrival_ms - first_ms) * o->compress / 1e3;
    if (!o->quiet)
      std::fprintf(stderr, "plan-validate: %zu requests over %.1f s wall (compress %g), %zu mock "
                           "backends, gateway on 127.0.0.1:%u\n",
                   n, span_wall_s, o->compress, mocks.size(), port);
    std::vector<Sample> samples(n);
    std::atomic<size_t> next{0}, done{0};
    Turnstile turnstile;
    const auto t_start = SteadyClock::now() + std::chrono::milliseconds(200);
    std::vector<std::thread> threads;
    const size_t k = std::min(o->clients, n);
    for (size_t t = 0; t < k; ++t) {
      threads.emplace_back([&] {
        for (size_t guard = 0; guard < n; ++guard) {
          size_t i = next.fetch_add(1);
          if (i >= n) return;
          const auto at = t_start + std::chrono::nanoseconds(int64_t(std::llround(
                                        (scaled.requests[i].arrival_ms - first_ms) * o->compress *
                                        1e6)));
          double late = 0;
          samples[i] = sendOne(
              port, "sk-validate-" + d.jurisdictions[jur_of[i]].name, bodies[i],
              [&] {
                turnstile.wait(i);
                std::this_thread::sleep_until(at);
                late = std::chrono::duration<double, std::milli>(SteadyClock::now() - at).count();
              },
              [&] {
                // The next request goes out once this one has reached its backend, so the
                // gateway routes in trace order even when a large body takes a while to
                // arrive (bounded: at most 200 ms wall, then it goes anyway).
                const auto limit = SteadyClock::now() + std::chrono::milliseconds(200);
                for (int spin = 0; spin < 100000 && SteadyClock::now() < limit; ++spin) {
                  uint64_t received = 0;
                  for (const auto& m : mocks) received += m->stats().inference_requests;
                  if (received >= i + 1) break;
                  std::this_thread::sleep_for(std::chrono::microseconds(50));
                }
                turnstile.next();
              });
          samples[i].late_ms = late;
          done.fetch_add(1);
        }
      });
    }
    if (!o->quiet) {
      for (int tick = 0; tick < 100000 && done.load() < n; ++tick) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (tick % 20 == 19) std::fprintf(stderr, "plan-validate: %zu/%zu done\n", done.load(), n);
      }
    }
    for (auto& th : threads) th.join();
    const double replay_s = std::chrono::duration<double>(SteadyClock::now() - t_start).count();
    g.stop(2000);
    stopMocks();

    // The planner again, on the times the requests actually left (a loaded machine sends some
    // late, and a late request meets other cache contents): both runs then see one timeline,
    // so what is compared is routing and caching, not the client's scheduling jitter.
    {
      sim::Trace actual = trace;
      for (size_t i = 0; i < n; ++i) {
        actual.requests[i].arrival_ms +=
            (samples[i].late_ms / o->compress + overhead_sim_ms[i]) / d.time_scale;
        if (i) actual.requests[i].arrival_ms =
                   std::max(actual.requests[i].arrival_ms, actual.requests[i - 1].arrival_ms);
      }
      const auto t_replan = SteadyClock::now();
      auto replanned = sim::runPlan(d, actual);
      if (!replanned) {
        std::fprintf(stderr, "plan-validate: %s\n", replanned.error().message.c_str());
        return 2;
      }
      plan = std::move(replanned);
      plan_s += std::chrono::duration<double>(SteadyClock::now() - t_replan).count();
    }

    // 6. Measured per region.
    std::map<std::string, RegionMeasure> measured;
    size_t errors = 0;
    std::vector<double> late;
    std::string first_error;
    for (const auto& s : samples) {
      late.push_back(s.late_ms);
      if (s.status != 200 || s.ttft_wall_ms < 0 || s.prompt_tokens < 0 || s.cached_tokens < 0) {
        if (first_error.empty())
          first_error = fmt::format("status {} {}", s.status, s.error);
        ++errors;
        continue;
      }
      auto& m = measured[s.region];
      ++m.requests;
      m.prompt_tokens += s.prompt_tokens;
      m.cached_tokens += s.cached_tokens;
      m.ttft_ms.push_back(s.ttft_wall_ms / o->compress);
    }

    if (!o->dump.empty()) {
      std::FILE* f = std::fopen(o->dump.c_str(), "w");
      if (!f) {
        std::fprintf(stderr, "plan-validate: cannot write %s\n", o->dump.c_str());
        return 2;
      }
      std::fprintf(f, "request,arrival_ms,jurisdiction,input_tokens,output_tokens,plan_instance,"
                      "real_instance,plan_cached,real_cached,real_prompt,plan_ttft_ms,"
                      "real_ttft_ms,plan_total_ms,real_total_ms,late_ms,status\n");
      const auto& outs = plan.value().outcomes;
      const auto& names = plan.value().instance_names;
      for (size_t i = 0; i < n && i < outs.size(); ++i) {
        const auto& po = outs[i];
        const auto& s = samples[i];
        std::fprintf(f, "%zu,%.3f,%s,%u,%u,%s,%s,%u,%lld,%lld,%.3f,%.3f,%.3f,%.3f,%.3f,%d\n",
                     i + o->skip,
                     scaled.requests[i].arrival_ms, d.jurisdictions[jur_of[i]].name.c_str(),
                     po.input_tokens, po.output_tokens,
                     po.instance < names.size() ? names[po.instance].c_str() : "-",
                     s.endpoint.c_str(), po.cached_tokens, (long long)s.cached_tokens,
                     (long long)s.prompt_tokens, po.ttft_ms + overhead_sim_ms[i],
                     s.ttft_wall_ms / o->compress,
                     po.done_ms - po.arrival_ms, s.total_wall_ms / o->compress, s.late_ms,
                     s.status);
      }
      std::fclose(f);
    }

    const auto plan_p50 = ttftP50WithOverhead(plan.value(), overhead_sim_ms);
    auto planP50 = [&](const std::string& region) {
      auto it = plan_p50.find(region);
      return it == plan_p50.end() ? 0.0 : it->second;
    };

    // 7. The comparison.
    std::printf("plan-validate: deployment %s, policy %s (candidate_info %s), %zu requests of %s "
                "(skip %zu), compress %g, spread %g ms, %s prefill in the mocks\n",
                d.name.c_str(), d.policy.c_str(), d.candidate_info.c_str(), n,
                trace.source.c_str(), o->skip, o->compress, o->spread_ms,
                o->parallel_prefill ? "parallel" : "serial");
    std::printf("replay %.1f s wall (planner %.2f s); client send lateness p50 %.2f ms, max %.2f "
                "ms wall; errors %zu%s%s\n",
                replay_s, plan_s, sim::percentile(late, 50),
                late.empty() ? 0.0 : *std::max_element(late.begin(), late.end()), errors,
                first_error.empty() ? "" : " — first: ", first_error.c_str());
    std::printf("per-request overhead (gateway + loopback + mock parsing, measured before the "
                "replay): %.2f ms + %.3f ms per 1k prompt tokens wall = %.0f simulated ms at the "
                "median prompt; added to the planner's arrivals and TTFT\n\n",
                overhead->fixed_ms, overhead->per_ktoken_ms, sim::percentile(overhead_sim_ms, 50));
    std::printf("| region | requests plan / real | hit rate plan | hit rate real | diff (points) "
                "| TTFT p50 plan ms | TTFT p50 real ms | diff | verdict |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|\n");
    bool pass = errors == 0;
    for (const auto& rr : plan.value().regions) {
      const auto& ps = rr.summary;
      RegionMeasure m;
      if (auto it = measured.find(rr.name); it != measured.end()) m = it->second;
      const double ph = 100.0 * ps.tokenHitRate();
      const double mh =
          m.prompt_tokens > 0 ? 100.0 * double(m.cached_tokens) / double(m.prompt_tokens) : 0;
      const double pp = planP50(rr.name);
      const double mp = sim::percentile(m.ttft_ms, 50);
      const double hd = mh - ph;
      const double td = pp > 0 ? 100.0 * (mp - pp) / pp : (mp > 0 ? 100.0 : 0.0);
      const bool hit_ok = std::fabs(hd) <= o->hit_points;
      const bool ttft_ok = std::fabs(td) <= o->ttft_percent;
      const bool empty = ps.served == 0 && m.requests == 0;
      if (!empty) pass = pass && hit_ok && ttft_ok;
      std::printf("| %s | %llu / %llu | %.1f %% | %.1f %% | %+.1f | %.0f | %.0f | %+.1f %% "
                  "| %s |\n",
                  rr.name.c_str(), (unsigned long long)ps.served, (unsigned long long)m.requests,
                  ph, mh, hd, pp, mp, td,
                  empty ? "no traffic"
                        : (hit_ok && ttft_ok ? "PASS"
                                             : (!hit_ok && !ttft_ok ? "FAIL (hit, TTFT)"
                                                                    : (!hit_ok ? "FAIL (hit)"
                                                                               : "FAIL (TTFT)"))));
    }
    std::printf("\n");
    // Machine-readable lines (tests parse these).
    for (const auto& rr : plan.value().regions) {
      RegionMeasure m;
      if (auto it = measured.find(rr.name); it != measured.end()) m = it->second;
      std::printf("check %s plan_requests=%llu real_requests=%llu plan_hit=%.4f real_hit=%.4f "
                  "plan_ttft_p50=%.3f real_ttft_p50=%.3f\n",
                  rr.name.c_str(), (unsigned long long)rr.summary.served,
                  (unsigned long long)m.requests, rr.summary.tokenHitRate(),
                  m.prompt_tokens > 0 ? double(m.cached_tokens) / double(m.prompt_tokens) : 0.0,
                  planP50(rr.name), sim::percentile(m.ttft_ms, 50));
    }
    std::printf("errors=%zu\nplan-validate: %s (hit rate within %g points, TTFT p50 within "
                "%g %%)\n",
                errors, pass ? "PASS" : "FAIL", o->hit_points, o->ttft_percent);
    return pass ? 0 : 1;
  };
}

}  // namespace regiongate::cli
