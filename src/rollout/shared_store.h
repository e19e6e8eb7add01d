#pragma once
// The rollout state several gateway replicas share, in PostgreSQL (libpq; docs/operations.md
// "Several replicas"). One control database for the deployment holds:
//   - regiongate_rollouts: the latest rollout of each (region, model) in the state file's
//     encoding, the gate window (bumped whenever a step starts; reports are per window), when the
//     step started (database time, so a replica taking over continues the step's dwell), the
//     lease (holder and expiry, database time) and a revision for optimistic writes;
//   - regiongate_rollout_reports: per replica, rollout, window and version, the counts, errors and
//     a bounded TTFT sample the replica observed: what the lease holder pools for the gates;
//   - regiongate_replicas: each replica's last heartbeat and report, for /admin/status.
// No request content, prompt or prefix hash is stored: counts and latencies only.
// Blocking; not thread-safe: owned by the rollout control thread, never the data plane.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "pg/connection.h"
#include "rollout/state_machine.h"


namespace regiongate::rollout {

struct StoredRollout {
  RolloutRecord record;
  int64_t window = 0;
  int64_t step_elapsed_ms = 0;  // since the current step started (database clock)
  std::string lease_holder;     // "" = never held
  int64_t lease_left_ms = 0;    // <= 0: expired
  int64_t revision = 0;
};

struct ReplicaReport {
  std::string replica_id;
  int64_t age_ms = 0;  // since its last heartbeat (database clock)
  std::string report;  // JSON object the replica wrote (its per-version window counts)
};

// Green's and blue's observations of one window, summed over every replica that reported.
struct PooledWindow {
  VersionObservations green, blue;
  uint32_t replicas = 0;  // replicas whose reports were summed
};

class SharedStore {
public:
  // `timeout_ms` bounds connecting and every statement.
  SharedStore(std::string dsn, uint32_t timeout_ms);
  ~SharedStore();
  SharedStore(const SharedStore&) = delete;
  SharedStore& operator=(const SharedStore&) = delete;

  bool connected() const { return conn_.connected(); }
  // Connects and creates the tables if missing (serialised across replicas by an advisory lock).
  Status open();
  void close() { conn_.close(); }
  std::string name() const { return conn_.name(); }  // the DSN with any password masked

  Result<std::vector<StoredRollout>> loadAll();
  // Takes or renews the lease of (region, model) when free, expired or already ours.
  Result<bool> acquireLease(const std::string& region, const std::string& model,
                            const std::string& replica_id, uint32_t lease_ms);
  // Writes a record the lease holder advanced; refused (false) unless `replica_id` still holds an
  // unexpired lease and the row is still at `revision`. `new_window` restarts the step clock.
  Result<bool> writeAsHolder(const RolloutRecord& rec, bool new_window,
                             const std::string& replica_id, int64_t revision);
  // An operator's change through any replica, serialised per (region, model) by an advisory
  // lock: `change` gets the current row (nullptr: none) and returns the record to store, or an
  // error that is returned as is. A record with a zero id gets the next id from the sequence.
  using Change = std::function<Result<RolloutRecord>(const StoredRollout* current, bool& new_window)>;
  Result<StoredRollout> change(const std::string& region, const std::string& model,
                               const Change& change);

  Status report(const std::string& replica_id, uint64_t rollout_id, int64_t window,
                const std::string& version, const VersionObservations& obs);
  Result<PooledWindow> pooled(uint64_t rollout_id, int64_t window, const std::string& green_version,
                              const std::string& blue_version);
  Status heartbeat(const std::string& replica_id, const std::string& report_json);
  Result<std::vector<ReplicaReport>> replicas();

private:
  Result<StoredRollout> selectOne(const std::string& region, const std::string& model, bool& found);

  uint32_t timeout_ms_;
  pg::Connection conn_;
};

// TTFT samples as a PostgreSQL array literal and back ("{1.5,2}"); bounded to the last `cap`.
std::string ttftArrayLiteral(const std::vector<double>& v, size_t cap);
std::vector<double> parseTtftArray(std::string_view text);

}  // namespace regiongate::rollout
