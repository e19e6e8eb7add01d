#include "mock/mock_backend.h"

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <random>

#include "common/hash.h"
#include "common/json.h"
#include "http/server.h"
#include "inference/kv_cache.h"
#include "inference/tokenizer.h"
#include "mock/completion_body.h"
#include "mock/kv_event_publisher.h"
#include "mock/request_log.h"
#include "mock/request_parser.h"

namespace regiongate::mock {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

// Waits on an asio timer (never blocks the worker); no timer at all for ms <= 0.
asio::awaitable<void> sleepMs(double ms) {
  if (ms <= 0) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(std::chrono::microseconds(std::llround(ms * 1000)));
  co_await timer.async_wait(use_nothrow);
}

// Until `ms` after `from` (inference::LatencyParams::exact_pacing: no drift from the time spent
// writing).
asio::awaitable<void> sleepUntil(std::chrono::steady_clock::time_point from, double ms) {
  const auto at = from + std::chrono::microseconds(std::llround(ms * 1000));
  if (at <= std::chrono::steady_clock::now()) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_at(at);
  co_await timer.async_wait(use_nothrow);
}

std::string hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string_view errorType(unsigned status) {
  if (status == 429) return "rate_limit_exceeded";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

}  // namespace

Result<ModelSpec> parseModelSpec(std::string_view spec) {
  ModelSpec m;
  auto at = spec.find('@');
  m.name = std::string(spec.substr(0, at));
  if (at != std::string_view::npos) m.version = std::string(spec.substr(at + 1));
  if (m.name.empty() || m.version.empty() || m.version.find('@') != std::string::npos)
    return Error::config("--model '" + std::string(spec) + "' is not NAME[@VERSION]");
  return m;
}

Status validateOptions(const MockOptions& o) {
  if (o.region.empty()) return Error::config("--region is required");
  if (o.models.empty()) return Error::config("at least one --model is required");
  if (o.block_tokens == 0) return Error::config("--block-tokens must be > 0");
  if (o.workers == 0 || o.workers > 256) return Error::config("--workers must be in [1, 256]");
  if (o.latency.batch_slots == 0) return Error::config("--batch-slots must be > 0");
  if (o.latency.time_scale < 0) return Error::config("--time-scale must be >= 0");
  if (o.latency.prefill_ms_per_token < 0 || o.latency.decode_ms_per_token < 0 ||
      o.latency.ttft_fixed_ms < 0)
    return Error::config("latency parameters must be >= 0");
  if (!(o.stream_min_write_ms >= 0 && o.stream_min_write_ms <= 60000))
    return Error::config("--stream-min-write-ms must be in [0, 60000]");
  if (!(o.divergence >= 0 && o.divergence <= 1))
    return Error::config("--divergence must be in [0, 1]");
  auto f = validateFaults(o.faults);
  if (!f) return Error::config(f.error().message);
  for (size_t i = 0; i < o.models.size(); ++i)
    for (size_t j = i + 1; j < o.models.size(); ++j)
      if (o.models[i].name == o.models[j].name)
        return Error::config("--model '" + o.models[i].name + "' given twice");
  return {};
}

struct ModelState {
  ModelState(ModelSpec s, uint64_t cache_tokens, uint32_t block_tokens)
      : name(std::move(s.name)), version(std::move(s.version)), cache(cache_tokens, block_tokens) {}
  const std::string name;
  std::mutex mu;  // guards version and cache (short critical sections, no I/O under it)
  std::string version;
  inference::KvCache cache;
};

struct MockBackend::Impl {
  explicit Impl(MockOptions o)
      : opts(std::move(o)),
        clock(opts.clock ? opts.clock : &SystemClock::instance()),
        faults(std::make_shared<const FaultConfig>(opts.faults)),
        latency(opts.latency, *clock) {
    // Models exist from construction so setVersion() works before start().
    for (const auto& spec : opts.models)
      models.push_back(std::make_unique<ModelState>(spec, opts.cache_tokens, opts.block_tokens));
  }

  MockOptions opts;
  const Clock* clock;
  std::vector<std::unique_ptr<ModelState>> models;
  mutable std::mutex faults_mu;
  std::shared_ptr<const FaultConfig> faults;
  std::mutex latency_mu;
  inference::LatencyModel latency;
  std::unique_ptr<RequestLog> log;
  std::unique_ptr<KvEventPublisher> publisher;
  std::unique_ptr<http::HttpServer> server;
  std::vector<std::mt19937_64> rngs;  // one per worker, touched only on that worker
  std::atomic<uint64_t> seq{0};

  std::atomic<uint64_t> requests{0}, inference_requests{0}, stream_requests{0}, bad_requests{0},
      errors_injected{0}, hung{0}, closed_mid_stream{0}, reported_other{0}, prompt_tokens{0},
      cached_tokens{0}, completion_tokens{0}, in_flight{0};

  std::shared_ptr<const FaultConfig> faultSnapshot() const {
    std::lock_guard lock(faults_mu);
    return faults;
  }
  double draw(size_t worker) {
    return static_cast<double>(rngs[worker]() >> 11) / static_cast<double>(1ull << 53);
  }
  ModelState* findModel(std::string_view requested, std::string_view* version_req) {
    auto at = requested.find('@');
    std::string_view name = requested.substr(0, at);
    if (at != std::string_view::npos) *version_req = requested.substr(at + 1);
    for (auto& m : models)
      if (m->name == name) return m.get();
    return nullptr;
  }
  void writeLog(const RequestLogEntry& e) {
    if (log) log->write(e);
  }

  asio::awaitable<void> handle(http::Request& req, http::ResponseWriter& out, size_t worker);
  asio::awaitable<void> inference(http::Request& req, http::ResponseWriter& out, size_t worker,
                                  ApiKind kind);
  asio::awaitable<void> admin(http::Request& req, http::ResponseWriter& out, std::string_view path);
  std::string modelsJson() const;
  MockStats snapshot();
  std::string statsJson();
};

asio::awaitable<void> MockBackend::Impl::handle(http::Request& req, http::ResponseWriter& out,
                                                size_t worker) {
  requests.fetch_add(1, std::memory_order_relaxed);
  std::string_view target = req.target();
  std::string_view path = target.substr(0, target.find('?'));
  const bool get = req.method() == bhttp::verb::get;
  const bool post = req.method() == bhttp::verb::post;
  if (path == "/v1/chat/completions" && post) {
    co_await inference(req, out, worker, ApiKind::Chat);
  } else if (path == "/v1/completions" && post) {
    co_await inference(req, out, worker, ApiKind::Text);
  } else if (path == "/health" && get) {
    std::string body = "{\"status\":\"ok\",\"region\":";
    appendJsonString(body, opts.region);
    body += '}';
    co_await out.sendJson(200, std::move(body));
  } else if (path == "/v1/models" && get) {
    co_await out.sendJson(200, modelsJson());
  } else if (opts.admin && path.starts_with("/admin/")) {
    co_await admin(req, out, path);
  } else {
    bool known = path == "/v1/chat/completions" || path == "/v1/completions" ||
                 path == "/health" || path == "/v1/models";
    co_await out.sendJson(known ? 405 : 404,
                          errorBody("invalid_request_error", known ? "method_not_allowed" : "not_found",
                                    "no route for " + std::string(req.method_string()) + " " +
                                        std::string(path)));
  }
}

std::string MockBackend::Impl::modelsJson() const {
  std::string body = "{\"object\":\"list\",\"data\":[";
  bool first = true;
  for (auto& m : models) {
    std::string version;
    {
      std::lock_guard lock(m->mu);
      version = m->version;
    }
    if (!first) body += ',';
    first = false;
    body += "{\"id\":";
    appendJsonString(body, m->name);
    body += ",\"object\":\"model\",\"created\":0,\"owned_by\":\"regiongate-mock\",\"version\":";
    appendJsonString(body, version);
    body += ",\"root\":";
    appendJsonString(body, m->name + "@" + version);
    body += '}';
  }
  body += "]}";
  return body;
}

asio::awaitable<void> MockBackend::Impl::inference(http::Request& req, http::ResponseWriter& out,
                                                   size_t worker, ApiKind kind) {
  inference_requests.fetch_add(1, std::memory_order_relaxed);
  in_flight.fetch_add(1, std::memory_order_relaxed);
  struct InFlight {
    std::atomic<uint64_t>& n;
    ~InFlight() { n.fetch_sub(1, std::memory_order_relaxed); }
  } in_flight_guard{in_flight};

  auto faults_now = faultSnapshot();
  const FaultConfig& f = *faults_now;
  RequestLogEntry entry;
  entry.ts_micros = clock->wallMicros();
  entry.request_id = std::string(req["x-regiongate-request-id"]);
  entry.path = kind == ApiKind::Chat ? "/v1/chat/completions" : "/v1/completions";

  auto parsed = parseInferenceRequest(req.body(), kind);
  if (!parsed) {
    bad_requests.fetch_add(1, std::memory_order_relaxed);
    entry.status = 400;
    writeLog(entry);
    co_await out.sendJson(400, errorBody("invalid_request_error", "invalid_request",
                                         parsed.error().message));
    co_return;
  }
  InferenceRequest& r = *parsed;
  entry.model = r.model;
  entry.stream = r.stream;
  std::string_view version_req;
  ModelState* model = findModel(r.model, &version_req);
  entry.prompt_hash = xxh3(r.prompt_text);
  if (!model) {
    bad_requests.fetch_add(1, std::memory_order_relaxed);
    entry.status = 404;
    writeLog(entry);
    co_await out.sendJson(404, errorBody("invalid_request_error", "model_not_found",
                                         "the model '" + r.model + "' does not exist here"));
    co_return;
  }
  if (r.stream) stream_requests.fetch_add(1, std::memory_order_relaxed);

  // Region evidence for this answer.
  std::string answered = opts.region;
  if (f.report_fraction > 0 && draw(worker) < f.report_fraction) {
    answered = f.report_region;
    reported_other.fetch_add(1, std::memory_order_relaxed);
  }
  entry.region = answered;
  std::vector<std::pair<std::string, std::string>> headers;
  if (!f.omit_region_header) headers.emplace_back("x-inference-region", answered);

  auto tokens = inference::Tokenizer::encode(r.prompt_text);
  const uint64_t n_prompt = tokens.size();
  entry.prompt_tokens = n_prompt;

  if (f.error_rate > 0 && draw(worker) < f.error_rate) {
    errors_injected.fetch_add(1, std::memory_order_relaxed);
    entry.status = f.error_status;
    entry.fault = "error";
    writeLog(entry);
    co_await out.sendJson(f.error_status,
                          errorBody(errorType(f.error_status), "injected_fault",
                                    "mock backend fault: error_status " +
                                        std::to_string(f.error_status)),
                          headers);
    co_return;
  }
  if (f.hang) {
    hung.fetch_add(1, std::memory_order_relaxed);
    entry.status = 0;
    entry.fault = "hang";
    writeLog(entry);
    // Never answer: wait until the client closes (or sends more), then drop the connection.
    auto& sock = out.stream();
    co_await sock.async_wait(tcp::socket::wait_read, use_nothrow);
    out.setKeepAlive(false);
    boost::system::error_code ec;
    sock.shutdown(tcp::socket::shutdown_both, ec);
    co_return;
  }

  // KV cache: the last prompt token is always computed (as in vLLM), so at most
  // floor((n-1)/B) blocks can be served from cache.
  inference::BlockSeq blocks = inference::makeBlocks(std::move(tokens), opts.block_tokens);
  uint64_t cached = 0;
  std::string version;
  {
    std::lock_guard lock(model->mu);
    version = model->version;
    cached = model->cache.lookup(blocks, n_prompt == 0 ? 0 : (n_prompt - 1) / opts.block_tokens);
    model->cache.insert(blocks);
  }
  if (!version_req.empty() && version_req != version) {
    bad_requests.fetch_add(1, std::memory_order_relaxed);
    entry.status = 404;
    writeLog(entry);
    co_await out.sendJson(404, errorBody("invalid_request_error", "model_not_found",
                                         "the model '" + r.model + "' does not exist here; "
                                         "serving version '" + version + "'"), headers);
    co_return;
  }
  entry.cached_tokens = cached;

  const uint32_t out_n = r.max_tokens ? std::min(*r.max_tokens, opts.output_tokens)
                                      : opts.output_tokens;
  const std::string_view finish =
      r.max_tokens && *r.max_tokens < opts.output_tokens ? "length" : "stop";
  inference::LatencyPlan plan;
  bool exact_pacing = false;
  {
    std::lock_guard lock(latency_mu);
    plan = latency.admit(n_prompt - cached, out_n);
    exact_pacing = latency.params().exact_pacing;
  }
  const auto admitted = std::chrono::steady_clock::now();
  prompt_tokens.fetch_add(n_prompt, std::memory_order_relaxed);
  cached_tokens.fetch_add(cached, std::memory_order_relaxed);
  completion_tokens.fetch_add(out_n, std::memory_order_relaxed);

  entry.status = 200;
  if (f.close_mid_stream) entry.fault = "close_mid_stream";
  else if (f.slow_first_byte_ms > 0) entry.fault = "slow_first_byte";
  writeLog(entry);

  auto words = outputWords(entry.prompt_hash, out_n, divergesFor(entry.prompt_hash, opts.divergence));
  CompletionMeta meta;
  meta.kind = kind;
  meta.id = std::string(kind == ApiKind::Chat ? "chatcmpl-" : "cmpl-") +
            hex16(xxh3(entry.request_id, seq.fetch_add(1, std::memory_order_relaxed)));
  meta.created = clock->wallMicros() / 1'000'000;
  meta.model = model->name + "@" + version;
  meta.fingerprint = "fp_" + version;
  UsageInfo usage{n_prompt, out_n, cached, answered};
  headers.emplace_back("x-model-version", version);

  co_await sleepMs(static_cast<double>(f.slow_first_byte_ms));  // a fault: real time, not scaled

  if (!r.stream) {
    co_await sleepMs(plan.totalMs());
    std::string text;
    for (size_t i = 0; i < words.size(); ++i) {
      if (i) text.push_back(' ');
      text.append(words[i]);
    }
    std::string body = completionBody(meta, text, finish, usage);
    if (f.close_mid_stream) {
      closed_mid_stream.fetch_add(1, std::memory_order_relaxed);
      bhttp::response<bhttp::empty_body> head{bhttp::status::ok, out.version()};
      head.set(bhttp::field::content_type, "application/json");
      for (auto& [k, v] : headers) head.set(k, v);
      if (co_await out.begin(std::move(head)))
        co_await out.chunk(std::string_view(body).substr(0, body.size() / 2));
      out.setKeepAlive(false);  // the server closes the connection without the last chunk
      co_return;
    }
    co_await out.sendJson(200, std::move(body), std::move(headers));
    co_return;
  }

  if (exact_pacing)
    co_await sleepUntil(admitted, plan.ttftMs());
  else
    co_await sleepMs(plan.ttftMs());
  bhttp::response<bhttp::empty_body> head{bhttp::status::ok, out.version()};
  head.set(bhttp::field::content_type, "text/event-stream");
  head.set(bhttp::field::cache_control, "no-cache");
  for (auto& [k, v] : headers) head.set(k, v);
  if (!co_await out.begin(std::move(head))) co_return;
  const uint32_t cut = std::max<uint32_t>(1, out_n / 2);
  const auto writes = plan.writePoints(opts.stream_min_write_ms);
  size_t next_write = 0;
  uint32_t written = 0;  // tokens written so far
  std::string pending;   // SSE events of tokens not written yet
  for (uint32_t i = 0; i < out_n; ++i) {
    std::string delta = i == 0 ? std::string(words[i]) : " " + std::string(words[i]);
    std::string_view fin = i + 1 == out_n ? finish : std::string_view{};
    pending += sseEvent(chunkBody(meta, delta, i == 0, fin));
    const bool cut_here = f.close_mid_stream && i + 1 >= cut;
    if (next_write < writes.size() && writes[next_write] == i) ++next_write;
    else if (!cut_here) continue;
    // Token i is the last of this write: it goes out when token i is ready.
    if (i > 0 && exact_pacing)
      co_await sleepUntil(admitted, plan.tokenReadyMs(i));
    else if (i > 0)
      co_await sleepMs(plan.decode_ms_per_token * (i + 1 - written));
    if (!co_await out.chunk(pending)) co_return;
    if (written == 0 && opts.on_first_token)
      opts.on_first_token(FirstTokenTiming{
          entry.request_id, admitted,
          admitted + std::chrono::microseconds(std::llround(plan.ttftMs() * 1000)),
          std::chrono::steady_clock::now()});
    pending.clear();
    written = i + 1;
    if (cut_here) {
      closed_mid_stream.fetch_add(1, std::memory_order_relaxed);
      out.setKeepAlive(false);
      co_return;  // no end(): the server closes the connection mid-body
    }
  }
  if (out_n == 0) {
    if (!co_await out.chunk(sseEvent(chunkBody(meta, "", true, finish)))) co_return;
    if (f.close_mid_stream) {
      closed_mid_stream.fetch_add(1, std::memory_order_relaxed);
      out.setKeepAlive(false);
      co_return;
    }
  }
  const bool include_usage = opts.stream_usage == StreamUsage::Always
                                 ? r.include_usage.value_or(true)
                                 : r.include_usage.value_or(false);
  if (include_usage && !co_await out.chunk(sseEvent(usageChunkBody(meta, usage)))) co_return;
  if (!co_await out.chunk("data: [DONE]\n\n")) co_return;
  co_await out.end();
}

asio::awaitable<void> MockBackend::Impl::admin(http::Request& req, http::ResponseWriter& out,
                                               std::string_view path) {
  const bool get = req.method() == bhttp::verb::get;
  const bool post = req.method() == bhttp::verb::post;
  if (path == "/admin/faults" && get) {
    co_await out.sendJson(200, faultsJson(*faultSnapshot()));
  } else if (path == "/admin/faults" && post) {
    FaultConfig f = *faultSnapshot();
    auto st = applyFaultsJson(req.body(), f);
    if (!st) {
      co_await out.sendJson(400, errorBody("invalid_request_error", "invalid_faults",
                                           st.error().message));
      co_return;
    }
    {
      std::lock_guard lock(faults_mu);
      faults = std::make_shared<const FaultConfig>(f);
    }
    co_await out.sendJson(200, faultsJson(f));
  } else if (path == "/admin/version" && post) {
    auto change = parseVersionChange(req.body());
    if (!change) {
      co_await out.sendJson(400, errorBody("invalid_request_error", "invalid_version",
                                           change.error().message));
      co_return;
    }
    ModelState* m = nullptr;
    for (auto& ms : models)
      if (ms->name == change->model) m = ms.get();
    if (!m) {
      co_await out.sendJson(404, errorBody("invalid_request_error", "model_not_found",
                                           "no model '" + change->model + "'"));
      co_return;
    }
    {
      std::lock_guard lock(m->mu);
      m->version = change->version;
      m->cache.clear();
    }
    co_await out.sendJson(200, modelsJson());
  } else if (path == "/admin/stats" && get) {
    co_await out.sendJson(200, statsJson());
  } else {
    co_await out.sendJson(404, errorBody("invalid_request_error", "not_found",
                                         "no admin route " + std::string(path)));
  }
}

MockStats MockBackend::Impl::snapshot() {
  MockStats st;
  auto r = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  st.requests = r(requests);
  st.inference_requests = r(inference_requests);
  st.stream_requests = r(stream_requests);
  st.bad_requests = r(bad_requests);
  st.errors_injected = r(errors_injected);
  st.hung = r(hung);
  st.closed_mid_stream = r(closed_mid_stream);
  st.reported_other_region = r(reported_other);
  st.prompt_tokens = r(prompt_tokens);
  st.cached_tokens = r(cached_tokens);
  st.completion_tokens = r(completion_tokens);
  st.in_flight = r(in_flight);
  for (auto& m : models) {
    std::lock_guard lock(m->mu);
    st.cache_blocks += m->cache.sizeBlocks();
    st.evicted_blocks += m->cache.stats().evicted_blocks;
  }
  std::lock_guard lock(latency_mu);
  st.busy_slots = latency.busySlots();
  st.queued = latency.queued();
  return st;
}

std::string MockBackend::Impl::statsJson() {
  MockStats st = snapshot();
  std::string out = "{\"region\":";
  appendJsonString(out, opts.region);
  auto add = [&](const char* k, uint64_t v) {
    out += ",\"";
    out += k;
    out += "\":";
    out += std::to_string(v);
  };
  add("requests", st.requests);
  add("inference_requests", st.inference_requests);
  add("stream_requests", st.stream_requests);
  add("bad_requests", st.bad_requests);
  add("errors_injected", st.errors_injected);
  add("hung", st.hung);
  add("closed_mid_stream", st.closed_mid_stream);
  add("reported_other_region", st.reported_other_region);
  add("prompt_tokens", st.prompt_tokens);
  add("cached_tokens", st.cached_tokens);
  add("completion_tokens", st.completion_tokens);
  add("in_flight", st.in_flight);
  add("cache_blocks", st.cache_blocks);
  add("evicted_blocks", st.evicted_blocks);
  add("busy_slots", st.busy_slots);
  add("queued", st.queued);
  out += ",\"models\":" + modelsJson() + "}";
  return out;
}

// ---------------------------------------------------------------- MockBackend

MockBackend::MockBackend(MockOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

MockBackend::~MockBackend() { stop(0); }

const MockOptions& MockBackend::options() const { return impl_->opts; }

Status MockBackend::start() {
  auto& im = *impl_;
  if (im.server) return Error::internal("mock backend already started");
  auto valid = validateOptions(im.opts);
  if (!valid) return valid;
  if (!im.opts.request_log.empty()) {
    auto log = RequestLog::open(im.opts.request_log);
    if (!log) return log.error();
    im.log = std::move(*log);
  }
  if (!im.opts.kv_events.empty()) {
    auto pub = KvEventPublisher::start(im.opts.kv_events, im.opts.kv_events_topic, *im.clock);
    if (!pub) return pub.error();
    im.publisher = std::move(*pub);
  }
  for (auto& m : im.models) {
    std::lock_guard lock(m->mu);
    if (im.publisher) {
      KvEventPublisher* pub = im.publisher.get();
      m->cache.setEventCallback([pub](const inference::KvEvent& e) { pub->publish(e); });
    }
  }
  im.rngs.clear();
  for (size_t i = 0; i < im.opts.workers; ++i) im.rngs.emplace_back(im.opts.seed * 7919 + i);

  http::ServerOptions so;
  so.listen = im.opts.listen;
  so.workers = im.opts.workers;
  so.server_name = "regiongate-mock";
  so.max_body_bytes = 16u << 20;
  Impl* raw = impl_.get();
  im.server = std::make_unique<http::HttpServer>(
      so, [raw](http::Request& req, http::ResponseWriter& out, size_t worker) {
        return raw->handle(req, out, worker);
      });
  auto st = im.server->start();
  if (!st) {
    im.server.reset();
    return st;
  }
  return {};
}

uint16_t MockBackend::port() const { return impl_->server ? impl_->server->port() : 0; }

void MockBackend::stop(uint32_t deadline_ms) {
  if (!impl_ || !impl_->server) return;
  impl_->server->stop(deadline_ms);
  impl_->server.reset();
  for (auto& m : impl_->models) {
    std::lock_guard lock(m->mu);
    m->cache.setEventCallback(nullptr);
  }
  impl_->publisher.reset();
  impl_->log.reset();
}

void MockBackend::setFaults(const FaultConfig& faults) {
  std::lock_guard lock(impl_->faults_mu);
  impl_->faults = std::make_shared<const FaultConfig>(faults);
}

FaultConfig MockBackend::faults() const { return *impl_->faultSnapshot(); }

Status MockBackend::setVersion(const std::string& model, const std::string& version) {
  if (version.empty()) return Error::config("version must not be empty");
  for (auto& m : impl_->models) {
    if (m->name != model) continue;
    std::lock_guard lock(m->mu);
    m->version = version;
    m->cache.clear();
    return {};
  }
  return Error::config("no model '" + model + "'");
}

std::string MockBackend::version(const std::string& model) const {
  for (auto& m : impl_->models) {
    if (m->name != model) continue;
    std::lock_guard lock(m->mu);
    return m->version;
  }
  return {};
}

std::string MockBackend::kvEventsEndpoint() const {
  return impl_->publisher ? impl_->publisher->endpoint() : std::string();
}

MockStats MockBackend::stats() const { return impl_->snapshot(); }

std::string MockBackend::statsJson() const { return impl_->statsJson(); }

}  // namespace regiongate::mock
