#pragma once
// The gateway: data-plane listener (HttpServer, N workers), admin listener, per-worker state,
// config snapshots and reload, active health checks, metrics and audit. The request phases
// themselves are in proxy.cc (docs/architecture.md has the phase chart).
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "audit/audit_log.h"
#include "common/clock.h"
#include "gateway/rollout_hooks.h"  // issue 8
#include "gateway/snapshot.h"
#include "gateway/tls_material.h"
#include "http/server.h"
#include "metrics/gateway_metrics.h"
#include "metrics/registry.h"
#include "routing/policy.h"
#include "upstream/connection_pool.h"
#include "upstream/health.h"

namespace regiongate::gateway {

namespace asio = boost::asio;

struct GatewayOptions {
  const Clock* clock = &SystemClock::instance();
  std::string config_path;  // for SIGHUP / POST /admin/reload; "" = reload disabled
  bool quiet = false;
};

// Per-worker state. Thread: touched only by its worker's io_context thread.
// Exact-match cache of authenticated bearer keys (see Gateway::tenantFor). Equality is
// constant-time so a probe cannot learn a cached key's prefix from timing.
struct KeyHash {
  using is_transparent = void;
  size_t operator()(std::string_view k) const { return std::hash<std::string_view>{}(k); }
};
struct KeyEqual {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const;
};

// Requests of one worker waiting for their audit record to be durable (audit.wait_durable). The
// writer reports a whole group commit with one onDurable call, which posts ONE handler to the
// worker; that handler wakes each waiting request. Waiters live in their request's coroutine
// frame and unregister when they go (a request torn down at shutdown leaves no dangling entry).
class AuditWaiters final : public audit::DurableSink {
public:
  // One waiting request; registers itself, and unregisters if it goes before completion.
  class Waiter {
  public:
    Waiter(AuditWaiters& owner, const asio::any_io_executor& ex) : owner_(owner), timer(ex) {
      timer.expires_at(asio::steady_timer::time_point::max());
      cookie = owner_.add(this);
    }
    ~Waiter() {
      if (!done) owner_.remove(cookie);
    }
    Waiter(const Waiter&) = delete;
    Waiter& operator=(const Waiter&) = delete;

  private:
    AuditWaiters& owner_;

  public:
    asio::steady_timer timer;
    uint64_t cookie = 0;
    bool done = false;
    bool durable = false;
  };
  explicit AuditWaiters(asio::any_io_executor ex) : ex_(std::move(ex)) {}
  // Writer thread.
  void onDurable(std::vector<uint64_t> cookies, bool durable) override;
  // Worker thread.
  uint64_t add(Waiter* w);
  void remove(uint64_t cookie) { waiting_.erase(cookie); }

private:
  void complete(const std::vector<uint64_t>& cookies, bool durable);
  asio::any_io_executor ex_;
  std::unordered_map<uint64_t, Waiter*> waiting_;
  uint64_t next_ = 1;
};

struct WorkerState {
  SnapshotPtr snapshot;
  // Audit records of this worker not yet handed to the writers: flushed once per event-loop
  // round (a posted handler), so the writers' queues see one lock and one wake-up per round.
  std::vector<audit::Submission> audit_out;
  bool audit_flush_posted = false;
  std::unique_ptr<AuditWaiters> audit_waiters;
  // Valid keys seen on this worker -> tenant index, for snapshot `key_cache_generation` only.
  std::unordered_map<std::string, uint32_t, KeyHash, KeyEqual> key_cache;
  uint64_t key_cache_generation = UINT64_MAX;
  // Endpoint index -> its pool, for snapshot `endpoint_pools_generation` only.
  std::vector<upstream::ConnectionPool*> endpoint_pools;
  uint64_t endpoint_pools_generation = UINT64_MAX;
  // Scratch for one synchronous pick (no co_await between filling and using them).
  std::vector<routing::Candidate> scratch_candidates;
  std::vector<uint8_t> scratch_probe;
  std::unique_ptr<routing::Policy> policy;
  std::string policy_name;
  // keyed by "host:port" so pools survive reloads that keep the endpoint
  std::unordered_map<std::string, std::unique_ptr<upstream::ConnectionPool>> pools;
  uint64_t next_request = 0;
};

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

  // Used by proxy.cc (same object, split for size).
  asio::awaitable<void> handle(http::Request& req, http::ResponseWriter& out, size_t worker);
  std::optional<http::Response> filterHead(http::bhttp::request_header<>& head, size_t worker);

private:
  Gateway(ConfigPtr config, GatewayOptions options, TlsMaterial tls);
  // New listener certificates for new connections, after a reload read them.
  void rotateListenerTls(const Config& old_cfg, const Config& cfg, const TlsMaterial& tls);
  asio::awaitable<void> handleAdmin(http::Request& req, http::ResponseWriter& out);
  asio::awaitable<void> handleModels(http::Request& req, http::ResponseWriter& out, WorkerState& w,
                                     uint32_t tenant);
  upstream::ConnectionPool& poolFor(WorkerState& w, uint32_t endpoint, size_t worker);
  // Tenant index for a bearer key (kNone if unknown). SHA-256 of the key once per worker and
  // config generation; later requests with the same key hit a per-worker cache. Unknown keys
  // are never cached (always hashed), so the cache holds at most the configured tenants' keys.
  uint32_t tenantFor(WorkerState& w, std::string_view key);
  void installSnapshot(SnapshotPtr snap);
  void runHealthChecks();
  void updateHealthGauges();
  std::string newRequestId(WorkerState& w, size_t worker);
  // Hands a finished request's record to the audit (batched per event-loop round, see
  // WorkerState::audit_out); with a waiter the request resumes once it is durable.
  void queueAudit(WorkerState& w, size_t worker, audit::Record rec, audit::Expectation expected,
                  uint64_t cookie = 0);
  void flushAudit(WorkerState& w);
  // queueAudit, then (wait_durable) resume once the record is durable or dropped.
  // `expected`: the request's announcement from admission (AuditLog::expect).
  asio::awaitable<void> recordAudit(WorkerState& w, size_t worker, audit::Record rec,
                                    audit::Expectation expected, bool wait_durable);

  GatewayOptions options_;
  const Clock& clock_;
  metrics::Registry registry_;
  metrics::GatewayMetrics metrics_;
  upstream::HealthRegistry health_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<RolloutHooks> rollouts_;  // issue 8: versions + rollouts (rollout_hooks.h)
  std::unique_ptr<http::HttpServer> server_;
  std::unique_ptr<http::HttpServer> admin_;
  TlsMaterial start_tls_;  // the listeners' contexts until start() hands them to the servers
  std::vector<WorkerState> workers_;

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
