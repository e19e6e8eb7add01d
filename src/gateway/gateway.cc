#include "gateway/gateway.h"
#include "gateway/worker_state.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <random>

#include "admin/admin_access.h"
#include "admin/dashboard.h"  // issue 9: the page served at /
#include "common/json.h"
#include "common/peer_string.h"
#include "config/loader.h"
#include "http/client.h"
#include "legal/date.h"
#include "residency/proof.h"

namespace regiongate::gateway {

namespace bhttp = boost::beast::http;

Gateway::Gateway(ConfigPtr config, GatewayOptions options, TlsMaterial tls)
    : options_(std::move(options)), clock_(*options_.clock), metrics_(registry_) {
  std::random_device rd;
  process_nonce_ = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  current_ = buildSnapshot(std::move(config), health_, ++generation_, std::move(tls.upstream));
  start_tls_ = std::move(tls);
}

Gateway::~Gateway() { stop(0); }

Result<std::unique_ptr<Gateway>> Gateway::create(ConfigPtr config, GatewayOptions options) {
  auto proof = residency::requireResidencyProof(
      *config, legal::dateFromWallMicros(options.clock->wallMicros()));
  if (!proof.ok()) return proof.error();
  auto tls = loadTlsMaterial(*config);
  if (!tls) return tls.error();
  std::unique_ptr<Gateway> gw(new Gateway(config, std::move(options), std::move(tls.value())));
  auto audit = audit::AuditLog::open(*config, gw->clock_);
  if (!audit) return audit.error();
  gw->audit_ = std::move(audit.value());
  // [rollout hook] versions + rollouts (issue 8; gateway/rollout_hooks.h)
  gw->rollouts_ = std::make_unique<RolloutHooks>(gw->clock_, gw->registry_,
                                                gw->metrics_.peer_strings_refused,
                                                gw->audit_->replicaId());
  if (auto st = gw->rollouts_->configure(config); !st) return st.error();
  gw->observers_.push_back(std::make_unique<MetricsObserver>(gw->metrics_));
  gw->observers_.push_back(std::make_unique<RolloutObserver>(*gw->rollouts_));
  auto* log = gw->audit_.get();
  gw->registry_.addCollector([log](std::string& out) { log->renderMetrics(out); });
  return gw;
}

Status Gateway::start() {
  const Config& cfg = *current_->config;
  http::ServerOptions opts;
  opts.listen = cfg.listen;
  opts.workers = cfg.workers == 0 ? 1 : cfg.workers;
  opts.max_body_bytes = cfg.limits.max_body_bytes;
  opts.max_header_bytes = cfg.limits.max_header_bytes;
  opts.read_timeout_ms = cfg.limits.read_timeout_ms;
  opts.idle_timeout_ms = cfg.limits.idle_timeout_ms;
  opts.max_connections = cfg.limits.max_connections;
  opts.tls = start_tls_.listen;
  opts.tls_handshake_timeout_ms = cfg.limits.tls_handshake_timeout_ms;
  opts.on_limit = [this](http::LimitKind k) {
    metrics_.limit_rejections.with({http::limitName(k)}).inc();
  };
  opts.head_filter = [this](bhttp::request_header<>& head, size_t worker, uint64_t& note) {
    return filterHead(head, worker, note);
  };
  workers_.clear();
  for (size_t i = 0; i < opts.workers; ++i) {
    workers_.push_back(std::make_unique<WorkerState>());
    workers_.back()->snapshot = current_;
  }
  server_ = std::make_unique<http::HttpServer>(
      opts, [this](http::Request& req, http::ResponseWriter& out, size_t worker) {
        return handle(req, out, worker);
      });
  if (auto st = server_->start(); !st) return st;
  startRouteShare(cfg, opts.workers);

  http::ServerOptions admin_opts;
  admin_opts.listen = cfg.admin_listen;
  admin_opts.workers = 1;
  admin_opts.tls = start_tls_.admin;
  admin_opts.tls_handshake_timeout_ms = cfg.limits.tls_handshake_timeout_ms;
  admin_ = std::make_unique<http::HttpServer>(
      admin_opts, [this](http::Request& req, http::ResponseWriter& out, size_t) {
        return handleAdmin(req, out);
      });
  if (auto st = admin_->start(); !st) return st;
  warnAboutAdminAccess(cfg.admin);

  updateHealthGauges();
  health_thread_ = std::thread([this] { runHealthChecks(); });
  if (rollouts_) rollouts_->start();  // [rollout hook]
  if (!options_.quiet)
    spdlog::info("regiongate serving on {}:{} (admin {}:{}), {} workers, {} endpoints, {} tenants",
                 cfg.listen.substr(0, cfg.listen.rfind(':')), port(),
                 cfg.admin_listen.substr(0, cfg.admin_listen.rfind(':')), adminPort(),
                 opts.workers, cfg.endpoints.size(), cfg.tenants.size());
  return {};
}

// Routes reach a worker as a posted handler, like snapshots: the worker's policy is only ever
// touched on its own thread.
void Gateway::startRouteShare(const Config& cfg, size_t workers) {
  if (!cfg.routing.share.enabled) return;
  RouteShareOptions o;
  o.sender = routing::peerSenderId(audit_ ? audit_->replicaId() : "", process_nonce_);
  o.workers = workers;
  o.share_workers = cfg.routing.share.workers;
  o.dsn = cfg.routing.share.dsn;
  o.flush_ms = cfg.routing.share.flush_ms;
  o.queue_capacity = cfg.routing.share.queue_capacity;
  share_ = std::make_unique<RouteShare>(
      std::move(o),
      [this](size_t i, SharedRoutes routes) {
        asio::post(server_->worker(i), [this, i, routes] { learnPeerRoutes(i, *routes); });
      },
      registry_);
  share_->start();
}

// Said at start (and after every reload) so an operator sees an open or locked admin listener.
// Quiet gateways (demo, plan-validate) run on loopback for a bounded time and stay silent.
void Gateway::warnAboutAdminAccess(const AdminConfig& admin_cfg) const {
  if (options_.quiet) return;
  if (admin_cfg.tokens.empty())
    spdlog::warn("admin: no admin.tokens configured: reads on the admin listener are open and "
                 "every change (POST /admin/reload, /admin/rollouts) answers 403");
  else if (admin::mutationsDisabled(admin_cfg))
    spdlog::warn("admin: no admin token has scope operate: every change (POST /admin/reload, "
                 "/admin/rollouts) answers 403");
}

void Gateway::stop(uint32_t drain_ms) {
  if (stopping_.exchange(true)) return;
  {
    std::lock_guard lock(health_mu_);
  }
  health_cv_.notify_all();
  if (server_) server_->stop(drain_ms);
  if (share_) share_->stop();
  if (admin_) admin_->stop(0);
  if (health_thread_.joinable()) health_thread_.join();
  if (rollouts_) rollouts_->stop();  // [rollout hook]
  // Worker threads are joined: records a worker queued for its next flush round that never ran
  // go to the writers now, so stop() drains them too.
  if (audit_)
    for (auto& w : workers_) flushAudit(*w);
  if (audit_) audit_->stop();
}

SnapshotPtr Gateway::currentSnapshot() const {
  std::lock_guard lock(control_mu_);
  return current_;
}

void Gateway::installSnapshot(SnapshotPtr snap) {
  {
    std::lock_guard lock(control_mu_);
    current_ = snap;
  }
  // Post the new snapshot to every worker (Envoy-style thread-local slot update): a worker picks
  // it up between events; requests already running keep the snapshot they started with.
  if (server_)
    for (size_t i = 0; i < workers_.size(); ++i)
      asio::post(server_->worker(i), [this, i, snap] { workers_[i]->snapshot = snap; });
}

Status Gateway::reload(ConfigPtr config) {
  auto proof = residency::requireResidencyProof(
      *config, legal::dateFromWallMicros(clock_.wallMicros()));
  if (!proof) {
    std::lock_guard lock(control_mu_);
    last_reload_error_ = proof.error().message;
    last_reload_result_ = "refused";
    metrics_.config_reloads.with({"error"}).inc();
    spdlog::error("config reload refused (old config stays): {}", proof.error().message);
    return proof.error();
  }
  // Certificates and keys are read again: replacing the files and reloading rotates them.
  auto tls = loadTlsMaterial(*config);
  if (!tls) {
    std::lock_guard lock(control_mu_);
    last_reload_error_ = tls.error().message;
    last_reload_result_ = "refused";
    metrics_.config_reloads.with({"error"}).inc();
    spdlog::error("config reload refused (old config stays): {}", tls.error().message);
    return tls.error();
  }
  const Config& old_cfg = *currentSnapshot()->config;
  rotateListenerTls(old_cfg, *config, tls.value());
  if (config->listen != old_cfg.listen || config->workers != old_cfg.workers ||
      config->admin_listen != old_cfg.admin_listen) {
    spdlog::warn("config reload: listen/admin_listen/workers changes take effect on restart");
  }
  uint64_t gen;
  {
    std::lock_guard lock(control_mu_);
    gen = ++generation_;
    last_reload_error_.clear();
    last_reload_result_ = "ok";
  }
  auto snap = buildSnapshot(std::move(config), health_, gen, std::move(tls.value().upstream));
  installSnapshot(snap);
  if (rollouts_) (void)rollouts_->configure(snap->config);  // [rollout hook]
  metrics_.config_reloads.with({"ok"}).inc();
  spdlog::info("config reloaded (generation {})", gen);
  warnAboutAdminAccess(snap->config->admin);
  return {};
}

void Gateway::rotateListenerTls(const Config& old_cfg, const Config& cfg, const TlsMaterial& tls) {
  if (old_cfg.tls.enabled() != cfg.tls.enabled() ||
      old_cfg.admin_tls.enabled() != cfg.admin_tls.enabled())
    spdlog::warn("config reload: turning TLS on or off for listen/admin_listen takes effect on restart");
  // Established connections keep the context they were accepted with.
  if (server_ && tls.listen) server_->setTls(tls.listen);
  if (admin_ && tls.admin) admin_->setTls(tls.admin);
}

Status Gateway::reloadFromFile() {
  if (options_.config_path.empty())
    return Error::config("reload: the gateway was not started from a config file");
  auto cfg = loadConfigFile(options_.config_path);
  if (!cfg) {
    std::lock_guard lock(control_mu_);
    last_reload_error_ = cfg.error().message;
    last_reload_result_ = "refused";
    metrics_.config_reloads.with({"error"}).inc();
    spdlog::error("config reload refused (old config stays): {}", cfg.error().message);
    return cfg.error();
  }
  return reload(cfg.value());
}

bool Gateway::ready() const {
  if (stopping_) return false;
  auto snap = currentSnapshot();
  for (const auto& j : snap->config->jurisdictions)
    if (audit_ && !audit_->admit(j.name)) return false;
  return true;
}

void Gateway::updateHealthGauges() {
  auto snap = currentSnapshot();
  int64_t now = clock_.nowNanos();
  for (size_t i = 0; i < snap->health.size(); ++i) {
    const auto& ep = snap->config->endpoints[i];
    metrics_.endpoint_healthy.with({ep.region, ep.name}).set(snap->health[i]->healthy(now) ? 1 : 0);
  }
}

// Active health checks on a control-plane thread with its own io_context: GET the endpoint's
// health_path (default health.path; none for managed providers) on every endpoint each interval; a failing check takes the endpoint out until a check passes.
void Gateway::runHealthChecks() {
  asio::io_context ioc(1);
  while (!stopping_) {
    auto snap = currentSnapshot();
    const auto& cfg = *snap->config;
    uint32_t interval = cfg.health.interval_ms;
    if (interval > 0) {
      for (size_t i = 0; i < cfg.endpoints.size(); ++i) {
        const auto& ep = cfg.endpoints[i];
        if (ep.health_path.empty()) continue;  // health_path: none (managed providers' default)
        auto health = snap->health[i];
        http::ClientRequest req;
        req.target = ep.base_path + ep.health_path;
        req.timeout_ms = cfg.health.timeout_ms;
        req.tls = snap->upstream_tls[i];  // https://: verified TLS, like the data plane
        asio::co_spawn(
            ioc,
            [host = ep.host, port = ep.port, req = std::move(req),
             health]() mutable -> asio::awaitable<void> {
              auto res = co_await http::asyncCall(std::move(host), port, std::move(req));
              health->onActiveCheck(res.ok() && res->status >= 200 && res->status < 300);
            },
            asio::detached);
      }
      ioc.restart();
      ioc.run_for(std::chrono::milliseconds(cfg.health.timeout_ms + 100));
    }
    updateHealthGauges();
    std::unique_lock lock(health_mu_);
    health_cv_.wait_for(lock, std::chrono::milliseconds(interval > 0 ? interval : 1000),
                        [this] { return stopping_.load(); });
  }
}

std::string Gateway::statusJson() const {
  auto snap = currentSnapshot();
  const auto& cfg = *snap->config;
  int64_t now = clock_.nowNanos();
  std::string out = "{\"generation\":" + std::to_string(snap->generation);
  {
    std::lock_guard lock(control_mu_);
    out += ",\"config\":{\"file\":" + jsonString(cfg.source_file) +
           ",\"last_reload\":" + jsonString(last_reload_result_) +
           ",\"last_reload_error\":" + jsonString(last_reload_error_) + "}";
  }
  out += ",\"gateway_region\":" + jsonString(cfg.gateway_region);
  out += ",\"routing_policy\":" + jsonString(routing::policyName(cfg.routing.policy));
  out += ",\"residency\":{\"on_violation\":" +
         jsonString(violationModeName(cfg.residency.on_violation)) + "}";
  out += ",\"endpoints\":[";
  for (size_t i = 0; i < cfg.endpoints.size(); ++i) {
    const auto& ep = cfg.endpoints[i];
    const auto& h = *snap->health[i];
    if (i) out += ",";
    out += "{\"name\":" + jsonString(ep.name) + ",\"region\":" + jsonString(ep.region) +
           ",\"url\":" + jsonString(ep.url) + ",\"api\":" + jsonString(upstreamApiName(ep.api)) +
           // Where the credential comes from ("env:NAME", "file:PATH"), never its value.
           ",\"credential_source\":" + jsonString(ep.secret.source) +
           ",\"healthy\":" + (h.healthy(now) ? "true" : "false") +
           ",\"ejected\":" + (h.ejected(now) ? "true" : "false") +
           ",\"active_check_failing\":" + (h.activeDown() ? "true" : "false") +
           ",\"ejections\":" + std::to_string(h.ejections()) + ",\"models\":[";
    for (size_t m = 0; m < ep.models.size(); ++m) {
      if (m) out += ",";
      out += "{\"model\":" + jsonString(ep.models[m].name) +
             ",\"version\":" + jsonString(ep.models[m].version) + "}";
    }
    out += "]}";
  }
  out += "],\"tenants\":[";
  for (size_t i = 0; i < cfg.tenants.size(); ++i) {
    if (i) out += ",";
    out += "{\"name\":" + jsonString(cfg.tenants[i].name) +
           ",\"jurisdiction\":" + jsonString(cfg.tenants[i].jurisdiction) + "}";
  }
  out += "],\"audit\":[";
  if (audit_) {
    auto st = audit_->status();
    for (size_t i = 0; i < st.size(); ++i) {
      if (i) out += ",";
      out += "{\"jurisdiction\":" + jsonString(st[i].jurisdiction) + ",\"sink\":" + jsonString(st[i].sink) +
             ",\"healthy\":" + (st[i].healthy ? "true" : "false") +
             ",\"queue_depth\":" + std::to_string(st[i].queue_depth) +
             ",\"written\":" + std::to_string(st[i].written) +
             ",\"dropped\":" + std::to_string(st[i].dropped) +
             ",\"last_error\":" + jsonString(st[i].last_error) + "}";
    }
  }
  out += "]," + (rollouts_ ? rollouts_->statusMembers() : std::string("\"rollouts\":[]")) + "}";  // [rollout hook]
  return out;
}

// Every admin request is first decided by admin::decideAdmin (route, token, scope); a refusal is
// answered here and counted, and every allowed change is logged with the token's name.
asio::awaitable<void> Gateway::handleAdmin(http::Request& req, http::ResponseWriter& out) {
  auto snap = currentSnapshot();
  auto d = admin::decideAdmin(snap->config->admin, req.method_string(), req.target(),
                              req[bhttp::field::authorization]);
  if (!d.allowed) {
    metrics_.admin_denied.with({d.code}).inc();
    spdlog::warn("admin: refused {} {} ({} {}{}{})", escapeForLog(req.method_string()),
                 escapeForLog(d.path), d.status, d.code, d.token_name.empty() ? "" : ", token ",
                 d.token_name);
    std::vector<std::pair<std::string, std::string>> headers;
    if (d.status == 401) headers.emplace_back("www-authenticate", "Bearer realm=\"regiongate-admin\"");
    co_await out.sendJson(d.status,
                          errorBody(d.status == 401 ? "authentication_error" : "permission_error",
                                    d.code, d.message),
                          std::move(headers));
    co_return;
  }
  co_await serveAdmin(d, req, out);
  if (d.mutating)
    spdlog::info("admin: {} {} -> {} (token {})", req.method_string(), escapeForLog(d.path),
                 out.status(), d.token_name);
}

asio::awaitable<void> Gateway::serveAdmin(const admin::AdminDecision& d, http::Request& req,
                                          http::ResponseWriter& out) {
  using admin::AdminRoute;
  if (!d.method_allowed) {
    co_await out.sendJson(405, errorBody("invalid_request_error", "method_not_allowed",
                                         "method not allowed on this admin path"));
    co_return;
  }
  switch (d.route) {
    case AdminRoute::Metrics: {
      updateHealthGauges();
      http::Response res{bhttp::status::ok, req.version()};
      res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res.body() = registry_.render();
      co_await out.send(std::move(res));
      break;
    }
    case AdminRoute::Dashboard: {
      http::Response res{bhttp::status::ok, req.version()};
      res.set(bhttp::field::content_type, "text/html; charset=utf-8");
      res.set(bhttp::field::cache_control, "no-store");
      res.set("content-security-policy", admin::dashboardCsp());
      res.body() = std::string(admin::dashboardHtml());
      co_await out.send(std::move(res));
      break;
    }
    case AdminRoute::Healthz:
      co_await out.sendJson(200, "{\"status\":\"ok\"}");
      break;
    case AdminRoute::Readyz: {
      bool r = ready();
      // Shared rollout store: said, not made a readiness failure: without the store a replica
      // keeps serving with the last rollout state it knew.
      std::string store = rollouts_ ? rollouts_->storeState() : "";
      std::string extra = store.empty() ? "" : ",\"rollout_store\":\"" + store + "\"";
      // Built before the co_await: g++ 12 destroys a temporary of a conditional inside a
      // co_await expression twice.
      std::string body = r ? "{\"ready\":true" + extra + "}"
                           : "{\"ready\":false,\"reason\":\"audit store unavailable or shutting "
                             "down\"" + extra + "}";
      co_await out.sendJson(r ? 200 : 503, std::move(body));
      break;
    }
    case AdminRoute::Status:
      co_await out.sendJson(200, statusJson());
      break;
    case AdminRoute::Rollouts: {
      if (!rollouts_) {
        co_await out.sendJson(404, errorBody("not_found", "not_found", "no such admin path"));
        break;
      }
      auto r = rollouts_->admin(req.method_string(), d.path, req.body());
      co_await out.sendJson(r.status, std::move(r.body));
      break;
    }
    case AdminRoute::Reload: {
      auto st = reloadFromFile();
      if (st.ok())
        co_await out.sendJson(200, "{\"reloaded\":true}");
      else
        co_await out.sendJson(409, errorBody("config_error", st.error().code, st.error().message));
      break;
    }
    case AdminRoute::NotFound:
      co_await out.sendJson(404, errorBody("not_found", "not_found", "no such admin path"));
      break;
  }
}

}  // namespace regiongate::gateway
