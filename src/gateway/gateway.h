#pragma once
// The gateway: data-plane listener (HttpServer, N workers), admin listener, per-worker state,
// config snapshots and reload, active health checks, metrics and audit. The request phases
// themselves are in proxy.cc (docs/architecture.md has the phase chart).
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "admin/admin_access.h"
#include "audit/audit_log.h"
#include "common/clock.h"
#include "gateway/request_observer.h"
#include "routing/policy.h"
#include "gateway/rollout_hooks.h"
#include "gateway/route_share.h"
#include "gateway/snapshot.h"
#include "gateway/tls_material.h"
#include "http/server.h"
#include "metrics/gateway_metrics.h"
#include "metrics/registry.h"
#include "upstream/health.h"

namespace regiongate::upstream {
class AttemptLease;
class ConnectionPool;
}

namespace regiongate::gateway {

namespace asio = boost::asio;

struct GatewayOptions {
  const Clock* clock = &SystemClock::instance();
  std::string config_path;  // for SIGHUP / POST /admin/reload; "" = reload disabled
  bool quiet = false;
};

struct WorkerState;

struct RequestContext;
struct Failure;

class Gateway {
public:
  static Result<std::unique_ptr<Gateway>> create(ConfigPtr config, GatewayOptions options);
  ~Gateway();

  Status start();
  uint16_t port() const { return server_ ? server_->port() : 0; }
  uint16_t adminPort() const { return admin_ ? admin_->port() : 0; }

  // Validates (loader + residency proof) and swaps the config on every worker; in-flight requests
  // finish on the old one. On failure the old config stays and the error is returned and shown
  // in /admin/status.
  Status reload(ConfigPtr config);
  Status reloadFromFile();
  // Graceful: stop accepting, drain in-flight requests up to the deadline, flush the audit.
  void stop(uint32_t drain_ms);

  SnapshotPtr currentSnapshot() const;
  metrics::Registry& registry() { return registry_; }
  std::string statusJson() const;
  bool ready() const;

  // The request path (proxy.cc): the admission before the body is read, then the phases.
  std::optional<http::Response> filterHead(http::bhttp::request_header<>& head, size_t worker,
                                           uint64_t& note);
  asio::awaitable<void> handle(http::Request& req, http::ResponseWriter& out, size_t worker);

private:
  Gateway(ConfigPtr config, GatewayOptions options, TlsMaterial tls);
  // New listener certificates for new connections, after a reload read them.
  void rotateListenerTls(const Config& old_cfg, const Config& cfg, const TlsMaterial& tls);
  asio::awaitable<void> handleAdmin(http::Request& req, http::ResponseWriter& out);
  // The allowed request's route (access already granted by handleAdmin).
  asio::awaitable<void> serveAdmin(const admin::AdminDecision& d, http::Request& req,
                                   http::ResponseWriter& out);
  // ---- the phases of a request, in order (proxy.cc; docs/architecture.md)
  void begin(RequestContext& ctx);
  std::optional<Failure> route(RequestContext& ctx, const http::Request& req);
  std::optional<Failure> resolveTenant(RequestContext& ctx, const http::Request& req,
                                       uint64_t note);
  asio::awaitable<void> handleModels(RequestContext& ctx, http::ResponseWriter& out);
  std::optional<Failure> parseBody(RequestContext& ctx, http::Request& req);
  std::optional<Failure> resolvePool(RequestContext& ctx, const http::Request& req);
  Failure modelUnavailable(const RequestContext& ctx) const;
  Failure apiNotServed(const RequestContext& ctx) const;
  void pinVersion(RequestContext& ctx);
  void prepareRoute(RequestContext& ctx);
  routing::Policy& policyFor(WorkerState& w, const Config& cfg);
  // Worker `worker`'s thread: the routes its peers shared, into its policy's prefix index.
  void learnPeerRoutes(size_t worker, const std::vector<SharedRoute>& routes);
  void startRouteShare(const Config& cfg, size_t workers);
  uint32_t pick(RequestContext& ctx, upstream::AttemptLease& lease);
  asio::awaitable<void> attempt(RequestContext& ctx, const http::Request& req);
  asio::awaitable<std::string> send(RequestContext& ctx, const http::Request& req, uint32_t e);
  void observeAttempt(const RequestContext& ctx, const EndpointConfig& ep, std::string_view outcome);
  asio::awaitable<void> answerExhausted(RequestContext& ctx, http::ResponseWriter& out);
  Failure exhaustedFailure(const RequestContext& ctx) const;
  void chooseResponder(RequestContext& ctx);
  void judge(RequestContext& ctx);
  asio::awaitable<void> relay(RequestContext& ctx, const http::Request& req,
                              http::ResponseWriter& out);
  asio::awaitable<void> relayStream(RequestContext& ctx, const http::Request& req,
                                    http::ResponseWriter& out);
  asio::awaitable<void> relayWhole(RequestContext& ctx, bool upstream_stream);
  void judgeEvidence(RequestContext& ctx);
  void settle(RequestContext& ctx, bool response_started);
  asio::awaitable<void> recordRequest(RequestContext& ctx);
  asio::awaitable<void> finish(RequestContext& ctx, http::ResponseWriter& out);
  asio::awaitable<void> answer(RequestContext& ctx, http::ResponseWriter& out);
  asio::awaitable<void> fail(RequestContext& ctx, http::ResponseWriter& out, const Failure& f);
  http::ResponseWriter::HeaderList responseHeaders(const RequestContext& ctx) const;
  static bool blockMode(const Config& cfg);

  upstream::ConnectionPool& poolFor(WorkerState& w, uint32_t endpoint, size_t worker);
  // Tenant index for a bearer key (kNone if unknown). SHA-256 of the key once per worker and
  // config generation; later requests with the same key hit a per-worker cache. Unknown keys
  // are never cached (always hashed), so the cache holds at most the configured tenants' keys.
  uint32_t tenantFor(WorkerState& w, std::string_view key);
  void installSnapshot(SnapshotPtr snap);
  void warnAboutAdminAccess(const AdminConfig& admin_cfg) const;
  void runHealthChecks();
  void updateHealthGauges();
  std::string newRequestId(WorkerState& w, size_t worker);
  // Hands a finished request's record to the audit (batched per event-loop round, see
  // WorkerState::audit_out); with a listener the request resumes once it is durable.
  void queueAudit(WorkerState& w, size_t worker, audit::Submission sub);
  void flushAudit(WorkerState& w);
  // queueAudit, then (wait_durable) resume once the record survives a crash: at once when the
  // worker's spill took it, else once it is stored (or dropped).
  // `expected`: the request's announcement from admission (AuditLog::expect).
  asio::awaitable<void> recordAudit(WorkerState& w, size_t worker, audit::Record rec,
                                    audit::Expectation expected, bool wait_durable);

  GatewayOptions options_;
  const Clock& clock_;
  metrics::Registry registry_;
  metrics::GatewayMetrics metrics_;
  upstream::HealthRegistry health_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<RolloutHooks> rollouts_;  // versions + rollouts (rollout_hooks.h)
  std::vector<std::unique_ptr<RequestObserver>> observers_;  // metrics, then rollouts
  std::unique_ptr<http::HttpServer> server_;
  std::unique_ptr<RouteShare> share_;  // null unless routing.share is configured
  std::unique_ptr<http::HttpServer> admin_;
  TlsMaterial start_tls_;  // the listeners' contexts until start() hands them to the servers
  std::vector<std::unique_ptr<WorkerState>> workers_;

  mutable std::mutex control_mu_;  // control plane only: snapshot swaps, status
  SnapshotPtr current_;
  uint64_t generation_ = 0;
  std::string last_reload_error_;
  std::string last_reload_result_ = "initial";
  uint64_t process_nonce_ = 0;

  std::atomic<bool> stopping_{false};
  std::thread health_thread_;
  std::mutex health_mu_;
  std::condition_variable health_cv_;
};

}  // namespace regiongate::gateway
