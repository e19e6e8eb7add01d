// The life of a request, phase by phase, in the order they run (docs/architecture.md has the
// chart). Gateway::handle is the list of phases; each phase is one function with one job:
//   admit (filterHead: authenticate + ingress, before the body is read)
//   begin -> route -> resolveTenant -> parseBody -> resolvePool -> [pick -> attempt]* ->
//   relay (stream or buffer) -> judgeEvidence -> finish (audit, observers, the client's answer)
// A phase that refuses the request returns a Failure; fail() answers it through the error table.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <charconv>

#include "common/hash.h"
#include "common/json.h"
#include "common/peer_string.h"
#include "gateway/gateway.h"
#include "gateway/worker_state.h"
#include "gateway/request_context.h"
#include "gateway/request_observer.h"
#include "gateway/upstream_adapter.h"
#include "http/sse.h"
#include "residency/evidence.h"
#include "routing/prompt_blocks.h"

namespace regiongate::gateway {

namespace bhttp = boost::beast::http;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr size_t kKeyCacheMax = 4096;
constexpr size_t kMaxHeldBody = 64u << 20;

std::string_view bearerKey(const bhttp::request_header<>& head) {
  auto it = head.find(bhttp::field::authorization);
  if (it == head.end()) return {};
  std::string_view v = it->value();
  if (v.size() < 7 || !(v.substr(0, 7) == "Bearer " || v.substr(0, 7) == "bearer ")) return {};
  v.remove_prefix(7);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  return v;
}

bool retryableStatus(unsigned s) { return s == 429 || s == 500 || s == 502 || s == 503 || s == 504; }

double msSince(const Clock& clock, int64_t t0) {
  return static_cast<double>(clock.nowNanos() - t0) / 1e6;
}

std::string jurisdictionField(const JurisdictionConfig& jur) {
  return "\"jurisdiction\":" + jsonString(jur.name);
}

// The filter note carries the admission from filterHead to handle: the snapshot generation it
// was decided under and the tenant index (so the key is looked up once per request). The top bit
// marks a note as set.
constexpr uint64_t kNoteSet = 1ULL << 63;
uint64_t admissionNote(uint64_t generation, uint32_t tenant) {
  return kNoteSet | ((generation & 0x7fffffffULL) << 32) | tenant;
}
bool noteMatches(uint64_t note, uint64_t generation) {
  return (note & kNoteSet) && ((note >> 32) & 0x7fffffffULL) == (generation & 0x7fffffffULL);
}

// The region label for headers and metrics: a configured region or a country from the static
// tables, never a raw upstream string (a bounded label set; the audit keeps the raw value).
std::string regionLabel(const residency::EvidenceVerdict& v) {
  if (!v.region.empty()) return std::string(v.region);
  if (!v.country.empty() && v.kind != residency::EvidenceKind::UnknownRegion)
    return std::string(v.country);
  return "unknown";
}

// An upstream's evidence value as it may appear in a log line or an error message: escaped and
// bounded (the audit keeps the raw value).
std::string printable(const std::optional<std::string>& v) {
  return v ? escapeForLog(*v) : "<missing>";
}

}  // namespace

http::Response errorResponse(const Failure& f) {
  const ErrorSpec& spec = specFor(f.kind);
  http::Response res{static_cast<bhttp::status>(spec.status), 11};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = errorBody(spec.type, f.code.empty() ? spec.code : f.code, f.message, f.extra);
  return res;
}

// ---------------------------------------------------------------------------------------------
// Per-worker helpers: audit hand-over, connection pools, the key cache, request ids.

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

void Gateway::queueAudit(WorkerState& w, size_t worker, audit::Submission sub) {
  w.audit_out.push_back(std::move(sub));
  if (w.audit_flush_posted) return;
  w.audit_flush_posted = true;
  // Runs after the handlers already queued on this worker: the records of every request that
  // finishes in this round go to the writers together.
  asio::post(server_->worker(worker), [this, &w] { flushAudit(w); });
}

asio::awaitable<void> Gateway::recordAudit(WorkerState& w, size_t worker, audit::Record rec,
                                           audit::Expectation expected, bool wait_durable) {
  if (!audit_ || !audit_->enabled()) co_return;
  audit::Submission sub{std::move(rec), nullptr, 0, std::move(expected)};
  if (!wait_durable) {
    queueAudit(w, worker, std::move(sub));
    co_return;
  }
  // In the worker's spill the record survives a crash of the process: answer now, and the
  // writer stores it behind the response (audit/spill.h).
  if (audit::SpillFile* spill = audit_->spillFor(sub.rec.jurisdiction, worker)) {
    if (const uint64_t end = spill->append(sub.rec)) {
      sub.spill = spill;
      sub.spill_end = end;
      queueAudit(w, worker, std::move(sub));
      co_return;
    }
  }
  if (!w.audit_waiters)
    w.audit_waiters = std::make_unique<AuditWaiters>(server_->worker(worker).get_executor());
  AuditWaiters::Waiter wait(*w.audit_waiters, server_->worker(worker).get_executor());
  sub.listener = w.audit_waiters.get();
  sub.cookie = wait.cookie;
  queueAudit(w, worker, std::move(sub));
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

// "rg-<12 hex digits of the process nonce>-<worker in hex>-<request count in hex>". The prefix is
// formatted once per worker: only the count changes from one request to the next.
std::string Gateway::newRequestId(WorkerState& w, size_t worker) {
  if (w.request_id_prefix.empty())
    w.request_id_prefix = fmt::format("rg-{:012x}-{:x}-", process_nonce_ & 0xffffffffffffULL, worker);
  char count[16];
  const auto end = std::to_chars(count, count + sizeof count, ++w.next_request, 16).ptr;
  std::string id;
  id.reserve(w.request_id_prefix.size() + static_cast<size_t>(end - count));
  id += w.request_id_prefix;
  id.append(count, end);
  return id;
}

// ---------------------------------------------------------------------------------------------
// Admit, before the body is read: authenticate, and refuse tenants whose jurisdiction does not
// contain this gateway's own region (421: the request must not even be read here).

std::optional<http::Response> Gateway::filterHead(bhttp::request_header<>& head, size_t worker,
                                                  uint64_t& note) {
  std::string_view target = head.target();
  if (target.substr(0, 4) != "/v1/") return std::nullopt;  // 404 later, no secrets involved
  WorkerState& w = *workers_[worker];
  const auto& snap = *w.snapshot;
  auto refuse = [&](Failure f) {
    metrics_.errors.with({specFor(f.kind).type}).inc();
    return errorResponse(f);
  };
  std::string_view key = bearerKey(head);
  if (key.empty())
    return refuse({ErrorKind::MissingApiKey, "send the tenant key as 'Authorization: Bearer KEY'"});
  uint32_t tenant = tenantFor(w, key);
  if (tenant == residency::ResidencyIndex::kNone)
    return refuse({ErrorKind::InvalidApiKey, "unknown API key"});
  if (!snap.residency->ingressAllowed(tenant)) {
    const auto& j = snap.residency->jurisdictionOf(tenant);
    return refuse({ErrorKind::GatewayOutsideJurisdiction,
                   "this gateway runs in region '" + snap.config->gateway_region +
                       "', outside jurisdiction '" + j.name +
                       "'; use a gateway inside the jurisdiction",
                   {},
                   jurisdictionField(j) +
                       ",\"gateway_region\":" + jsonString(snap.config->gateway_region)});
  }
  note = admissionNote(snap.generation, tenant);
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// The request.

asio::awaitable<void> Gateway::handle(http::Request& req, http::ResponseWriter& out,
                                      size_t worker) {
  RequestContext ctx(workers_[worker]->snapshot, worker);
  begin(ctx);
  if (auto f = route(ctx, req)) co_return co_await fail(ctx, out, *f);
  if (auto f = resolveTenant(ctx, req, out.filterNote())) co_return co_await fail(ctx, out, *f);
  if (ctx.is_models) co_return co_await handleModels(ctx, out);
  if (auto f = parseBody(ctx, req)) co_return co_await fail(ctx, out, *f);
  if (auto f = resolvePool(ctx, req)) co_return co_await fail(ctx, out, *f);
  co_await attempt(ctx, req);
  if (!ctx.exchange) co_return co_await answerExhausted(ctx, out);
  chooseResponder(ctx);
  co_await relay(ctx, req, out);
  judgeEvidence(ctx);
  co_await finish(ctx, out);
}

void Gateway::begin(RequestContext& ctx) {
  ctx.t0 = clock_.nowNanos();
  ctx.wall0 = clock_.wallMicros();
  ctx.request_id = newRequestId(*workers_[ctx.worker], ctx.worker);
}

std::optional<Failure> Gateway::route(RequestContext& ctx, const http::Request& req) {
  std::string_view target = req.target();
  if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  ctx.path = target;
  if (target == "/v1/models" && req.method() == bhttp::verb::get) {
    ctx.is_models = true;
    return std::nullopt;
  }
  if (req.method() == bhttp::verb::post) {
    for (ApiKind api : {ApiKind::Chat, ApiKind::Completion, ApiKind::Responses,
                        ApiKind::Embeddings, ApiKind::Messages}) {
      if (target != openai::apiPath(api)) continue;
      ctx.api = api;
      return std::nullopt;
    }
  }
  return Failure{ErrorKind::NoRoute,
                 "no route for " + std::string(req.method_string()) + " " + std::string(target)};
}

// The admission filterHead decided under this request's snapshot is reused; after a reload in
// between (a new snapshot), the key is looked up again under the new one.
std::optional<Failure> Gateway::resolveTenant(RequestContext& ctx, const http::Request& req,
                                              uint64_t note) {
  uint32_t tenant = residency::ResidencyIndex::kNone;
  if (noteMatches(note, ctx.snap.generation))
    tenant = static_cast<uint32_t>(note & 0xffffffffULL);
  else
    tenant = tenantFor(*workers_[ctx.worker], bearerKey(req.base()));
  if (tenant == residency::ResidencyIndex::kNone)
    return Failure{ErrorKind::InvalidApiKey, "unknown API key"};
  ctx.tenant = tenant;
  ctx.tenant_cfg = &ctx.cfg.tenants[tenant];
  ctx.jur = &ctx.snap.residency->jurisdictionOf(tenant);
  return std::nullopt;
}

asio::awaitable<void> Gateway::handleModels(RequestContext& ctx, http::ResponseWriter& out) {
  std::string body = "{\"object\":\"list\",\"data\":[";
  bool first = true;
  for (const auto& m : ctx.snap.residency->models(ctx.tenant)) {
    if (!first) body += ",";
    first = false;
    body += "{\"id\":" + jsonString(m) + ",\"object\":\"model\",\"owned_by\":\"regiongate\"}";
  }
  body += "]}";
  std::vector<std::pair<std::string, std::string>> headers;
  headers.emplace_back("x-regiongate-jurisdiction", ctx.jur->name);
  co_await out.sendJson(200, std::move(body), std::move(headers));
}

std::optional<Failure> Gateway::parseBody(RequestContext& ctx, http::Request& req) {
  auto parsed = parseRequestBody(req.body(), ctx.api);
  if (!parsed) return Failure{ErrorKind::InvalidBody, parsed.error().message, parsed.error().code};
  ctx.body = std::move(parsed.value());
  ctx.client_body = std::move(req.body());
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Resolve the pool: the jurisdiction's endpoints for the model, narrowed by the client's region
// header (never widened), restricted to endpoints whose API carries the client's, pinned to one
// model version. From here on, every pick and retry draws from ctx.members only.

std::optional<Failure> Gateway::resolvePool(RequestContext& ctx, const http::Request& req) {
  const auto& idx = *ctx.snap.residency;
  uint32_t narrow_region = residency::ResidencyIndex::kNone;
  if (auto it = req.find("x-regiongate-region"); it != req.end()) {
    auto nr = idx.narrow(ctx.tenant, it->value());
    if (!nr) {
      return Failure{narrowErrorKind(nr.error()), nr.error().message, {},
                     jurisdictionField(*ctx.jur)};
    }
    narrow_region = nr.value();
    ctx.narrowed = true;
  }
  ctx.pool = &idx.pool(ctx.tenant, ctx.body.model);
  if (ctx.pool->empty()) return modelUnavailable(ctx);
  if (audit_ && !audit_->admit(ctx.jur->name))
    return Failure{ErrorKind::AuditUnavailable,
                   "the audit store for jurisdiction '" + ctx.jur->name +
                       "' is unavailable; requests are refused until it recovers "
                       "(on_audit_failure: reject)",
                   {},
                   jurisdictionField(*ctx.jur)};
  // This request's record is on its way (lets a lingering writer know when nothing more is).
  if (audit_) ctx.audit_expected = audit_->expect(ctx.jur->name);
  ctx.members.reserve(ctx.pool->size());
  for (uint32_t e : *ctx.pool)
    if (adapterFor(ctx.cfg.endpoints[e]).serves(ctx.api)) ctx.members.push_back(e);
  if (ctx.members.empty()) return apiNotServed(ctx);
  if (narrow_region != residency::ResidencyIndex::kNone)
    std::erase_if(ctx.members, [&](uint32_t e) { return idx.endpointRegion(e) != narrow_region; });
  pinVersion(ctx);
  return std::nullopt;
}

// The model is deployed in the jurisdiction, but no endpoint there speaks the client's API (for
// example /v1/messages with only OpenAI-compatible engines): a client error, not an outage.
Failure Gateway::apiNotServed(const RequestContext& ctx) const {
  return Failure{ErrorKind::ApiNotServed,
                 "no endpoint serving '" + ctx.body.model + "' in jurisdiction '" + ctx.jur->name +
                     "' accepts " + std::string(openai::apiPath(ctx.api)),
                 {},
                 jurisdictionField(*ctx.jur)};
}

// 404 for a model the tenant cannot have: either no endpoint anywhere serves it (a typo; OpenAI
// answers the same), or it is deployed only outside the jurisdiction. Neither is an outage, so
// neither gets a 503 or a Retry-After.
Failure Gateway::modelUnavailable(const RequestContext& ctx) const {
  if (!ctx.snap.residency->modelServedAnywhere(ctx.body.model))
    return Failure{ErrorKind::ModelNotFound,
                   "the model '" + ctx.body.model + "' does not exist or is not served here",
                   {},
                   jurisdictionField(*ctx.jur)};
  return Failure{ErrorKind::ModelNotInJurisdiction,
                 "the model '" + ctx.body.model + "' is not available in jurisdiction '" +
                     ctx.jur->name + "': it is deployed only outside it",
                 {},
                 jurisdictionField(*ctx.jur)};
}

// A retry never silently changes the model version: the pool keeps one version (a rollout's
// weighted draw, or the first member's) unless the tenant allows mixing.
void Gateway::pinVersion(RequestContext& ctx) {
  const bool mixed = ctx.tenant_cfg->allow_mixed_versions;
  if (rollouts_ && rollouts_->pinPool(ctx.snap, ctx.body.model, mixed, xxh3(ctx.request_id),
                                      ctx.members, ctx.pool_version))
    return;
  if (ctx.members.empty() || mixed) return;
  ctx.pool_version = ctx.snap.versionOf(ctx.members.front(), ctx.body.model);
  std::erase_if(ctx.members, [&](uint32_t e) {
    return ctx.snap.versionOf(e, ctx.body.model) != ctx.pool_version;
  });
}

// ---------------------------------------------------------------------------------------------
// Pick and attempt: try pool members one at a time until one answers with a usable head. A
// connect error, a timeout before the head, a TLS failure or a retryable status marks the
// endpoint (passive health) and the next pick comes from the same pool, within `retries`.

// The config's `routing` section builds the worker's policy (the planner builds its policies from
// the same structure); a reload that keeps the policy and its options keeps its learned state.
routing::Policy& Gateway::policyFor(WorkerState& w, const Config& cfg) {
  if (!w.policy || w.policy_kind != cfg.routing.policy ||
      !(w.policy_options == cfg.routing.policy_options)) {
    w.policy = routing::makePolicy(cfg.routing.policy, cfg.routing.policy_options, clock_);
    w.policy_kind = cfg.routing.policy;
    w.policy_options = cfg.routing.policy_options;
  }
  return *w.policy;
}

void Gateway::learnPeerRoutes(size_t worker, const std::vector<SharedRoute>& routes) {
  WorkerState& w = *workers_[worker];
  const Config& cfg = *w.snapshot->config;
  routing::Policy& policy = policyFor(w, cfg);
  routing::RouteRequest rr;
  rr.now_nanos = clock_.nowNanos();
  for (const auto& r : routes) {
    if (r.origin_worker == worker) continue;
    auto ep = std::find_if(cfg.endpoints.begin(), cfg.endpoints.end(),
                           [&](const EndpointConfig& e) { return e.name == r.route.endpoint; });
    if (ep == cfg.endpoints.end()) {
      share_->countUnknownEndpoint();
      continue;
    }
    rr.jurisdiction = r.jurisdiction;
    rr.model = r.route.model;
    rr.blocks = r.route.blocks;
    policy.learnPeerRoute(rr, static_cast<uint32_t>(ep - cfg.endpoints.begin()));
  }
}

void Gateway::prepareRoute(RequestContext& ctx) {
  const auto& rcfg = ctx.cfg.routing;
  routing::promptBlocksInto(ctx.body.canonical_text, rcfg.block_chars, ctx.blocks);
  ctx.route.jurisdiction = ctx.jur->name;
  ctx.route.model = ctx.body.model;
  ctx.route.blocks = ctx.blocks;
  ctx.route.tokens_per_block = std::max<uint32_t>(1, rcfg.block_chars / 4);
  ctx.route.prompt_tokens = ctx.body.approx_prompt_tokens;
  ctx.route.now_nanos = ctx.t0;
}

// One pick among the healthy, untried members; kNone when none is left. Takes the endpoint's
// lease (in-flight count, probe slot). Synchronous: the worker's scratch vectors are filled and
// used without a co_await in between.
uint32_t Gateway::pick(RequestContext& ctx, upstream::AttemptLease& lease) {
  WorkerState& w = *workers_[ctx.worker];
  const int64_t now = clock_.nowNanos();
  auto& cands = w.scratch_candidates;
  auto& probe = w.scratch_probe;
  cands.clear();
  probe.clear();
  for (uint32_t e : ctx.members) {
    if (std::find(ctx.tried.begin(), ctx.tried.end(), e) != ctx.tried.end()) continue;
    auto& h = *ctx.snap.health[e];
    auto admit = h.admit(now);
    if (admit == upstream::EndpointHealth::Admit::No) {
      int64_t ra = h.retryAfterNanos(now);
      if (ra > 0 && (ctx.min_retry_after == 0 || ra < ctx.min_retry_after)) ctx.min_retry_after = ra;
      continue;
    }
    cands.push_back(routing::Candidate{e, h.in_flight.load(std::memory_order_relaxed), 0, 0,
                                       ctx.cfg.endpoints[e].weight});
    probe.push_back(admit == upstream::EndpointHealth::Admit::Probe);
  }
  if (cands.empty()) return residency::ResidencyIndex::kNone;
  size_t chosen = policyFor(w, ctx.cfg).pick(ctx.route, cands);
  if (chosen >= cands.size()) chosen = 0;
  // A probe slot handed out to a candidate that was not picked goes back.
  for (size_t i = 0; i < cands.size(); ++i)
    if (i != chosen && probe[i]) ctx.snap.health[cands[i].endpoint]->releaseProbe();
  const uint32_t e = cands[chosen].endpoint;
  lease = upstream::AttemptLease(*ctx.snap.health[e], probe[chosen]);
  ctx.tried.push_back(e);
  return e;
}

asio::awaitable<void> Gateway::attempt(RequestContext& ctx, const http::Request& req) {
  prepareRoute(ctx);
  const uint32_t max_tries = 1 + ctx.cfg.routing.retries;
  for (uint32_t n = 0; n < max_tries; ++n) {
    upstream::AttemptLease lease;
    const uint32_t e = pick(ctx, lease);
    if (e == residency::ResidencyIndex::kNone) break;
    const EndpointConfig& ep = ctx.cfg.endpoints[e];
    std::string outcome = co_await send(ctx, req, e);
    if (outcome == "provider_refused") {  // refused before sending: not an endpoint fault
      lease.throttled();
      observeAttempt(ctx, ep, outcome);
      break;
    }
    if (!outcome.empty()) {
      ctx.exchange.reset();  // closes the connection unless its response completed
      if (outcome == "status_429") lease.throttled();
      else lease.failed(clock_.nowNanos(), ctx.cfg.health);
      ctx.last_error = outcome + " from " + ep.name;
      if (outcome == "upstream_tls_error") ++ctx.tls_failures;
      observeAttempt(ctx, ep, outcome);
      continue;
    }
    observeAttempt(ctx, ep, "ok");
    ctx.chosen = e;
    ctx.lease = std::move(lease);
    co_return;
  }
}

// One try on endpoint `e`: "" when its head came back usable, else the outcome that failed it.
asio::awaitable<std::string> Gateway::send(RequestContext& ctx, const http::Request& req,
                                           uint32_t e) {
  const EndpointConfig& ep = ctx.cfg.endpoints[e];
  const UpstreamAdapter& adapter = adapterFor(ep);
  UpstreamCall call{ep,          req.method_string(), ctx.path,        ctx.api,
                    ctx.body.stream, ctx.request_id,  ctx.jur->name,   ctx.client_body,
                    clock_.wallMicros()};
  const int64_t ta = clock_.nowNanos();
  if (auto st = adapter.prepare(call, ctx.up_head, ctx.up_body); !st) {
    ctx.rec.attempts.push_back({ep.name, ep.region, "provider_refused", 0});
    ctx.last_error = st.error().message;
    ctx.refused_code = st.error().code;
    co_return "provider_refused";
  }
  const std::string_view body = ctx.up_body.empty() ? std::string_view(ctx.client_body)
                                                    : std::string_view(ctx.up_body);
  ctx.exchange.emplace(poolFor(*workers_[ctx.worker], e, ctx.worker));
  auto st = co_await ctx.exchange->start(
      ctx.up_head, body, std::chrono::milliseconds(ctx.cfg.routing.per_try_timeout_ms));
  std::string outcome;
  if (!st) outcome = st.error().code;
  else if (retryableStatus(ctx.exchange->status()))
    outcome = "status_" + std::to_string(ctx.exchange->status());
  ctx.rec.attempts.push_back({ep.name, ep.region, outcome.empty() ? "ok" : outcome,
                              msSince(clock_, ta)});
  co_return outcome;
}

void Gateway::observeAttempt(const RequestContext& ctx, const EndpointConfig& ep,
                             std::string_view outcome) {
  for (auto& o : observers_) o->onAttempt(ctx, ep, outcome);
}

// Nothing in the pool answered: fail loudly, never leave the jurisdiction. The record is handed
// to the audit (durable first, with wait_durable) before the client sees the error.
asio::awaitable<void> Gateway::answerExhausted(RequestContext& ctx, http::ResponseWriter& out) {
  Failure f = exhaustedFailure(ctx);
  ctx.client_status = specFor(f.kind).status;
  ctx.rec.error_type = specFor(f.kind).type;
  co_await recordRequest(ctx);
  for (auto& o : observers_) o->onFinished(ctx);
  co_await fail(ctx, out, f);
}

Failure Gateway::exhaustedFailure(const RequestContext& ctx) const {
  const std::string& model = ctx.body.model;
  std::string reason;
  if (ctx.members.empty() && ctx.narrowed)
    reason = "no endpoint in the requested region serves model '" + model + "' on " +
             std::string(ctx.path);
  else if (ctx.members.empty())
    reason = "no endpoint of the jurisdiction serves model '" + model + "' on " +
             std::string(ctx.path);
  else if (ctx.tried.empty())
    reason = "every endpoint of the pool is ejected or failing health checks";
  else if (ctx.rec.attempts.back().outcome == "provider_refused")
    reason = ctx.last_error;
  else
    reason = "every try failed (" + ctx.last_error + "), retry budget " +
             std::to_string(ctx.cfg.routing.retries);
  std::string extra = jurisdictionField(*ctx.jur) + ",\"regions_tried\":[";
  for (size_t i = 0; i < ctx.tried.size(); ++i) {
    if (i) extra += ",";
    extra += jsonString(ctx.cfg.endpoints[ctx.tried[i]].region);
  }
  extra += "],\"reason\":" + jsonString(reason);
  ErrorKind kind = ErrorKind::PoolExhausted;
  if (!ctx.tried.empty() && ctx.tls_failures == ctx.tried.size()) kind = ErrorKind::UpstreamTls;
  if (!ctx.rec.attempts.empty() && ctx.rec.attempts.back().outcome == "provider_refused")
    kind = ErrorKind::ProviderRefused;
  std::string message = kind == ErrorKind::ProviderRefused
                            ? reason
                            : "no endpoint inside jurisdiction '" + ctx.jur->name +
                                  "' could serve the request: " + reason;
  return Failure{kind, std::move(message),
                 kind == ErrorKind::ProviderRefused ? ctx.refused_code : "", std::move(extra)};
}

// ---------------------------------------------------------------------------------------------
// Relay: the chosen endpoint's response goes back to the client, streamed chunk by chunk or
// buffered whole; TTFT, usage and body evidence are read on the way.

void Gateway::chooseResponder(RequestContext& ctx) {
  ctx.endpoint = &ctx.cfg.endpoints[ctx.chosen];
  ctx.adapter = &adapterFor(*ctx.endpoint);
  ctx.version = rollouts_ ? rollouts_->versionOf(ctx.snap, ctx.chosen, ctx.body.model)
                          : ctx.snap.versionOf(ctx.chosen, ctx.body.model);
  ctx.upstream_status = ctx.exchange->status();
  const EndpointConfig& ep = *ctx.endpoint;
  if (ep.evidence.kind == EvidenceSpec::Kind::Endpoint) {
    ctx.evidence_value = ep.region;
  } else if (ep.evidence.kind == EvidenceSpec::Kind::Header) {
    auto it = ctx.exchange->head().find(ep.evidence.header);
    if (it != ctx.exchange->head().end()) ctx.evidence_value = std::string(it->value());
  }
  workers_[ctx.worker]->policy->onRouted(ctx.route, ctx.chosen);
  if (share_ && share_->shares(ctx.route.jurisdiction))
    share_->publish(ctx.worker, ctx.route.jurisdiction, ctx.route.model, ep.name,
                    ctx.route.blocks);
}

bool Gateway::blockMode(const Config& cfg) {
  return cfg.residency.on_violation == ViolationMode::Block;
}

void Gateway::judge(RequestContext& ctx) {
  std::optional<std::string_view> v;
  if (ctx.evidence_value) v = *ctx.evidence_value;
  ctx.verdict = residency::judgeEvidence(ctx.cfg, *ctx.jur, v, ctx.endpoint->api);
  ctx.verdict_known = true;
}

asio::awaitable<void> Gateway::relay(RequestContext& ctx, const http::Request& req,
                                     http::ResponseWriter& out) {
  const bool upstream_stream = ctx.body.stream && ctx.upstream_status == 200;
  const bool body_evidence = ctx.endpoint->evidence.kind == EvidenceSpec::Kind::Body;
  // Evidence known from the head is judged before any byte reaches the client.
  if (upstream_stream && !body_evidence) {
    judge(ctx);
    if (!ctx.verdict.ok() && blockMode(ctx.cfg)) ctx.blocked = true;
  }
  // Stream straight through unless block mode must wait for body evidence at the end.
  const bool pass_through = upstream_stream && !(blockMode(ctx.cfg) && body_evidence);
  if (pass_through && !ctx.blocked)
    co_await relayStream(ctx, req, out);
  else
    co_await relayWhole(ctx, upstream_stream);
}

http::ResponseWriter::HeaderList Gateway::responseHeaders(const RequestContext& ctx) const {
  return {{"x-regiongate-request-id", ctx.request_id},
          {"x-regiongate-jurisdiction", ctx.jur->name},
          {"x-regiongate-region", ctx.actual_region},
          {"x-regiongate-endpoint", ctx.endpoint->name},
          {"x-regiongate-attempts", std::to_string(ctx.tried.size())},
          {"x-regiongate-model-version", std::string(versionHeaderValue(ctx.version))}};
}

std::string_view versionHeaderValue(std::string_view version) {
  if (version.empty()) return "unversioned";
  if (version.size() > 128) return "invalid";
  for (unsigned char c : version)
    if (c <= 0x20 || c >= 0x7f) return "invalid";
  return version;
}

asio::awaitable<void> Gateway::relayStream(RequestContext& ctx, const http::Request& req,
                                           http::ResponseWriter& out) {
  bhttp::response<bhttp::empty_body> head{bhttp::status::ok, req.version()};
  head.set(bhttp::field::content_type, "text/event-stream");
  head.set(bhttp::field::cache_control, "no-cache");
  if (ctx.verdict_known) ctx.actual_region = regionLabel(ctx.verdict);
  for (auto& [k, v] : responseHeaders(ctx)) head.set(k, v);
  bool client_ok = co_await out.begin(std::move(head), http::ResponseWriter::HeadTiming::WithFirstChunk);
  const EndpointConfig& ep = *ctx.endpoint;
  const bool body_evidence = ep.evidence.kind == EvidenceSpec::Kind::Body;
  http::SseParser sse;
  const int64_t deadline = clock_.nowNanos() + int64_t{ctx.cfg.routing.upstream_timeout_ms} * 1'000'000;
  for (int guard = 0; guard < 10'000'000 && client_ok; ++guard) {
    auto left = std::chrono::milliseconds((deadline - clock_.nowNanos()) / 1'000'000);
    if (left.count() <= 0) {
      ctx.upstream_ok = false;
      ctx.upstream_err = "upstream_timeout";
      break;
    }
    // The head waits for the first chunk only while that chunk is at hand (read already, or in
    // the kernel for a plain connection): the client sees the head before the gateway waits for
    // the upstream, and a first event that is there leaves with it, in one write.
    auto piece = ctx.exchange->nextAtHand();
    if (!piece) {
      client_ok = co_await out.flush();
      if (!client_ok) break;
      const int64_t tw = clock_.nowNanos();
      piece = co_await ctx.exchange->next(left);
      ctx.upstream_wait_ns += clock_.nowNanos() - tw;
    }
    if (!*piece) {
      ctx.upstream_ok = false;
      ctx.upstream_err = piece->error().code;
      break;
    }
    const std::string_view bytes = **piece;
    if (bytes.empty()) break;
    const bool had_content = ctx.info.has_content;
    sse.feed(bytes, [&](std::string_view data) {
      if (data == "[DONE]") return;
      if (data.find("\"usage\"") != std::string_view::npos || body_evidence || !ctx.info.has_content)
        ctx.adapter->readInfo(data, ep.evidence.path, ctx.info);
    });
    if (ctx.tenant_cfg->store_text) ctx.held.append(bytes);
    client_ok = co_await out.chunk(bytes);
    if (!had_content && ctx.info.has_content && ctx.ttft_ms < 0) ctx.ttft_ms = msSince(clock_, ctx.t0);
    if (ctx.exchange->done()) break;
  }
  if (body_evidence) {
    ctx.evidence_value = ctx.info.body_evidence;
    judge(ctx);
  }
  if (!ctx.upstream_ok) {
    // Bytes already reached the client: no retry; end the stream with an error event.
    std::string ev = "data: " +
                     errorBody("upstream_error", ctx.upstream_err,
                               "the upstream stream broke: " + ctx.upstream_err) +
                     "\n\n";
    co_await out.chunk(ev);
  }
  // The terminating chunk waits for the audit record (durability before completion).
}

// Whole body: non-stream; error statuses; or a stream held back for block-mode body evidence.
asio::awaitable<void> Gateway::relayWhole(RequestContext& ctx, bool upstream_stream) {
  const EndpointConfig& ep = *ctx.endpoint;
  const int64_t tw = clock_.nowNanos();
  auto st = co_await ctx.exchange->readAll(
      ctx.held, std::chrono::milliseconds(ctx.cfg.routing.upstream_timeout_ms), kMaxHeldBody);
  ctx.upstream_wait_ns += clock_.nowNanos() - tw;
  if (!st) {
    ctx.upstream_ok = false;
    ctx.upstream_err = st.error().code;
  }
  if (upstream_stream) {
    http::SseParser sse;
    sse.feed(ctx.held, [&](std::string_view data) {
      if (data != "[DONE]") ctx.adapter->readInfo(data, ep.evidence.path, ctx.info);
    });
  } else {
    ctx.adapter->readInfo(ctx.held, ep.evidence.path, ctx.info);
  }
  ctx.ttft_ms = msSince(clock_, ctx.t0);
  if (ep.evidence.kind == EvidenceSpec::Kind::Body) ctx.evidence_value = ctx.info.body_evidence;
  if (!ctx.verdict_known) judge(ctx);
  if (!ctx.verdict.ok() && blockMode(ctx.cfg) && ctx.upstream_status < 400) ctx.blocked = true;
}

// ---------------------------------------------------------------------------------------------
// Judge evidence: a violation is counted, logged and written to the audit; in block mode the
// client gets a 502 instead of the content (decided in relay, before any byte left).

void Gateway::judgeEvidence(RequestContext& ctx) {
  if (!ctx.verdict_known) judge(ctx);
  ctx.actual_region = regionLabel(ctx.verdict);
  ctx.rec.evidence_value = ctx.evidence_value.value_or("");
  if (ctx.verdict.ok() || ctx.upstream_status >= 400) return;
  const std::string kind(residency::evidenceKindName(ctx.verdict.kind));
  ctx.rec.violation = kind;
  spdlog::warn(
      "residency violation: request {} tenant {} jurisdiction {} endpoint {} evidence {}={} ({}){}",
      ctx.request_id, ctx.tenant_cfg->name, ctx.jur->name, ctx.endpoint->name,
      ctx.endpoint->evidence.raw, printable(ctx.evidence_value), kind,
      ctx.blocked ? ", blocked" : "");
}

// ---------------------------------------------------------------------------------------------
// Finish: close the endpoint's lease, hand the record to the audit (durable before the response
// completes, with wait_durable), let the observers see the request, answer the client.

void Gateway::settle(RequestContext& ctx, bool response_started) {
  ctx.client_status = ctx.blocked ? 502 : ctx.upstream_status;
  if (!ctx.upstream_ok && !response_started) ctx.client_status = 502;
  if (ctx.upstream_ok) ctx.lease.succeeded();
  else ctx.lease.failed(clock_.nowNanos(), ctx.cfg.health);
  workers_[ctx.worker]->policy->onCompleted(ctx.chosen, ctx.route, ctx.ttft_ms,
                                           static_cast<uint64_t>(ctx.info.cached_tokens));
  ctx.exchange->finish();
  const EndpointConfig& ep = *ctx.endpoint;
  audit::Record& rec = ctx.rec;
  rec.endpoint = ep.name;
  rec.intended_region = ep.region;
  rec.model_version = ctx.version;
  rec.evidence = ep.evidence.raw;
  rec.actual_region = ctx.actual_region;
  rec.prompt_tokens = ctx.info.prompt_tokens;
  rec.cached_tokens = ctx.info.cached_tokens;
  rec.completion_tokens = ctx.info.completion_tokens;
  if (ctx.tenant_cfg->store_text) rec.completion_text = ctx.held;
  rec.status = static_cast<int>(ctx.client_status);
  if (ctx.blocked) rec.error_type = "residency_violation";
  rec.ttft_ms = ctx.ttft_ms;
}

// Fills the record's request fields and hands it to the audit; returns once it is durable
// (wait_durable) or queued.
asio::awaitable<void> Gateway::recordRequest(RequestContext& ctx) {
  audit::Record& rec = ctx.rec;
  rec.ts_us = ctx.wall0;
  rec.request_id = ctx.request_id;
  rec.tenant = ctx.tenant_cfg->name;
  rec.jurisdiction = ctx.jur->name;
  rec.model = ctx.body.model;
  if (ctx.tenant_cfg->store_text) rec.prompt_text = ctx.body.canonical_text;
  if (rec.status == 0) rec.status = static_cast<int>(ctx.client_status);
  rec.duration_ms = msSince(clock_, ctx.t0);
  for (const auto& a : rec.attempts) ctx.attempts_ms += a.ms;
  co_await recordAudit(*workers_[ctx.worker], ctx.worker, std::move(ctx.rec),
                       std::move(ctx.audit_expected), ctx.cfg.audit.wait_durable);
  ctx.total_ms = msSince(clock_, ctx.t0);
}

asio::awaitable<void> Gateway::finish(RequestContext& ctx, http::ResponseWriter& out) {
  settle(ctx, out.started());
  co_await recordRequest(ctx);
  for (auto& o : observers_) o->onFinished(ctx);
  co_await answer(ctx, out);
}

asio::awaitable<void> Gateway::answer(RequestContext& ctx, http::ResponseWriter& out) {
  if (out.started()) {
    co_await out.end();
    co_return;
  }
  if (ctx.blocked) {
    // A named Failure, not a temporary: g++ 12 destroys temporaries of a co_await expression
    // twice in some forms (a double free seen in block mode).
    const Failure f{ErrorKind::ResidencyViolation,
                    "the upstream's evidence places inference outside jurisdiction '" +
                        ctx.jur->name + "' (" + ctx.endpoint->evidence.raw + " = " +
                        printable(ctx.evidence_value) +
                        "); the response was withheld (on_violation: block)",
                    std::string(residency::evidenceKindName(ctx.verdict.kind)),
                    jurisdictionField(*ctx.jur) + ",\"actual_region\":" +
                        jsonString(ctx.actual_region)};
    co_await fail(ctx, out, f);
    co_return;
  }
  if (!ctx.upstream_ok) {
    const Failure f{ErrorKind::UpstreamBroken,
                    "the upstream response broke after it started: " + ctx.upstream_err,
                    ctx.upstream_err};
    co_await fail(ctx, out, f);
    co_return;
  }
  // Hot path: the head is formatted by hand from views (no Beast fields, no header vector).
  auto ct = ctx.exchange->head().find(bhttp::field::content_type);
  const std::string_view content_type = ct != ctx.exchange->head().end()
                                            ? std::string_view(ct->value())
                                            : std::string_view("application/json");
  const std::string attempts = std::to_string(ctx.tried.size());
  const std::string_view version = versionHeaderValue(ctx.version);
  const http::ResponseWriter::HeaderView hs[] = {
      {"x-regiongate-request-id", ctx.request_id}, {"x-regiongate-jurisdiction", ctx.jur->name},
      {"x-regiongate-region", ctx.actual_region},  {"x-regiongate-endpoint", ctx.endpoint->name},
      {"x-regiongate-attempts", attempts},         {"x-regiongate-model-version", version}};
  co_await out.sendRaw(ctx.upstream_status, content_type, hs, ctx.held);
}

// Answers a typed refusal: the table's status, type and code; counted by type; the request id
// and (once known) the jurisdiction go back as headers; Retry-After where the table says so.
asio::awaitable<void> Gateway::fail(RequestContext& ctx, http::ResponseWriter& out,
                                    const Failure& f) {
  const ErrorSpec& spec = specFor(f.kind);
  metrics_.errors.with({spec.type}).inc();
  http::ResponseWriter::HeaderList headers;
  headers.emplace_back("x-regiongate-request-id", ctx.request_id);
  if (ctx.jur) headers.emplace_back("x-regiongate-jurisdiction", ctx.jur->name);
  if (ctx.endpoint) {
    for (auto& h : responseHeaders(ctx))
      if (h.first != "x-regiongate-request-id" && h.first != "x-regiongate-jurisdiction")
        headers.push_back(std::move(h));
  } else if (spec.retry_after || f.kind == ErrorKind::UpstreamTls ||
             f.kind == ErrorKind::ProviderRefused) {
    headers.emplace_back("x-regiongate-attempts", std::to_string(ctx.tried.size()));
  }
  if (spec.retry_after) {
    const int64_t s = std::max<int64_t>(1, (ctx.min_retry_after + 999'999'999) / 1'000'000'000);
    headers.emplace_back("retry-after", std::to_string(s));
  }
  co_await out.sendJson(spec.status,
                        errorBody(spec.type, f.code.empty() ? spec.code : f.code, f.message, f.extra),
                        std::move(headers));
}

}  // namespace regiongate::gateway
