#pragma once
// RolloutManager: the control plane of model versions and rollouts inside one gateway
// (docs/rollouts.md). It owns
//   - the version registry: each endpoint's configured versions, overridden by what
//     GET /v1/models reports (discovery, every rollout.discovery_interval_ms);
//   - one RolloutMachine per (region, model), persisted to the state file on every change;
//   - the gate inputs: observations the data plane feeds (per region/model/version), the prompt
//     sample for pre-warm, and the parity runner;
//   - the RolloutView workers read (atomic shared_ptr; lock-free for readers).
// Threads: tick() runs on one control thread; admin() on the admin listener; observe()/sample()/
// view() on data-plane workers. Blocking work (HTTP to endpoints) runs in tick() without the
// manager's lock held.
#include <atomic>
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

private:
  struct Slot {
    std::unique_ptr<RolloutMachine> machine;
    uint64_t seen_generation = 0;
  };
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
};

}  // namespace regiongate::rollout
