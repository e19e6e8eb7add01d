#include "validate/plan_validate.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
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

#include "common/hash.h"
#include "common/quantile.h"
#include "config/loader.h"
#include "gateway/gateway.h"
#include "http/client.h"
#include "mock/mock_backend.h"
#include "sim/planner.h"
#include "sim/simulation.h"

namespace regiongate::validate {

namespace {

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

struct Sample {
  int status = 0;
  std::string region;
  std::string endpoint;
  std::string request_id;  // the gateway's, as the mock received it
  std::string error;
  SteadyClock::time_point sent_at, first_at;  // request written; first SSE event read
  double ttft_wall_ms = -1;
  double total_wall_ms = -1;  // send -> end of the stream
  double late_ms = 0;         // sent this long after its scheduled time
  int64_t prompt_tokens = 0;
  int64_t cached_tokens = 0;
};

// What the replay adds to one request beyond the instance model, in simulated ms (wall / compress).
struct HarnessDelay {
  double late = 0;      // the client sent it after its scheduled time
  double inbound = 0;   // client send -> the mock's admission (gateway, loopback, mock parsing)
  double outbound = 0;  // the first token's modelled time -> the client read it
  double timer_late_wall_ms = 0;  // the mock wrote the first token this late (wall)
  bool measured = false;          // the mock reported the request's first token
  double total() const { return late + inbound + outbound; }
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

// One streaming request through the shared HTTP client: connect, then `send_gate()` (waits for
// the request's turn and time), write, `sent()`, then read the whole stream.
Sample sendOne(uint16_t port, const std::string& key, const std::string& body,
               const std::function<void()>& send_gate, const std::function<void()>& sent) {
  Sample s;
  bool gate_passed = false, reported_sent = false;
  SteadyClock::time_point t0;
  http::ClientRequest req{
      "POST", "/v1/completions", body, {{"authorization", "Bearer " + key}}, 120000};
  req.body_limit = uint64_t(1) << 40;
  req.before_write = [&] {
    send_gate();
    gate_passed = true;
    t0 = SteadyClock::now();
    s.sent_at = t0;
  };
  req.after_write = [&] {
    sent();
    reported_sent = true;
  };
  req.on_body_chunk = [&](std::string_view chunk) {
    if (s.ttft_wall_ms < 0 && chunk.find("data:") != std::string_view::npos) {
      s.first_at = SteadyClock::now();
      s.ttft_wall_ms = std::chrono::duration<double, std::milli>(s.first_at - t0).count();
    }
  };
  auto reply = http::call("127.0.0.1", port, std::move(req));
  if (!gate_passed) send_gate();  // keep the turn order even when connecting failed
  if (!reported_sent) sent();
  if (!reply) {
    s.error = "client: " + reply.error().message;
    return s;
  }
  s.total_wall_ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
  s.status = reply->status;
  s.region = reply->header("x-regiongate-region");
  s.endpoint = reply->header("x-regiongate-endpoint");
  s.request_id = reply->header("x-regiongate-request-id");
  s.prompt_tokens = lastNumber(reply->body, "\"prompt_tokens\":");
  s.cached_tokens = lastNumber(reply->body, "\"cached_tokens\":");
  if (s.status != 200) s.error = reply->body.substr(0, 200);
  return s;
}

struct RegionMeasure {
  uint64_t requests = 0;
  int64_t prompt_tokens = 0;
  int64_t cached_tokens = 0;
  std::vector<double> ttft_ms;     // in trace milliseconds (wall / compress)
  std::vector<double> harness_ms;  // HarnessDelay::total(), simulated ms
  std::vector<double> fixed_ms;    // inbound + outbound, simulated ms
};

// The slice of the trace both runs replay, with requests that share a timestamp spread apart.
Result<sim::Trace> loadSlice(const PlanValidateOptions& o, const sim::Deployment& d) {
  auto full = sim::readMooncakeTrace(o.trace, o.limit + o.skip);
  if (!full) return full.error();
  sim::Trace trace = full.value();
  if (o.skip > 0)
    trace.requests.erase(
        trace.requests.begin(),
        trace.requests.begin() + std::ptrdiff_t(std::min(o.skip, trace.requests.size())));
  if (trace.requests.empty()) return Error::config("no requests in the slice");
  // The trace's timestamps are coarse (the conversation trace arrives in batches every ~3 s):
  // requests sharing one are spread by spread_ms (after time_scale), in trace order, in both
  // runs, so that the order in which they reach the gateway is the planner's.
  for (size_t i = 1, k = 0; i < trace.requests.size(); ++i) {
    k = full.value().requests[i + o.skip].arrival_ms ==
                full.value().requests[i + o.skip - 1].arrival_ms
            ? k + 1
            : 0;
    trace.requests[i].arrival_ms =
        std::max(trace.requests[i].arrival_ms + double(k) * o.spread_ms / d.time_scale,
                 trace.requests[i - 1].arrival_ms);
  }
  return trace;
}

Result<sim::Deployment> loadDeployment(const PlanValidateOptions& o) {
  auto dep = sim::loadDeploymentFile(o.deployment);
  if (!dep) return dep.error();
  sim::Deployment d = dep.value();
  if (!o.candidate_info.empty()) d.candidate_info = o.candidate_info;
  if (!d.rollouts.empty() || !d.failures.empty()) {
    spdlog::warn(
        "plan-validate: ignoring the deployment's rollouts and failures "
        "(steady-state comparison)");
    d.rollouts.clear();
    d.failures.clear();
  }
  return d;
}

// The requests as the gateway sees them: scaled arrivals, jurisdiction and body of each.
struct Workload {
  sim::Trace scaled;
  std::vector<uint32_t> jurisdiction;
  std::vector<std::string> bodies;
  uint32_t max_output = 1;
};

Workload buildWorkload(const sim::Deployment& d, const sim::Trace& trace, size_t skip) {
  Workload w;
  w.scaled = trace;
  sim::scaleArrivals(w.scaled, d.time_scale);
  // The same jurisdiction assignment as runPlan.
  std::vector<double> cumulative;
  double total_share = 0, acc = 0;
  for (const auto& j : d.jurisdictions) total_share += j.traffic_share;
  for (const auto& j : d.jurisdictions)
    cumulative.push_back((acc += j.traffic_share) / total_share);
  const size_t n = w.scaled.requests.size();
  w.jurisdiction.resize(n);
  w.bodies.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const auto& r = w.scaled.requests[i];
    w.jurisdiction[i] = sim::jurisdictionOf(r.conversation, cumulative);
    w.max_output = std::max(w.max_output, r.output_tokens);
    w.bodies[i] = fmt::format(
        "{{\"model\":\"{}\",\"prompt\":\"{}\",\"max_tokens\":{},\"stream\":true,"
        "\"stream_options\":{{\"include_usage\":true}}}}",
        d.model, promptText(r, trace.tokens_per_block, i + skip),
        std::max<uint32_t>(1, r.output_tokens));
  }
  return w;
}

// Every stream's first-token timing, reported by the mocks' workers (MockOptions::on_first_token)
// and looked up by the gateway's request id after the replay.
class FirstTokenLog {
 public:
  void add(const mock::FirstTokenTiming& t) {
    std::lock_guard lock(mu_);
    by_id_[t.request_id] = t;
  }
  const mock::FirstTokenTiming* find(const std::string& id) const {
    std::lock_guard lock(mu_);
    auto it = by_id_.find(id);
    return id.empty() || it == by_id_.end() ? nullptr : &it->second;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, mock::FirstTokenTiming> by_id_;
};

// One mock backend per instance of every region, stopped on destruction.
struct Backends {
  std::vector<std::unique_ptr<mock::MockBackend>> mocks;
  std::vector<std::pair<std::string, uint16_t>> endpoints;
  std::vector<std::string> regions;
  ~Backends() {
    for (auto& m : mocks) m->stop();
  }
  uint64_t inferenceRequests() const {
    uint64_t n = 0;
    for (const auto& m : mocks) n += m->stats().inference_requests;
    return n;
  }
};

mock::MockOptions mockOptions(const sim::DeployRegion& r, const PlanValidateOptions& o,
                              const sim::Deployment& d, uint32_t tpb, uint32_t max_output,
                              FirstTokenLog& log) {
  mock::MockOptions mo;
  mo.region = r.name;
  mo.models = {{d.model, "v1"}};
  mo.cache_tokens = r.params.kv_tokens;
  mo.block_tokens = tpb;
  mo.latency.prefill_ms_per_token = r.params.prefill_ms_per_token;
  mo.latency.decode_ms_per_token = r.params.decode_ms_per_token;
  mo.latency.ttft_fixed_ms = r.params.ttft_fixed_ms;
  mo.latency.batch_slots = r.params.batch_slots;
  mo.latency.time_scale = o.compress;
  mo.latency.serial_prefill = !o.parallel_prefill;
  mo.latency.exact_pacing = true;
  mo.output_tokens = max_output;
  mo.stream_min_write_ms = o.stream_write_ms;
  mo.on_first_token = [&log](const mock::FirstTokenTiming& t) { log.add(t); };
  mo.admin = false;
  return mo;
}

Status startBackends(Backends& b, const PlanValidateOptions& o, const sim::Deployment& d,
                     uint32_t tpb, uint32_t max_output, FirstTokenLog& log) {
  for (const auto& r : d.regions) {
    for (uint32_t i = 0; i < r.instances; ++i) {
      auto m = std::make_unique<mock::MockBackend>(mockOptions(r, o, d, tpb, max_output, log));
      if (auto st = m->start(); !st)
        return Error::internal(fmt::format("mock {}-{}: {}", r.name, i, st.error().message));
      b.endpoints.emplace_back(fmt::format("{}-{}", r.name, i), m->port());
      b.regions.push_back(r.name);
      b.mocks.push_back(std::move(m));
    }
  }
  return {};
}

Result<std::unique_ptr<gateway::Gateway>> startGateway(const sim::Deployment& d, const Backends& b,
                                                       uint32_t tpb) {
  auto cfg = loadConfigString(gatewayYaml(d, b.endpoints, b.regions, 4 * tpb), "<plan-validate>");
  if (!cfg) return Error::config("gateway config: " + cfg.error().message);
  gateway::GatewayOptions gopts;
  gopts.quiet = true;
  auto gw = gateway::Gateway::create(cfg.value(), gopts);
  if (!gw) return gw.error();
  if (auto st = gw.value()->start(); !st) return st.error();
  return std::move(gw.value());
}

// Measures OverheadModel on a rig of its own, before the replay: the same gateway configuration
// in front of one mock per region whose latency model is off (time_scale 0: the first token is
// ready the moment the prompt is tokenised), so a request's TTFT is nothing but the overhead.
// Probes are requests of the slice itself at sizes spanning it, sent one at a time, three times
// each (median), then fitted.
Result<OverheadModel> measureOverhead(const sim::Deployment& d, const Workload& w, uint32_t tpb) {
  Backends rig;
  for (const auto& r : d.regions) {
    mock::MockOptions mo;
    mo.region = r.name;
    mo.models = {{d.model, "v1"}};
    mo.block_tokens = tpb;
    mo.latency.time_scale = 0;
    mo.output_tokens = 1;
    mo.admin = false;
    auto m = std::make_unique<mock::MockBackend>(mo);
    if (auto st = m->start(); !st)
      return Error::internal(fmt::format("overhead rig: mock {}: {}", r.name, st.error().message));
    rig.endpoints.emplace_back(r.name + "-probe", m->port());
    rig.regions.push_back(r.name);
    rig.mocks.push_back(std::move(m));
  }
  auto gw = startGateway(d, rig, tpb);
  if (!gw) return Error::internal("overhead rig: " + gw.error().message);
  const auto& reqs = w.scaled.requests;
  std::vector<size_t> order(reqs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return reqs[a].input_tokens < reqs[b].input_tokens; });
  const size_t probes = std::min<size_t>(12, order.size());
  std::vector<std::pair<double, double>> points;
  for (size_t p = 0; p < probes; ++p) {
    const size_t i = order[probes == 1 ? 0 : p * (order.size() - 1) / (probes - 1)];
    std::vector<double> walls;
    for (int rep = 0; rep < 3; ++rep) {
      Sample s = sendOne(gw.value()->port(), "sk-validate-" + d.jurisdictions[w.jurisdiction[i]].name,
                         w.bodies[i], [] {}, [] {});
      if (s.status == 200 && s.ttft_wall_ms >= 0) walls.push_back(s.ttft_wall_ms);
    }
    if (!walls.empty()) points.emplace_back(double(reqs[i].input_tokens), quantile(walls, 0.5));
  }
  gw.value()->stop(2000);
  if (points.empty()) return Error::internal("overhead rig: no probe was answered");
  return fitOverhead(points);
}

// What the replay adds to request i beyond the instance model, per request, from the clocks of
// the client and of the mock that served it (one process, one steady clock).
std::vector<HarnessDelay> harnessDelays(const std::vector<Sample>& samples,
                                        const FirstTokenLog& log, double compress,
                                        const std::vector<double>& idle_overhead_sim_ms) {
  using Ms = std::chrono::duration<double, std::milli>;
  std::vector<HarnessDelay> out(samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    const Sample& s = samples[i];
    HarnessDelay& h = out[i];
    h.late = s.late_ms / compress;
    const mock::FirstTokenTiming* t = s.ttft_wall_ms >= 0 ? log.find(s.request_id) : nullptr;
    if (!t) {  // not answered: the idle overhead stands in for its arrival
      h.inbound = idle_overhead_sim_ms[i];
      continue;
    }
    h.measured = true;
    h.inbound = Ms(t->admitted - s.sent_at).count() / compress;
    h.outbound = Ms(s.first_at - t->due).count() / compress;
    h.timer_late_wall_ms = Ms(t->written - t->due).count();
  }
  return out;
}

// The planner's TTFT p50 per region, each request's TTFT plus added_sim_ms[i] (empty: nothing
// added). The replay counts a TTFT from the client's send; the planner's from the arrival at the
// instance, so the harness's inbound and outbound time is added to compare like with like.
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
  for (auto& [region, v] : by_region) p50[region] = quantile(v, 0.5);
  return p50;
}

// Open-loop replay at the scaled arrival times, in trace order.
std::vector<Sample> replay(const PlanValidateOptions& o, const sim::Deployment& d,
                           const Workload& w, const Backends& b, uint16_t port) {
  const auto& reqs = w.scaled.requests;
  const size_t n = reqs.size();
  const double first_ms = reqs.front().arrival_ms;
  if (!o.quiet)
    std::fprintf(stderr,
                 "plan-validate: %zu requests over %.1f s wall (compress %g), %zu mock "
                 "backends, gateway on 127.0.0.1:%u\n",
                 n, (reqs.back().arrival_ms - first_ms) * o.compress / 1e3, o.compress,
                 b.mocks.size(), port);
  std::vector<Sample> samples(n);
  std::atomic<size_t> next{0}, done{0};
  Turnstile turnstile;
  const auto t_start = SteadyClock::now() + std::chrono::milliseconds(200);
  auto client = [&] {
    for (size_t guard = 0; guard < n; ++guard) {
      const size_t i = next.fetch_add(1);
      if (i >= n) return;
      const auto at =
          t_start + std::chrono::nanoseconds(
                        int64_t(std::llround((reqs[i].arrival_ms - first_ms) * o.compress * 1e6)));
      double late = 0;
      samples[i] = sendOne(
          port, "sk-validate-" + d.jurisdictions[w.jurisdiction[i]].name, w.bodies[i],
          [&] {
            turnstile.wait(i);
            std::this_thread::sleep_until(at);
            late = std::chrono::duration<double, std::milli>(SteadyClock::now() - at).count();
          },
          [&] {
            // The next request goes out once this one has reached its backend, so the gateway
            // routes in trace order even when a large body takes a while to arrive (bounded:
            // at most 200 ms wall, then it goes anyway).
            const auto limit = SteadyClock::now() + std::chrono::milliseconds(200);
            for (int spin = 0; spin < 100000 && SteadyClock::now() < limit; ++spin) {
              if (b.inferenceRequests() >= i + 1) break;
              std::this_thread::sleep_for(std::chrono::microseconds(50));
            }
            turnstile.next();
          });
      samples[i].late_ms = late;
      done.fetch_add(1);
    }
  };
  std::vector<std::thread> threads;
  for (size_t t = 0; t < std::min(o.clients, n); ++t) threads.emplace_back(client);
  for (int tick = 0; !o.quiet && tick < 100000 && done.load() < n; ++tick) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (tick % 20 == 19) std::fprintf(stderr, "plan-validate: %zu/%zu done\n", done.load(), n);
  }
  for (auto& th : threads) th.join();
  return samples;
}

// The planner again, on the replay's timeline (a loaded machine sends some late and forwards
// some slowly, and a late request meets other cache contents): each request is routed when the
// client actually sent it, reaches its instance `inbound` later, and the router hears of its
// first token and of its end `outbound` after they happen, as in the gateway. Both runs then
// see one timeline, so what is compared is routing, caching and queueing, not the harness's
// scheduling jitter.
Result<sim::PlanReport> replan(const sim::Deployment& d, const sim::Trace& trace,
                               const std::vector<HarnessDelay>& delays) {
  sim::Trace actual = trace;
  for (size_t i = 0; i < actual.requests.size(); ++i) {
    actual.requests[i].transit_ms = delays[i].inbound;
    actual.requests[i].return_ms = delays[i].outbound;
    actual.requests[i].arrival_ms += delays[i].late / d.time_scale;
    if (i)
      actual.requests[i].arrival_ms =
          std::max(actual.requests[i].arrival_ms, actual.requests[i - 1].arrival_ms);
  }
  return sim::runPlan(d, actual);
}

std::map<std::string, RegionMeasure> measure(const std::vector<Sample>& samples,
                                             const std::vector<HarnessDelay>& delays,
                                             double compress, PlanValidateReport& rep) {
  std::map<std::string, RegionMeasure> measured;
  std::vector<double> late, inbound, outbound, timer_late;
  for (size_t i = 0; i < samples.size(); ++i) {
    const Sample& s = samples[i];
    late.push_back(s.late_ms);
    if (s.status != 200 || s.ttft_wall_ms < 0 || s.prompt_tokens < 0 || s.cached_tokens < 0 ||
        !delays[i].measured) {
      if (rep.first_error.empty())
        rep.first_error = s.status == 200 && s.ttft_wall_ms >= 0 && !delays[i].measured
                              ? "no first-token timing from the mock for request " +
                                    std::to_string(i)
                              : fmt::format("status {} {}", s.status, s.error);
      ++rep.errors;
      continue;
    }
    auto& m = measured[s.region];
    ++m.requests;
    m.prompt_tokens += s.prompt_tokens;
    m.cached_tokens += s.cached_tokens;
    m.ttft_ms.push_back(s.ttft_wall_ms / compress);
    m.harness_ms.push_back(delays[i].total());
    m.fixed_ms.push_back(delays[i].inbound + delays[i].outbound);
    inbound.push_back(delays[i].inbound * compress);
    outbound.push_back(delays[i].outbound * compress);
    timer_late.push_back(delays[i].timer_late_wall_ms);
  }
  rep.late_p50_ms = quantile(late, 0.5);
  rep.late_max_ms = late.empty() ? 0.0 : *std::max_element(late.begin(), late.end());
  rep.inbound_p50_ms = quantile(inbound, 0.5);
  rep.outbound_p50_ms = quantile(outbound, 0.5);
  rep.timer_late_p50_ms = quantile(timer_late, 0.5);
  rep.timer_late_p99_ms = quantile(timer_late, 0.99);
  return measured;
}

Status writeDump(const std::string& path, const PlanValidateOptions& o, const sim::PlanReport& plan,
                 const Workload& w, const sim::Deployment& d, const std::vector<Sample>& samples,
                 const std::vector<HarnessDelay>& delays) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return Error::config("cannot write " + path);
  std::fprintf(f,
               "request,arrival_ms,jurisdiction,input_tokens,output_tokens,plan_instance,"
               "real_instance,plan_cached,real_cached,real_prompt,plan_ttft_ms,"
               "real_ttft_ms,plan_total_ms,real_total_ms,late_ms,inbound_ms,outbound_ms,"
               "timer_late_ms,status\n");
  const auto& outs = plan.outcomes;
  const auto& names = plan.instance_names;
  for (size_t i = 0; i < samples.size() && i < outs.size(); ++i) {
    const auto& po = outs[i];
    const auto& s = samples[i];
    const HarnessDelay& h = delays[i];
    std::fprintf(f, "%zu,%.3f,%s,%u,%u,%s,%s,%u,%lld,%lld,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%d\n",
                 i + o.skip, w.scaled.requests[i].arrival_ms,
                 d.jurisdictions[w.jurisdiction[i]].name.c_str(), po.input_tokens, po.output_tokens,
                 po.instance < names.size() ? names[po.instance].c_str() : "-", s.endpoint.c_str(),
                 po.cached_tokens, (long long)s.cached_tokens, (long long)s.prompt_tokens,
                 po.ttft_ms + h.outbound, s.ttft_wall_ms / o.compress,
                 po.done_ms - po.arrival_ms, s.total_wall_ms / o.compress, s.late_ms,
                 h.inbound * o.compress, h.outbound * o.compress, h.timer_late_wall_ms, s.status);
  }
  std::fclose(f);
  return {};
}

std::vector<RegionCheck> compare(const sim::PlanReport& plan,
                                 const std::map<std::string, RegionMeasure>& measured,
                                 const PlanValidateOptions& o,
                                 const std::vector<HarnessDelay>& delays) {
  // As measured (plus the way back), and the instance model's alone (minus the way in).
  std::vector<double> back(delays.size()), minus_in(delays.size());
  for (size_t i = 0; i < delays.size(); ++i) {
    back[i] = delays[i].outbound;
    minus_in[i] = -delays[i].inbound;
  }
  const auto plan_p50 = ttftP50WithOverhead(plan, back);
  const auto model_p50 = ttftP50WithOverhead(plan, minus_in);
  std::vector<RegionCheck> out;
  for (const auto& rr : plan.regions) {
    RegionMeasure m;
    if (auto it = measured.find(rr.name); it != measured.end()) m = it->second;
    RegionCheck c;
    c.name = rr.name;
    c.plan_requests = rr.summary.served;
    c.real_requests = m.requests;
    c.plan_hit = rr.summary.tokenHitRate();
    c.real_hit = m.prompt_tokens > 0 ? double(m.cached_tokens) / double(m.prompt_tokens) : 0;
    auto p = plan_p50.find(rr.name);
    c.plan_ttft_p50 = p == plan_p50.end() ? 0.0 : p->second;
    c.real_ttft_p50 = quantile(m.ttft_ms, 0.5);
    auto mp = model_p50.find(rr.name);
    c.plan_model_ttft_p50 = mp == model_p50.end() ? 0.0 : mp->second;
    c.harness_p50 = quantile(m.harness_ms, 0.5);
    c.harness_fixed_p50 = quantile(m.fixed_ms, 0.5);
    out.push_back(judgeRegion(std::move(c), o.hit_points, o.ttft_percent));
  }
  return out;
}

}  // namespace

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
      for (size_t i = 0; i < j.countries.size(); ++i) y += (i ? ", " : "") + j.countries[i];
      y += "]";
    }
    y += " }\n";
  }
  y += "regions:\n";
  for (const auto& r : d.regions) y += fmt::format("  {}: {{ country: {} }}\n", r.name, r.country);
  y += "endpoints:\n";
  for (size_t i = 0; i < endpoints.size(); ++i)
    y += fmt::format(
        "  - {{ name: {}, url: \"http://127.0.0.1:{}\", region: {}, models: [{}], "
        "evidence: \"header:x-inference-region\" }}\n",
        endpoints[i].first, endpoints[i].second, endpoint_regions[i], d.model);
  y += "tenants:\n";
  for (const auto& j : d.jurisdictions)
    y += fmt::format("  - {{ name: tenant-{}, key_sha256: {}, jurisdiction: {} }}\n", j.name,
                     sha256Hex("sk-validate-" + j.name), j.name);
  y += fmt::format(
      "routing: {{ policy: {}, retries: 0, per_try_timeout_ms: 600000, "
      "upstream_timeout_ms: 3600000, block_chars: {} }}\n",
      d.policy, block_chars);
  y += "health: { interval_ms: 0 }\n"
       "limits: { max_body_bytes: 16777216 }\n"
       "audit: { sink: none }\n";
  return y;
}

RegionCheck judgeRegion(RegionCheck c, double hit_points, double ttft_percent) {
  const double hd = 100.0 * (c.real_hit - c.plan_hit);
  const double pp = c.plan_ttft_p50, mp = c.real_ttft_p50;
  const double td = pp > 0 ? 100.0 * (mp - pp) / pp : (mp > 0 ? 100.0 : 0.0);
  c.hit_ok = std::fabs(hd) <= hit_points;
  c.ttft_ok = std::fabs(td) <= ttft_percent;
  c.saturated = !c.empty() && c.harness_p50 > ttft_percent / 100.0 * c.plan_model_ttft_p50;
  return c;
}

std::string RegionCheck::verdict() const {
  if (empty()) return "no traffic";
  if (saturated) return hit_ok && ttft_ok ? "SATURATED (agrees)" : "SATURATED";
  if (hit_ok && ttft_ok) return "PASS";
  if (!hit_ok && !ttft_ok) return "FAIL (hit, TTFT)";
  return hit_ok ? "FAIL (TTFT)" : "FAIL (hit)";
}

double OverheadModel::wallMs(uint32_t tokens) const {
  return std::max(0.0, fixed_ms + per_ktoken_ms * double(tokens) / 1000.0);
}

OverheadModel fitOverhead(const std::vector<std::pair<double, double>>& points) {
  OverheadModel m;
  if (points.empty()) return m;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  const double n = double(points.size());
  for (auto [x, y] : points) {
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const double den = n * sxx - sx * sx;
  const double slope = std::max(0.0, den > 1e-9 ? (n * sxy - sx * sy) / den : 0.0);
  m.per_ktoken_ms = slope * 1000.0;
  m.fixed_ms = (sy - slope * sx) / n;
  return m;
}

Outcome PlanValidateReport::outcome() const {
  if (errors > 0) return Outcome::Fail;
  if (std::any_of(regions.begin(), regions.end(), [](const auto& r) { return r.saturated; }))
    return Outcome::Saturated;
  const bool ok =
      std::all_of(regions.begin(), regions.end(), [](const auto& r) { return r.ok(); });
  return ok ? Outcome::Pass : Outcome::Fail;
}

int exitCode(Outcome o) {
  switch (o) {
    case Outcome::Pass: return 0;
    case Outcome::Fail: return 1;
    case Outcome::Saturated: return 3;
  }
  return 1;
}

std::string_view outcomeName(Outcome o) {
  switch (o) {
    case Outcome::Pass: return "PASS";
    case Outcome::Fail: return "FAIL";
    case Outcome::Saturated: return "SATURATED";
  }
  return "FAIL";
}

double PlanValidateReport::minUsableCompress() const {
  double c = 0;
  for (const auto& r : regions) {
    if (r.empty() || r.plan_model_ttft_p50 <= 0) continue;
    // harness_fixed_p50 (simulated) = wall / compress; within the tolerance needs
    // wall / c <= ttft_percent % x plan_model_ttft_p50.
    c = std::max(c, r.harness_fixed_p50 * compress /
                        (ttft_percent / 100.0 * r.plan_model_ttft_p50));
  }
  return c;
}

std::string PlanValidateReport::text() const {
  std::string out = fmt::format(
      "plan-validate: deployment {}, policy {} (candidate_info {}), {} requests of {} "
      "(skip {}), compress {:g}, spread {:g} ms, {} prefill in the mocks\n",
      deployment, policy, candidate_info, requests, trace_source, skip, compress, spread_ms,
      parallel_prefill ? "parallel" : "serial");
  out += fmt::format(
      "replay {:.1f} s wall (planner {:.2f} s); client send lateness p50 {:.2f} "
      "ms, max {:.2f} ms wall; errors {}{}{}\n",
      replay_s, plan_s, late_p50_ms, late_max_ms, errors,
      first_error.empty() ? "" : " — first: ", first_error);
  out += fmt::format(
      "per-request overhead idle (gateway + loopback + mock parsing, measured before the "
      "replay): {:.2f} ms + {:.3f} ms per 1k prompt tokens wall = {:.0f} simulated ms at the "
      "median prompt\n",
      overhead.fixed_ms, overhead.per_ktoken_ms, overhead_median_sim_ms);
  out += fmt::format(
      "harness time measured per request during the replay (wall p50): send -> mock admission "
      "{:.2f} ms, modelled first token -> client {:.2f} ms (mock timer late p50 {:.2f} ms, p99 "
      "{:.2f} ms); added to the planner's arrivals and TTFT\n\n",
      inbound_p50_ms, outbound_p50_ms, timer_late_p50_ms, timer_late_p99_ms);
  out +=
      "| region | requests plan / real | hit rate plan | hit rate real | diff (points) "
      "| TTFT p50 plan ms | TTFT p50 real ms | diff | harness p50 ms | verdict |\n";
  out += "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : regions) {
    const double td = r.plan_ttft_p50 > 0
                          ? 100.0 * (r.real_ttft_p50 - r.plan_ttft_p50) / r.plan_ttft_p50
                          : (r.real_ttft_p50 > 0 ? 100.0 : 0.0);
    out += fmt::format(
        "| {} | {} / {} | {:.1f} % | {:.1f} % | {:+.1f} | {:.0f} | {:.0f} | "
        "{:+.1f} % | {:.0f} | {} |\n",
        r.name, r.plan_requests, r.real_requests, 100 * r.plan_hit, 100 * r.real_hit,
        100 * (r.real_hit - r.plan_hit), r.plan_ttft_p50, r.real_ttft_p50, td, r.harness_p50,
        r.verdict());
  }
  out += "\n";
  for (const auto& r : regions)
    out += fmt::format(
        "check {} plan_requests={} real_requests={} plan_hit={:.4f} "
        "real_hit={:.4f} plan_ttft_p50={:.3f} real_ttft_p50={:.3f} "
        "plan_model_ttft_p50={:.3f} harness_p50={:.3f} saturated={}\n",
        r.name, r.plan_requests, r.real_requests, r.plan_hit, r.real_hit, r.plan_ttft_p50,
        r.real_ttft_p50, r.plan_model_ttft_p50, r.harness_p50, r.saturated ? 1 : 0);
  out += fmt::format("errors={}\nmin_usable_compress={:.4f}\n", errors, minUsableCompress());
  const Outcome verdict = outcome();
  if (verdict == Outcome::Saturated)
    return out + fmt::format(
                     "plan-validate: SATURATED: harness saturated at compress {:g} (its own "
                     "delays exceed {:g} % of the planner's TTFT p50; minimum usable compress "
                     "on this machine ~{:.2g}); not a verdict on the planner\n",
                     compress, ttft_percent, minUsableCompress());
  return out + fmt::format(
                   "plan-validate: {} (hit rate within {:g} points, TTFT p50 within {:g} %)\n",
                   outcomeName(verdict), hit_points, ttft_percent);
}

Result<PlanValidateReport> runPlanValidate(const PlanValidateOptions& o) {
  auto dep = loadDeployment(o);
  if (!dep) return dep.error();
  const sim::Deployment& d = dep.value();
  auto slice = loadSlice(o, d);
  if (!slice) return slice.error();
  const sim::Trace& trace = slice.value();
  const uint32_t tpb = trace.tokens_per_block;

  const auto t_plan = SteadyClock::now();
  auto first_plan = sim::runPlan(d, trace);  // checks the deployment before anything starts
  if (!first_plan) return first_plan.error();
  double plan_s = std::chrono::duration<double>(SteadyClock::now() - t_plan).count();

  const Workload w = buildWorkload(d, trace, o.skip);
  // The fixed per-request overhead, measured before the replay (OverheadModel).
  auto overhead = measureOverhead(d, w, tpb);
  if (!overhead) return overhead.error();
  std::vector<double> overhead_sim_ms(w.scaled.requests.size());  // wall / compress
  for (size_t i = 0; i < overhead_sim_ms.size(); ++i)
    overhead_sim_ms[i] = overhead->wallMs(w.scaled.requests[i].input_tokens) / o.compress;
  FirstTokenLog first_tokens;  // outlives the mocks that write to it
  Backends backends;
  if (auto st = startBackends(backends, o, d, tpb, w.max_output, first_tokens); !st)
    return st.error();
  auto gw = startGateway(d, backends, tpb);
  if (!gw) return gw.error();
  const auto t_start = SteadyClock::now();
  const auto samples = replay(o, d, w, backends, gw.value()->port());
  PlanValidateReport rep;
  rep.replay_s = std::chrono::duration<double>(SteadyClock::now() - t_start).count();
  gw.value()->stop(2000);
  const auto delays = harnessDelays(samples, first_tokens, o.compress, overhead_sim_ms);

  const auto t_replan = SteadyClock::now();
  auto plan = replan(d, trace, delays);
  if (!plan) return plan.error();
  plan_s += std::chrono::duration<double>(SteadyClock::now() - t_replan).count();

  const auto measured = measure(samples, delays, o.compress, rep);
  if (!o.dump.empty())
    if (auto st = writeDump(o.dump, o, plan.value(), w, d, samples, delays); !st)
      return st.error();
  rep.deployment = d.name;
  rep.policy = d.policy;
  rep.candidate_info = d.candidate_info;
  rep.trace_source = trace.source;
  rep.requests = trace.requests.size();
  rep.skip = o.skip;
  rep.compress = o.compress;
  rep.spread_ms = o.spread_ms;
  rep.parallel_prefill = o.parallel_prefill;
  rep.plan_s = plan_s;
  rep.hit_points = o.hit_points;
  rep.ttft_percent = o.ttft_percent;
  rep.overhead = overhead.value();
  rep.overhead_median_sim_ms = quantile(overhead_sim_ms, 0.5);
  rep.regions = compare(plan.value(), measured, o, delays);
  return rep;
}

}  // namespace regiongate::validate
