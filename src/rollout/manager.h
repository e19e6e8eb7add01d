#pragma once
// RolloutManager: the control plane of model versions and rollouts inside one gateway
// (docs/rollouts.md). It owns
//   - the version registry: each endpoint's configured versions, overridden by what
//     GET /v1/models reports (discovery, every rollout.discovery_interval_ms);
//   - one RolloutMachine per (region, model), persisted to the state file on every change;
//   - the gate inputs: observations the data plane feeds (per region/model/version), the prompt
//     sample for pre-warm, and the parity runner;
//   - the RolloutView workers read (atomic shared_ptr; lock-free for readers).
// With rollout.store_dsn (shared mode, docs/operations.md "Several replicas") the rollouts live in
// PostgreSQL (shared_store.h) instead of the state file: every tick the control thread reads them
// into the local mirror (and the view), reports this replica's observations, and evaluates the
// gates only of the rollouts whose lease it holds, on the observations pooled from every replica.
// Admin changes are queued to the control thread, written to the store, then answered. Without
// the store nothing advances: the view keeps the last state it knew.
// Threads: tick() runs on one control thread; admin() on the admin listener; observe()/sample()/
// view() on data-plane workers. Blocking work (HTTP to endpoints, the store) runs in tick()
// without the manager's lock held.
#include <atomic>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "config/config.h"
#include "rollout/parity.h"
#include "rollout/prompt_sample.h"
#include "rollout/shared_store.h"
#include "rollout/state_machine.h"
#include "rollout/view.h"

namespace regiongate::rollout {

// A refusal of the admin API, typed: the gateway maps the kind to an HTTP status.
struct AdminError {
  enum class Kind { BadRequest, NotFound, MethodNotAllowed, Conflict, NotReady };
  Kind kind = Kind::BadRequest;
  std::string code;  // e.g. "rollout_in_progress"
  std::string message;
};

// What an admin request did, as values for the gateway to render.
struct AdminReply {
  enum class Shape { List, Record, Created };
  Shape shape = Shape::Record;
  std::vector<RolloutRecord> records;  // List: every rollout; Record / Created: the one concerned
  std::optional<AdminError> error;     // set instead of the above when refused
};

// One endpoint's version of one model, for metrics and /admin/status.
struct VersionInfo {
  std::string region, endpoint, model, version, configured, source;  // source: config|discovered
};

// Shared mode as /admin/status, /readyz and metrics show it.
struct SharedStatus {
  bool configured = false;  // rollout.store_dsn is set
  bool up = false;          // the last tick reached the store
  std::string replica_id, store, last_error;
  int64_t last_ok_wall_us = 0;
  struct Lease {
    std::string region, model, holder;
    int64_t left_ms = 0;
  };
  std::vector<Lease> leases;             // every live rollout's lease as last read
  std::vector<ReplicaReport> replicas;   // as last read
};

class RolloutManager {
public:
  explicit RolloutManager(const Clock& clock);
  ~RolloutManager();

  // Start and every reload. The first call loads the state file (rollout.state_file, default
  // <audit.dir>/rollouts.json); an unreadable state file is an error (the gateway refuses to
  // start rather than forget a rollout).
  Status configure(ConfigPtr cfg);

  // Data plane (any worker thread).
  RolloutViewPtr view() const { return view_.load(std::memory_order_acquire); }
  void observe(const std::string& region, const std::string& model, const std::string& version,
               bool error, double ttft_ms);
  void sample(std::string_view jurisdiction, std::string_view region, std::string_view model,
              std::span<const uint64_t> blocks, std::string_view body);

  // Admin API (docs/rollouts.md "Admin API"): `path` starts with /admin/rollouts.
  AdminReply admin(std::string_view method, std::string_view path, std::string_view body);
  // Every rollout (for /admin/status and the admin list).
  std::vector<RolloutRecord> records() const;
  std::vector<VersionInfo> versions() const;
  // model -> 1 when two regions serve it at different versions.
  std::map<std::string, int> skew() const;

  // One control-loop iteration: discovery when due, pre-warm, parity, step gates, persistence.
  void tick();
  // Tests: replace how parity and pre-warm reach endpoints.
  void setParityFetch(ParityFetch f);
  const PromptSampler& sampler() const { return sampler_; }
  // Model ids and versions from endpoints' /v1/models refused by validation so far (never
  // stored; each logged escaped). Any thread.
  uint64_t refusedDiscoveryStrings() const { return refused_discovery_.load(std::memory_order_relaxed); }
  std::string stateFile() const;

  // Shared mode. The replica id (audit.replica_id) must be set before the first configure().
  void setReplicaId(std::string id);
  // Called when an admin change is queued, so the control thread runs its next tick at once.
  void setWake(std::function<void()> wake);
  SharedStatus sharedStatus() const;
  bool sharedConfigured() const { return shared_configured_.load(std::memory_order_relaxed); }
  bool sharedUp() const { return shared_up_.load(std::memory_order_relaxed); }
  // The control thread has stopped: admin changes still queued are refused (503) at once.
  void refuseQueuedChanges() { failPending("the gateway is stopping"); }

private:
  struct Slot {
    std::unique_ptr<RolloutMachine> machine;
    uint64_t seen_generation = 0;
    int64_t window = -1;    // shared mode: the stored gate window and revision mirrored
    int64_t revision = -1;
  };
  // An admin change waiting for the control thread (shared mode).
  struct PendingChange {
    std::string body;                 // start: the request body
    std::string region, model, action;  // action: "" = start, else promote|abort|resume
    std::promise<AdminReply> done;
    std::atomic<bool> abandoned{false};
  };
  AdminReply buildStartLocked(std::string_view body, RolloutRecord& out);
  AdminReply adminShared(std::string_view method, std::vector<std::string> parts,
                         std::string_view body);
  void tickLocal(const ConfigPtr& cfg);
  void tickShared(const ConfigPtr& cfg);
  Status syncShared(const Config& cfg);
  Status servePending();
  AdminReply applyPending(PendingChange& p);
  void adoptShared(const std::vector<StoredRollout>& rows);
  Status reportShared();
  Status evaluateAsHolder(const Config& cfg, const StoredRollout& s);
  void failPending(const std::string& why);
  void resetWindowObsLocked(const RolloutRecord& r);
  void publishLocked();
  Status saveLocked();
  AdminReply startLocked(std::string_view body);
  void discover(const Config& cfg);
  std::string effectiveVersionLocked(const EndpointConfig& ep, const std::string& model) const;
  std::pair<uint64_t, std::string> runPrewarm(const Config& cfg, const RolloutRecord& r);
  GateResult runParity(const Config& cfg, const RolloutRecord& r);
  std::string obsKey(const std::string& region, const std::string& model,
                     const std::string& version) const {
    return region + "|" + model + "|" + version;
  }

  const Clock& clock_;
  mutable std::mutex mu_;  // everything below except view_, sampler_, obs
  ConfigPtr cfg_;
  bool loaded_ = false;
  std::string state_file_;
  uint64_t next_id_ = 1;
  std::map<std::string, Slot> slots_;  // "region|model"
  // endpoint name -> model -> discovered version
  std::map<std::string, std::map<std::string, std::string>> discovered_;
  int64_t next_discovery_ = 0;
  ParityFetch fetch_;
  std::atomic<std::shared_ptr<const RolloutView>> view_;
  PromptSampler sampler_{256};
  std::atomic<uint64_t> refused_discovery_{0};

  mutable std::mutex obs_mu_;
  std::map<std::string, VersionObservations> obs_;

  // Shared mode. shared_ is used by the control thread only.
  std::unique_ptr<SharedStore> shared_;
  std::atomic<bool> shared_configured_{false}, shared_up_{false};
  std::string replica_id_;          // set before configure(); read-only after
  SharedStatus shared_status_;      // guarded by mu_
  std::function<void()> wake_;      // guarded by pending_mu_
  std::mutex pending_mu_;
  std::deque<std::shared_ptr<PendingChange>> pending_;
};

}  // namespace regiongate::rollout
