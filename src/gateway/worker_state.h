#pragma once
// A worker's private state: its snapshot, its audit hand-over, key cache, connection pools and
// routing policy. Internal to the gateway part (gateway.cc and proxy.cc); gateway.h only
// forward-declares it. Thread: touched only by its worker's io_context thread.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "audit/audit_log.h"
#include "gateway/snapshot.h"
#include "routing/policy.h"
#include "upstream/connection_pool.h"

namespace regiongate::gateway {

namespace asio = boost::asio;

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
class AuditWaiters final : public audit::DurabilityListener {
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
  routing::PolicyKind policy_kind = routing::PolicyKind::EstimatedTtft;
  routing::PolicyOptions policy_options;  // what `policy` was built with
  // keyed by "host:port" so pools survive reloads that keep the endpoint
  std::unordered_map<std::string, std::unique_ptr<upstream::ConnectionPool>> pools;
  uint64_t next_request = 0;
  std::string request_id_prefix;  // "rg-<process nonce>-<worker>-", built on first use
};

}  // namespace regiongate::gateway
