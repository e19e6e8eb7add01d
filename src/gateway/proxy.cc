// The life of a request (docs/architecture.md has the phase chart; keep this file in that order):
//   1 accept + read head (http/server)      2 authenticate + ingress check (filterHead)
//   3 parse body once                        4 narrow + resolve pool (residency)
//   5 pick (routing policy)                  6 send; retry inside the pool on failure
//   7 stream back, measure TTFT, read usage  8 judge evidence (violation: count, log, block)
//   9 audit record + metrics
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http.hpp>

#include "common/hash.h"
#include "common/json.h"
#include "gateway/gateway.h"
#include "gateway/request_body.h"
#include "gateway/response_info.h"
#include "http/sse.h"
#include "residency/evidence.h"
#include "routing/prompt_blocks.h"
#include "upstream/exchange.h"

namespace regiongate::gateway {

namespace bhttp = boost::beast::http;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr size_t kKeyCacheMax = 4096;

std::string_view bearerKey(const bhttp::request_header<>& head) {
  auto it = head.find(bhttp::field::authorization);
  if (it == head.end()) return {};
  std::string_view v = it->value();
  if (v.size() < 7 || !(v.substr(0, 7) == "Bearer " || v.substr(0, 7) == "bearer ")) return {};
  v.remove_prefix(7);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  return v;
}

http::Response errorResponse(unsigned status, std::string_view type, std::string_view code,
                             std::string_view message, std::string_view extra = {}) {
  http::Response res{static_cast<bhttp::status>(status), 11};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = errorBody(type, code, message, extra);
  return res;
}

bool retryableStatus(unsigned s) { return s == 429 || s == 500 || s == 502 || s == 503 || s == 504; }

double msSince(const Clock& clock, int64_t t0) {
  return static_cast<double>(clock.nowNanos() - t0) / 1e6;
}

}  // namespace

void AuditWaiters::onDurable(std::vector<uint64_t> cookies, bool durable) {
  asio::post(ex_, [this, c = std::move(cookies), durable] { complete(c, durable); });
}

uint64_t AuditWaiters::add(Waiter* w) {
  const uint64_t cookie = next_++;
  waiting_.emplace(cookie, w);
  return cookie;
}

void AuditWaiters::complete(const std::vector<uint64_t>& cookies, bool durable) {
  for (uint64_t c : cookies) {
    auto it = waiting_.find(c);
    if (it == waiting_.end()) continue;  // its request is gone
    it->second->done = true;
    it->second->durable = durable;
    it->second->timer.cancel();
    waiting_.erase(it);
  }
}

void Gateway::queueAudit(WorkerState& w, size_t worker, audit::Record rec,
                         audit::Expectation expected, uint64_t cookie) {
  w.audit_out.push_back(audit::Submission{std::move(rec), cookie ? w.audit_waiters.get() : nullptr,
                                          cookie, std::move(expected)});
  if (w.audit_flush_posted) return;
  w.audit_flush_posted = true;
  // Runs after the handlers already queued on this worker: the records of every request that
  // finishes in this round go to the writers together.
  asio::post(server_->worker(worker), [this, &w] { flushAudit(w); });
}

asio::awaitable<void> Gateway::recordAudit(WorkerState& w, size_t worker, audit::Record rec,
                                           audit::Expectation expected, bool wait_durable) {
  if (!audit_ || !audit_->enabled()) co_return;
  if (!wait_durable) {
    queueAudit(w, worker, std::move(rec), std::move(expected));
    co_return;
  }
  if (!w.audit_waiters)
    w.audit_waiters = std::make_unique<AuditWaiters>(server_->worker(worker).get_executor());
  AuditWaiters::Waiter wait(*w.audit_waiters, server_->worker(worker).get_executor());
  queueAudit(w, worker, std::move(rec), std::move(expected), wait.cookie);
  co_await wait.timer.async_wait(use_nothrow);  // cancelled by AuditWaiters::complete
}

void Gateway::flushAudit(WorkerState& w) {
  w.audit_flush_posted = false;
  if (audit_) audit_->submitMany(w.audit_out);
  w.audit_out.clear();
}

bool KeyEqual::operator()(std::string_view a, std::string_view b) const {
  return constantTimeEquals(a, b);
}

upstream::ConnectionPool& Gateway::poolFor(WorkerState& w, uint32_t endpoint, size_t worker) {
  const Snapshot& snap = *w.snapshot;
  if (w.endpoint_pools_generation != snap.generation) {
    w.endpoint_pools.assign(snap.config->endpoints.size(), nullptr);
    w.endpoint_pools_generation = snap.generation;
  }
  if (auto* p = w.endpoint_pools[endpoint]) return *p;
  const EndpointConfig& ep = snap.config->endpoints[endpoint];
  const upstream::ClientTlsPtr& tls = snap.upstream_tls[endpoint];
  // An https:// pool is keyed by its TLS identity too: changed certificates get a new pool.
  std::string key = ep.host + ":" + std::to_string(ep.port) + (tls ? "|tls:" + tls->identity : "");
  auto it = w.pools.find(key);
  if (it == w.pools.end()) {
    auto pool = std::make_unique<upstream::ConnectionPool>(
        server_->worker(worker).get_executor(), ep.host, ep.port, ep.max_connections, tls);
    it = w.pools.emplace(std::move(key), std::move(pool)).first;
  }
  w.endpoint_pools[endpoint] = it->second.get();
  return *it->second;
}

uint32_t Gateway::tenantFor(WorkerState& w, std::string_view key) {
  const Snapshot& snap = *w.snapshot;
  if (w.key_cache_generation != snap.generation) {
    w.key_cache.clear();
    w.key_cache_generation = snap.generation;
  }
  if (key.empty()) return residency::ResidencyIndex::kNone;
  if (auto it = w.key_cache.find(key); it != w.key_cache.end()) return it->second;
  uint32_t tenant = snap.residency->tenantIndexForKey(key);
  if (tenant != residency::ResidencyIndex::kNone && w.key_cache.size() < kKeyCacheMax)
    w.key_cache.emplace(std::string(key), tenant);
  return tenant;
}

std::string Gateway::newRequestId(WorkerState& w, size_t worker) {
  return fmt::format("rg-{:012x}-{:x}-{:x}", process_nonce_ & 0xffffffffffffULL, worker,
                     ++w.next_request);
}

// Phase 2, before the body is read: authenticate, and refuse tenants whose jurisdiction does not
// contain this gateway's own region (421: the request must not even be decrypted/read here).
std::optional<http::Response> Gateway::filterHead(bhttp::request_header<>& head, size_t worker) {
  std::string_view target = head.target();
  if (target.substr(0, 4) != "/v1/") return std::nullopt;  // 404 later, no secrets involved
  WorkerState& w = workers_[worker];
  const auto& snap = *w.snapshot;
  std::string_view key = bearerKey(head);
  if (key.empty()) {
    metrics_.errors.with({"authentication_error"}).inc();
    return errorResponse(401, "authentication_error", "missing_api_key",
                         "send the tenant key as 'Authorization: Bearer KEY'");
  }
  uint32_t tenant = tenantFor(w, key);
  if (tenant == residency::ResidencyIndex::kNone) {
    metrics_.errors.with({"authentication_error"}).inc();
    return errorResponse(401, "authentication_error", "invalid_api_key", "unknown API key");
  }
  if (!snap.residency->ingressAllowed(tenant)) {
    const auto& j = snap.residency->jurisdictionOf(tenant);
    metrics_.errors.with({"misdirected_request"}).inc();
    return errorResponse(
        421, "misdirected_request", "gateway_outside_jurisdiction",
        "this gateway runs in region '" + snap.config->gateway_region +
            "', outside jurisdiction '" + j.name + "'; use a gateway inside the jurisdiction",
        "\"jurisdiction\":" + jsonString(j.name) +
            ",\"gateway_region\":" + jsonString(snap.config->gateway_region));
  }
  return std::nullopt;
}

asio::awaitable<void> Gateway::handleModels(http::Request& req, http::ResponseWriter& out,
                                            WorkerState& w, uint32_t tenant) {
  const auto& snap = *w.snapshot;
  std::string body = "{\"object\":\"list\",\"data\":[";
  bool first = true;
  for (const auto& m : snap.residency->models(tenant)) {
    if (!first) body += ",";
    first = false;
    body += "{\"id\":" + jsonString(m) + ",\"object\":\"model\",\"owned_by\":\"regiongate\"}";
  }
  body += "]}";
  std::vector<std::pair<std::string, std::string>> headers;
  headers.emplace_back("x-regiongate-jurisdiction", snap.residency->jurisdictionOf(tenant).name);
  co_await out.sendJson(200, std::move(body), std::move(headers));
}

asio::awaitable<void> Gateway::handle(http::Request& req, http::ResponseWriter& out,
                                      size_t worker) {
  const int64_t t0 = clock_.nowNanos();
  const int64_t wall0 = clock_.wallMicros();
  WorkerState& w = workers_[worker];
  SnapshotPtr snap_ptr = w.snapshot;  // this request keeps its config generation to the end
  const Snapshot& snap = *snap_ptr;
  const Config& cfg = *snap.config;
  std::string request_id = newRequestId(w, worker);

  std::string_view target = req.target();
  if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  ApiKind kind;
  bool is_models = false;
  if (target == "/v1/chat/completions" && req.method() == bhttp::verb::post) {
    kind = ApiKind::Chat;
  } else if (target == "/v1/completions" && req.method() == bhttp::verb::post) {
    kind = ApiKind::Completion;
  } else if (target == "/v1/models" && req.method() == bhttp::verb::get) {
    is_models = true;
    kind = ApiKind::Chat;
  } else {
    metrics_.errors.with({"not_found"}).inc();
    std::vector<std::pair<std::string, std::string>> headers;
    headers.emplace_back("x-regiongate-request-id", request_id);
    co_await out.sendJson(404, errorBody("invalid_request_error", "not_found",
                                         "no route for " + std::string(req.method_string()) + " " +
                                             std::string(target)),
                          std::move(headers));
    co_return;
  }

  // ---- 2. authenticate (filterHead already refused unknown keys and wrong ingress; the worker
  // may have received a new snapshot in between, so look the tenant up again in ours: a cache
  // hit, the key was hashed once for this generation).
  uint32_t tenant = tenantFor(w, bearerKey(req.base()));
  if (tenant == residency::ResidencyIndex::kNone) {
    metrics_.errors.with({"authentication_error"}).inc();
    co_await out.send(errorResponse(401, "authentication_error", "invalid_api_key", "unknown API key"));
    co_return;
  }
  const TenantConfig& tcfg = cfg.tenants[tenant];
  const JurisdictionConfig& jur = snap.residency->jurisdictionOf(tenant);
  // (Built only on the paths that need them: the success path formats its head by hand.)
  auto base_headers = [&]() {
    return std::vector<std::pair<std::string, std::string>>{
        {"x-regiongate-request-id", request_id}, {"x-regiongate-jurisdiction", jur.name}};
  };

  auto fail = [&](unsigned status, std::string_view type, std::string_view code,
                  std::string message, std::string extra = {}) -> asio::awaitable<void> {
    metrics_.errors.with({type}).inc();
    co_await out.sendJson(status, errorBody(type, code, message, extra), base_headers());
  };

  if (is_models) {
    co_await handleModels(req, out, w, tenant);
    co_return;
  }

  // ---- 3. parse the body once
  auto parsed = parseRequestBody(req.body(), kind);
  if (!parsed) {
    co_await fail(400, "invalid_request_error", parsed.error().code, parsed.error().message);
    co_return;
  }
  const ParsedBody& body = parsed.value();

  // ---- 4. narrowing header + pool
  uint32_t narrow_region = residency::ResidencyIndex::kNone;
  if (auto it = req.find("x-regiongate-region"); it != req.end()) {
    auto nr = snap.residency->narrow(tenant, it->value());
    if (!nr) {
      int st = residency::ResidencyIndex::httpStatus(nr.error());
      co_await fail(st, st == 403 ? "residency_error" : "invalid_request_error", nr.error().code,
                    nr.error().message, "\"jurisdiction\":" + jsonString(jur.name));
      co_return;
    }
    narrow_region = nr.value();
  }
  if (audit_ && !audit_->admit(jur.name)) {
    co_await fail(503, "audit_unavailable", "audit_unavailable",
                  "the audit store for jurisdiction '" + jur.name +
                      "' is unavailable; requests are refused until it recovers (on_audit_failure: reject)",
                  "\"jurisdiction\":" + jsonString(jur.name));
    co_return;
  }
  // This request's record is on its way (lets a lingering writer know when nothing more is).
  audit::Expectation audit_expected = audit_ ? audit_->expect(jur.name) : audit::Expectation{};
  const auto& pool = snap.residency->pool(tenant, body.model);
  std::vector<uint32_t> members;
  members.reserve(pool.size());
  for (uint32_t e : pool)
    if (narrow_region == residency::ResidencyIndex::kNone ||
        snap.residency->endpointRegion(e) == narrow_region)
      members.push_back(e);
  // A retry never silently changes the model version: the pool holds the version of the first
  // member unless the tenant allows mixing.
  std::string pool_version;
  // [rollout hook] per-region blue/green by weight, discovered versions (rollout_hooks.h)
  bool rollout_pinned = rollouts_ && rollouts_->pinPool(snap, body.model, tcfg.allow_mixed_versions,
                                                        xxh3(request_id), members, pool_version);
  if (!rollout_pinned && !members.empty() && !tcfg.allow_mixed_versions) {
    pool_version = snap.versionOf(members.front(), body.model);
    std::erase_if(members, [&](uint32_t e) { return snap.versionOf(e, body.model) != pool_version; });
  }

  // ---- 5/6. pick, send, retry inside the pool
  routing::RouteRequest rreq;
  if (!w.policy || w.policy_name != cfg.routing.policy) {
    w.policy = routing::makePolicy(cfg.routing.policy, routing::PolicyOptions{}, clock_);
    w.policy_name = cfg.routing.policy;
  }
  // Per request, not per worker: other requests on this worker run between our co_awaits.
  std::vector<uint64_t> blocks;
  routing::promptBlocksInto(body.canonical_text, cfg.routing.block_chars, blocks);
  rreq.jurisdiction = jur.name;
  rreq.model = body.model;
  rreq.blocks = blocks;
  rreq.tokens_per_block = std::max<uint32_t>(1, cfg.routing.block_chars / 4);
  rreq.prompt_tokens = body.approx_prompt_tokens;
  rreq.now_nanos = t0;

  audit::Record rec;
  rec.ts_us = wall0;
  rec.request_id = request_id;
  rec.tenant = tcfg.name;
  rec.jurisdiction = jur.name;
  rec.model = body.model;
  if (tcfg.store_text) rec.prompt_text = body.canonical_text;

  std::vector<uint32_t> tried;
  int64_t upstream_wait_ns = 0;  // time awaiting upstream bytes (for the overhead metric)
  std::string last_error;
  uint32_t max_tries = 1 + cfg.routing.retries;
  std::optional<upstream::Exchange> ex;
  uint32_t chosen = UINT32_MAX;
  bool chosen_probe = false;
  int64_t min_retry_after = 0;

  // The upstream request is serialized by hand (no Beast fields on the hot path): the head is
  // rebuilt per attempt (target, host and credential are the endpoint's); the body is the
  // client's, unchanged.
  const std::string up_body = std::move(req.body());
  std::string up_head;
  auto buildUpstreamHead = [&](const EndpointConfig& ep) {
    up_head.clear();
    up_head += std::string_view(req.method_string());
    up_head += ' ';
    up_head += ep.base_path;
    up_head += target;
    up_head += " HTTP/1.1\r\nHost: ";
    up_head += ep.host;
    up_head += "\r\nContent-Type: application/json\r\nAccept: ";
    up_head += body.stream ? "text/event-stream" : "application/json";
    up_head += "\r\nx-regiongate-request-id: ";
    up_head += request_id;
    if (!ep.credential.empty()) {
      up_head += "\r\nAuthorization: ";
      up_head += ep.credential;
    }
    up_head += "\r\nContent-Length: ";
    up_head += std::to_string(up_body.size());
    up_head += "\r\n\r\n";
  };

  for (uint32_t attempt = 0; attempt < max_tries; ++attempt) {
    int64_t now = clock_.nowNanos();
    auto& cands = w.scratch_candidates;  // filled and used without a co_await in between
    auto& probe = w.scratch_probe;
    cands.clear();
    probe.clear();
    for (uint32_t e : members) {
      if (std::find(tried.begin(), tried.end(), e) != tried.end()) continue;
      auto& h = *snap.health[e];
      auto admit = h.admit(now);
      if (admit == upstream::EndpointHealth::Admit::No) {
        int64_t ra = h.retryAfterNanos(now);
        if (ra > 0 && (min_retry_after == 0 || ra < min_retry_after)) min_retry_after = ra;
        continue;
      }
      // A probe slot was taken: only route here if picked; otherwise give it back below.
      cands.push_back(routing::Candidate{e, h.in_flight.load(std::memory_order_relaxed), 0, 0,
                                         cfg.endpoints[e].weight});
      probe.push_back(admit == upstream::EndpointHealth::Admit::Probe);
    }
    if (cands.empty()) break;
    size_t pick = w.policy->pick(rreq, cands);
    if (pick >= cands.size()) pick = 0;
    for (size_t i = 0; i < cands.size(); ++i)
      if (i != pick && probe[i]) snap.health[cands[i].endpoint]->releaseProbe();
    uint32_t e = cands[pick].endpoint;
    bool is_probe = probe[pick];
    const EndpointConfig& ep = cfg.endpoints[e];
    tried.push_back(e);
    buildUpstreamHead(ep);

    auto& h = *snap.health[e];
    h.in_flight.fetch_add(1, std::memory_order_relaxed);
    ex.emplace(poolFor(w, e, worker));
    int64_t ta = clock_.nowNanos();
    auto st = co_await ex->start(up_head, up_body,
                                 std::chrono::milliseconds(cfg.routing.per_try_timeout_ms));
    double ams = msSince(clock_, ta);
    std::string outcome;
    if (!st) {
      outcome = st.error().code;
      last_error = st.error().code + " from " + ep.name;
    } else if (retryableStatus(ex->status())) {
      outcome = "status_" + std::to_string(ex->status());
      last_error = outcome + " from " + ep.name;
    }
    if (!outcome.empty()) {
      ex.reset();  // closes the connection unless its response completed
      h.in_flight.fetch_sub(1, std::memory_order_relaxed);
      if (outcome != "status_429") h.onFailure(clock_.nowNanos(), cfg.health, is_probe);
      else if (is_probe) h.releaseProbe();
      metrics_.upstream_attempts.with({jur.name, ep.region, ep.name, outcome}).inc();
      rec.attempts.push_back({ep.name, ep.region, outcome, ams});
      continue;  // next pick from the same pool
    }
    metrics_.upstream_attempts.with({jur.name, ep.region, ep.name, "ok"}).inc();
    rec.attempts.push_back({ep.name, ep.region, "ok", ams});
    chosen = e;
    chosen_probe = is_probe;
    break;
  }

  if (!ex) {
    // ---- pool exhausted: fail loudly, never leave the jurisdiction
    std::string reason;
    if (pool.empty())
      reason = "no endpoint in jurisdiction '" + jur.name + "' serves model '" + body.model + "'";
    else if (members.empty())
      reason = "no endpoint in the requested region serves model '" + body.model + "'";
    else if (tried.empty())
      reason = "every endpoint of the pool is ejected or failing health checks";
    else
      reason = "every try failed (" + last_error + "), retry budget " + std::to_string(cfg.routing.retries);
    std::string extra = "\"jurisdiction\":" + jsonString(jur.name) + ",\"regions_tried\":[";
    for (size_t i = 0; i < tried.size(); ++i) {
      if (i) extra += ",";
      extra += jsonString(cfg.endpoints[tried[i]].region);
    }
    extra += "],\"reason\":" + jsonString(reason);
    int64_t retry_after_s = std::max<int64_t>(1, (min_retry_after + 999'999'999) / 1'000'000'000);
    // The record is durable before the client sees the 503 (as for every other response).
    rec.status = 503;
    rec.error_type = "residency_pool_exhausted";
    rec.duration_ms = msSince(clock_, t0);
    co_await recordAudit(w, worker, std::move(rec), std::move(audit_expected),
                       cfg.audit.wait_durable);
    metrics_.pool_exhausted.with({jur.name, body.model}).inc();
    metrics_.requests.with({jur.name, "none", body.model, "503"}).inc();
    metrics_.errors.with({"residency_pool_exhausted"}).inc();
    auto headers = base_headers();
    headers.emplace_back("retry-after", std::to_string(retry_after_s));
    headers.emplace_back("x-regiongate-attempts", std::to_string(tried.size()));
    co_await out.sendJson(503,
                          errorBody("residency_pool_exhausted", "residency_pool_exhausted",
                                    "no endpoint inside jurisdiction '" + jur.name +
                                        "' could serve the request: " + reason,
                                    extra),
                          headers);
    co_return;
  }

  // ---- 7. response head from the chosen endpoint
  const EndpointConfig& ep = cfg.endpoints[chosen];
  auto& health = *snap.health[chosen];
  const std::string version = rollouts_ ? rollouts_->versionOf(snap, chosen, body.model)  // [rollout hook]
                                        : snap.versionOf(chosen, body.model);
  rec.endpoint = ep.name;
  rec.intended_region = ep.region;
  rec.model_version = version;
  rec.evidence = ep.evidence.raw;
  if (const std::string& first_region = cfg.endpoints[tried.front()].region; first_region != ep.region)
    metrics_.fallbacks.with({jur.name, first_region, ep.region}).inc();
  w.policy->onRouted(rreq, chosen);

  unsigned status = ex->status();
  std::optional<std::string> evidence_value;
  if (ep.evidence.kind == EvidenceSpec::Kind::Endpoint) {
    evidence_value = ep.region;
  } else if (ep.evidence.kind == EvidenceSpec::Kind::Header) {
    auto it = ex->head().find(ep.evidence.header);
    if (it != ex->head().end()) evidence_value = std::string(it->value());
  }
  const bool block_mode = cfg.residency.on_violation == "block";
  bool upstream_stream = body.stream && status == 200;
  ResponseInfo info;
  std::string held;     // body held back (non-stream, or stream in block mode with body evidence)
  bool upstream_ok = true;
  std::string upstream_err;
  double ttft_ms = -1;
  const auto upstream_budget = std::chrono::milliseconds(cfg.routing.upstream_timeout_ms);

  auto judge = [&]() {
    std::optional<std::string_view> v;
    if (evidence_value) v = *evidence_value;
    return residency::judgeEvidence(cfg, jur, v);
  };

  const std::string attempts_str = std::to_string(tried.size());
  const std::string_view version_str = version.empty() ? std::string_view("unversioned") : version;
  auto response_headers = [&](std::string_view actual_region) {
    auto hs = base_headers();
    hs.emplace_back("x-regiongate-region", std::string(actual_region));
    hs.emplace_back("x-regiongate-endpoint", ep.name);
    hs.emplace_back("x-regiongate-attempts", attempts_str);
    hs.emplace_back("x-regiongate-model-version", version_str);
    return hs;
  };

  residency::EvidenceVerdict verdict;
  bool verdict_known = false;
  bool blocked = false;
  // Stream straight through unless block mode must wait for body evidence at the end.
  bool pass_through = upstream_stream &&
                      !(block_mode && ep.evidence.kind == EvidenceSpec::Kind::Body);
  if (upstream_stream && ep.evidence.kind != EvidenceSpec::Kind::Body) {
    verdict = judge();
    verdict_known = true;
    if (!verdict.ok() && block_mode) blocked = true;
  }

  if (pass_through && !blocked) {
    bhttp::response<bhttp::empty_body> head{bhttp::status::ok, req.version()};
    head.set(bhttp::field::content_type, "text/event-stream");
    head.set(bhttp::field::cache_control, "no-cache");
    std::string actual = evidence_value.value_or("unknown");
    if (verdict_known && !verdict.region.empty()) actual = std::string(verdict.region);
    for (auto& [k, v] : response_headers(actual)) head.set(k, v);
    bool client_ok = co_await out.begin(std::move(head));
    http::SseParser sse;
    auto deadline = clock_.nowNanos() + upstream_budget.count() * 1'000'000;
    for (int guard = 0; guard < 10'000'000 && client_ok; ++guard) {
      auto left = std::chrono::milliseconds((deadline - clock_.nowNanos()) / 1'000'000);
      if (left.count() <= 0) {
        upstream_ok = false;
        upstream_err = "upstream_timeout";
        break;
      }
      int64_t tw = clock_.nowNanos();
      auto piece = co_await ex->next(left);
      upstream_wait_ns += clock_.nowNanos() - tw;
      if (!piece) {
        upstream_ok = false;
        upstream_err = piece.error().code;
        break;
      }
      if (piece->empty()) break;
      bool had_content = info.has_content;
      sse.feed(*piece, [&](std::string_view data) {
        if (data == "[DONE]") return;
        if (data.find("\"usage\"") != std::string_view::npos ||
            ep.evidence.kind == EvidenceSpec::Kind::Body || !info.has_content)
          readResponseInfo(data, ep.evidence.path, info);
      });
      if (tcfg.store_text) held.append(*piece);
      client_ok = co_await out.chunk(*piece);
      if (!had_content && info.has_content && ttft_ms < 0) ttft_ms = msSince(clock_, t0);
      if (ex->done()) break;
    }
    if (ep.evidence.kind == EvidenceSpec::Kind::Body) {
      evidence_value = info.body_evidence;
      verdict = judge();
      verdict_known = true;
    }
    if (!upstream_ok) {
      // Bytes already reached the client: no retry; end the stream with an error event.
      std::string ev = "data: " + errorBody("upstream_error", upstream_err,
                                            "the upstream stream broke: " + upstream_err) + "\n\n";
      co_await out.chunk(ev);
    }
    // The terminating chunk waits for the audit record below (durability before completion).
  } else {
    // Whole body (non-stream; error statuses; or stream held back for block-mode evidence).
    int64_t tw = clock_.nowNanos();
    auto st = co_await ex->readAll(held, upstream_budget, 64u << 20);
    upstream_wait_ns += clock_.nowNanos() - tw;
    if (!st) {
      upstream_ok = false;
      upstream_err = st.error().code;
    }
    if (upstream_stream) {
      http::SseParser sse;
      sse.feed(held, [&](std::string_view data) {
        if (data != "[DONE]") readResponseInfo(data, ep.evidence.path, info);
      });
    } else {
      readResponseInfo(held, ep.evidence.path, info);
    }
    ttft_ms = msSince(clock_, t0);
    if (ep.evidence.kind == EvidenceSpec::Kind::Body) evidence_value = info.body_evidence;
    if (!verdict_known) {
      verdict = judge();
      verdict_known = true;
    }
    if (!verdict.ok() && block_mode && status < 400) blocked = true;
  }

  // ---- 8. evidence verdict
  std::string actual_region = !verdict.region.empty() ? std::string(verdict.region)
                              : evidence_value          ? *evidence_value
                                                        : std::string("unknown");
  if (!verdict.ok() && status < 400) {
    std::string kindname(residency::evidenceKindName(verdict.kind));
    rec.violation = kindname;
    metrics_.residency_violations.with({jur.name, actual_region, kindname}).inc();
    spdlog::warn("residency violation: request {} tenant {} jurisdiction {} endpoint {} evidence {}={} ({}){}",
                 request_id, tcfg.name, jur.name, ep.name, ep.evidence.raw,
                 evidence_value.value_or("<missing>"), kindname, blocked ? ", blocked" : "");
  }
  rec.actual_region = actual_region;
  rec.evidence_value = evidence_value.value_or("");
  rec.prompt_tokens = info.prompt_tokens;
  rec.cached_tokens = info.cached_tokens;
  rec.completion_tokens = info.completion_tokens;
  if (tcfg.store_text) rec.completion_text = held;

  unsigned client_status = blocked ? 502 : status;
  if (!upstream_ok && !out.started()) client_status = 502;
  rec.status = static_cast<int>(client_status);
  if (blocked) rec.error_type = "residency_violation";
  if (upstream_ok) {
    health.onSuccess(chosen_probe);
  } else {
    health.onFailure(clock_.nowNanos(), cfg.health, chosen_probe);
  }
  health.in_flight.fetch_sub(1, std::memory_order_relaxed);
  w.policy->onCompleted(chosen, rreq, ttft_ms, static_cast<uint64_t>(info.cached_tokens));
  if (rollouts_)  // [rollout hook] gate observations + pre-warm sample
    rollouts_->onCompleted(snap, jur.name, chosen, body.model, version, status, upstream_ok, ttft_ms,
                           body.canonical_text, cfg.routing.block_chars, up_body);
  ex->finish();

  // ---- 9. audit (durable before the response completes) and metrics
  double attempts_ms = 0;
  for (const auto& a : rec.attempts) attempts_ms += a.ms;
  rec.ttft_ms = ttft_ms;
  rec.duration_ms = msSince(clock_, t0);
  co_await recordAudit(w, worker, std::move(rec), std::move(audit_expected),
                       cfg.audit.wait_durable);

  std::string code = std::to_string(client_status);
  metrics_.requests.with({jur.name, actual_region, body.model, code}).inc();
  if (info.has_usage) {
    metrics_.prompt_tokens.with({jur.name, actual_region, body.model}).inc(static_cast<double>(info.prompt_tokens));
    metrics_.cached_prompt_tokens.with({jur.name, actual_region, body.model}).inc(static_cast<double>(info.cached_tokens));
  }
  if (ttft_ms >= 0 && status < 400) metrics_.ttft.with({jur.name, actual_region, body.model}).observe(ttft_ms / 1000);
  double total_s = msSince(clock_, t0) / 1000;
  metrics_.request_duration.with({jur.name, actual_region}).observe(total_s);
  // Overhead: the request's time not spent waiting on an upstream (parsing, routing, audit
  // commit, writing to the client).
  double upstream_ms = static_cast<double>(upstream_wait_ns) / 1e6 + attempts_ms;
  metrics_.gateway_overhead.observe(std::max(0.0, total_s - upstream_ms / 1000));

  if (out.started()) {
    co_await out.end();
    co_return;
  }
  if (blocked) {
    metrics_.errors.with({"residency_violation"}).inc();
    co_await out.sendJson(
        502,
        errorBody("residency_violation", std::string(residency::evidenceKindName(verdict.kind)),
                  "the upstream's evidence places inference outside jurisdiction '" + jur.name +
                      "' (" + ep.evidence.raw + " = " + evidence_value.value_or("<missing>") +
                      "); the response was withheld (on_violation: block)",
                  "\"jurisdiction\":" + jsonString(jur.name) + ",\"actual_region\":" + jsonString(actual_region)),
        response_headers(actual_region));
    co_return;
  }
  if (!upstream_ok) {
    co_await out.sendJson(502, errorBody("upstream_error", upstream_err,
                                         "the upstream response broke after it started: " + upstream_err),
                          response_headers(actual_region));
    co_return;
  }
  // Hot path: the head is formatted by hand from views (no Beast fields, no header vector).
  auto ct = ex->head().find(bhttp::field::content_type);
  const std::string_view content_type =
      ct != ex->head().end() ? std::string_view(ct->value()) : std::string_view("application/json");
  const http::ResponseWriter::HeaderView hs[] = {
      {"x-regiongate-request-id", request_id},
      {"x-regiongate-jurisdiction", jur.name},
      {"x-regiongate-region", actual_region},
      {"x-regiongate-endpoint", ep.name},
      {"x-regiongate-attempts", attempts_str},
      {"x-regiongate-model-version", version_str}};
  co_await out.sendRaw(status, content_type, hs, held);
}

}  // namespace regiongate::gateway
