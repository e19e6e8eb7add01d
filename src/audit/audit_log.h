#pragma once
// The gateway's audit log: one store per jurisdiction (the EU trail is itself EU data and is
// never written to a US store), each with its own bounded queue and writer thread.
//
// Thread affinity: admit() / submit() / status() / renderMetrics() from any thread; open() and
// stop() from the owning (main) thread. The jurisdiction table is immutable after open(), so
// lookups take no lock.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "audit/record.h"
#include "audit/store.h"
#include "audit/store_writer.h"
#include "common/clock.h"
#include "common/result.h"
#include "config/config.h"

namespace regiongate::audit {

class AuditLog {
public:
  // One store per jurisdiction in config.jurisdictions (sqlite: <audit.dir>/<jurisdiction>.db;
  // postgres: audit.dsn[jurisdiction]; sink none: no-op). Errors name the key.
  static Result<std::unique_ptr<AuditLog>> open(const Config& cfg, const Clock& clock);
  // For tests and embedders: explicit stores (jurisdiction -> store), options from cfg.audit.
  static Result<std::unique_ptr<AuditLog>> openWithStores(
      const Config& cfg, const Clock& clock,
      std::vector<std::pair<std::string, std::unique_ptr<Store>>> stores);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Admission for a new request of this jurisdiction: false when on_audit_failure=reject and the
  // store is failing or its queue is full. Lock-free (atomics).
  bool admit(std::string_view jurisdiction) const;
  // An admitted request announces the record it will submit (Expectation, store_writer.h): a
  // writer lingering for its batch (audit.flush_interval_ms) commits as soon as every announced
  // record is queued. Lock-free. Empty for sink none or an unknown jurisdiction.
  Expectation expect(std::string_view jurisdiction);
  // Worker `worker`'s spill for the jurisdiction (spill.h), or null (no spill: sink none or
  // postgres, durability full, wait_durable false, spill_dir off). Lock-free. A worker that
  // writes its record there may answer at once and submit it with Submission::spill set.
  SpillFile* spillFor(std::string_view jurisdiction, size_t worker) const;
  // Never blocks. Queues the record for its jurisdiction's store. on_durable (may be empty) is
  // called exactly once from the writer thread: true once the record's transaction committed,
  // false if it was dropped. Returns false if not queued (queue full / unknown jurisdiction /
  // stopped): then on_durable(false) was already called (on this thread) and the drop counted.
  // Sink none: on_durable(true) is called at once (nothing is stored).
  bool submit(Record rec, std::function<void(bool durable)> on_durable = {});
  // The same for many records at once (a gateway worker's records of one event-loop round): one
  // lock and at most one writer wake-up per store. Each submission's listener (if any) hears once,
  // from the writer thread (or this thread if the record was dropped here), whether it is
  // durable. `subs` is consumed (left empty).
  void submitMany(std::vector<Submission>& subs);

  struct StoreStatus {
    std::string jurisdiction, sink, last_error;
    bool healthy;
    size_t queue_depth;
    uint64_t written, dropped;
  };
  std::vector<StoreStatus> status() const;
  // Appends regiongate_audit_records_total{jurisdiction}, regiongate_audit_commits_total,
  // regiongate_audit_queue_depth,
  // regiongate_audit_dropped_total and regiongate_audit_store_up (with # HELP / # TYPE).
  void renderMetrics(std::string& out) const;
  // Drains what it can (audit.stop_timeout_ms per store, in parallel), joins writer threads.
  void stop();

  const std::string& replicaId() const { return replica_id_; }
  // False for sink none (submit is a no-op that reports durable at once).
  bool enabled() const { return !none_; }

private:
  AuditLog() = default;
  StoreWriter* find(std::string_view jurisdiction) const;

  std::string replica_id_;
  bool none_ = false;
  std::vector<std::unique_ptr<StoreWriter>> writers_;
  std::atomic<uint64_t> unknown_dropped_{0};
};

// The replica id used when audit.replica_id is empty: the host name.
std::string defaultReplicaId();

}  // namespace regiongate::audit
