#pragma once
// The audit store seam (one interface, one implementation per audit.sink): SqliteStore,
// PostgresStore and the tests' FakeStore. A Store is used by one thread at a time (the
// jurisdiction's writer thread, or the CLI); it is not thread-safe. Every method reports failure as
// a Status with `retryable` set when trying again later may help (database down, locked, disk
// full).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/record.h"
#include "common/result.h"

namespace regiongate::audit {

// The newest record of one replica's chain (seq 0 + genesis hash when the chain is empty).
struct ChainHead {
  int64_t seq = 0;
  std::string hash{kGenesisHash};
  std::string jurisdiction;  // the newest record's ("" when the chain is empty)
  int64_t ts_us = 0;         // the newest record's
};

// What scan() returns. Order: by (replica_id, seq) when `chain_order`, else by (ts_us, replica_id,
// seq).
struct ScanQuery {
  std::optional<std::string> replica_id;
  std::optional<int64_t> since_us;  // ts_us >= since_us
  std::optional<int64_t> until_us;  // ts_us < until_us
  std::optional<std::string> request_id;
  std::optional<std::string> tenant;
  bool violations_only = false;
  bool chain_order = true;
  int64_t limit = -1;  // -1 = all
};

// One stored segment of a chain (segment.h), without its records: what retention plans with.
struct SegmentInfo {
  int64_t first_seq = 0, last_seq = 0;
  int64_t min_ts_us = 0, max_ts_us = 0;
  int64_t record_count = 0;
};

class Store {
public:
  virtual ~Store() = default;
  virtual std::string kind() const = 0;  // "sqlite" | "postgres" | "fake"
  // Human-readable name for messages (a path or a DSN without password).
  virtual std::string name() const = 0;
  // Connects / opens and creates the schema when missing. Safe to call again after a failure.
  virtual Status open() = 0;
  virtual Result<ChainHead> chainHead(const std::string& replica_id) = 0;
  // Appends the batch (seq/prev_hash/hash already set) and the optional checkpoint in one
  // transaction: all or nothing.
  virtual Status append(const std::vector<Record>& batch, const Checkpoint* checkpoint) = 0;
  virtual Result<std::vector<std::string>> replicas() = 0;
  // Calls fn for each matching record until it returns false.
  virtual Status scan(const ScanQuery& q, const std::function<bool(const Record&)>& fn) = 0;
  virtual Result<std::vector<Checkpoint>> checkpoints(const std::string& replica_id) = 0;

  // The writer splits a commit in two: append() makes the batch durable, maintain() then does
  // the housekeeping that a sink would otherwise do inside the commit before returning (SQLite:
  // the WAL checkpoint and its two fsyncs), so that the requests waiting for their records
  // (audit.wait_durable) are answered first. Only a caller that enables it and then calls
  // maintain() after its commits gets the split; every other caller keeps the sink's own
  // behaviour (SQLite's automatic checkpoint inside the commit).
  virtual void setDeferredMaintenance(bool on) {}
  virtual void maintain() {}

  // Retention (audit/prune.h). A sink without it keeps every record: no anchors, and prune()
  // refuses.
  // The replica's segments in chain order (first_seq ascending).
  virtual Result<std::vector<SegmentInfo>> segmentIndex(const std::string& replica_id) {
    return Error::internal(name() + ": this audit sink cannot list segments", "audit_prune");
  }
  // The replica's prune anchors, through_seq ascending (none when nothing was ever pruned).
  virtual Result<std::vector<PruneAnchor>> pruneAnchors(const std::string& replica_id) {
    return std::vector<PruneAnchor>{};
  }
  // In one transaction: stores the anchor and deletes the replica's segments whose last_seq is
  // at most anchor.through_seq.
  virtual Status prune(const PruneAnchor& anchor) {
    return Error::internal(name() + ": this audit sink cannot prune", "audit_prune");
  }
};

}  // namespace regiongate::audit
