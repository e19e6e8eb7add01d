#pragma once
// SQLite sink: one database file per jurisdiction (<audit.dir>/<jurisdiction>.db) in WAL mode,
// `synchronous` from audit.durability; records are stored as segments (segment.h). Not
// thread-safe: owned by one writer thread (or the CLI).
#include <sqlite3.h>

#include <functional>
#include <memory>
#include <string>

#include "audit/store.h"
#include "audit/wal_checkpointer.h"
#include "common/clock.h"

namespace regiongate::audit {

class SqliteStore final : public Store {
public:
  // durability: off | normal | full. read_only: open an existing file for verify/query (never
  // creates it, never changes the schema).
  SqliteStore(std::string path, std::string durability, bool read_only = false);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  std::string kind() const override { return "sqlite"; }
  std::string name() const override { return path_; }
  Status open() override;
  Result<ChainHead> chainHead(const std::string& replica_id) override;
  Status append(const std::vector<Record>& batch, const Checkpoint* checkpoint) override;
  Result<std::vector<std::string>> replicas() override;
  Status scan(const ScanQuery& q, const std::function<bool(const Record&)>& fn) override;
  Result<std::vector<Checkpoint>> checkpoints(const std::string& replica_id) override;
  Result<std::vector<SegmentInfo>> segmentIndex(const std::string& replica_id) override;
  Result<std::vector<PruneAnchor>> pruneAnchors(const std::string& replica_id) override;
  Status prune(const PruneAnchor& anchor) override;
  // Deferred (the gateway's writer): SQLite's automatic checkpoint is off on this connection and
  // a WalCheckpointer (wal_checkpointer.h) checkpoints from its own connection and thread, PASSIVE,
  // once kBackgroundCheckpointPages frames wait to be copied, or after a second
  // with new commits. maintain() (after each commit, once its records are reported) tells it
  // the WAL's size. Only if the WAL still reaches kWalLimitPages (the background checkpoints
  // never caught up with the commits, or fail), or a commit has waited kCheckpointOverdueNanos
  // for one, does maintain() checkpoint on this connection, which lets the next commit restart
  // the WAL: the bounds on its size and on the age of a commit a power loss can take.
  void setDeferredMaintenance(bool on) override;
  void maintain() override;
  static constexpr int kCheckpointPages = 1000;
  // The background checkpointer's size threshold when answers wait for the commit, smaller than
  // SQLite's: the writer's WAL appends stall while a checkpoint fsyncs the WAL they append to
  // (ext4 makes a write to a block under I/O wait for it), and a checkpoint's fsync takes longer
  // the more pages it writes. Measured unpinned on the benchmark VM, one client, interleaved
  // (docs/benchmarks.md "audit"): p99 3.6-4.1 ms at 100 pages against 5.5-91 ms at 1 000 and
  // 31-171 ms at 8 000.
  static constexpr int kBackgroundCheckpointPages = 100;
  // When no answer waits for the commit (the workers' spills, spill.h), SQLite's own threshold:
  // a page rewritten by many commits is copied once per checkpoint, and the checkpointer's CPU
  // per request fell from 2.5 to 1.4 µs at 32 connections (docs/benchmarks.md "audit").
  // Before open().
  void setBackgroundCheckpointPages(int pages) { background_checkpoint_pages_ = pages; }
  // ~64 MB: at saturation on the benchmark VM (~2 000 WAL pages/s) one writer checkpoint every
  // ~8 s, whose fsyncs every connection then waits for.
  static constexpr int kWalLimitPages = 16 * kCheckpointPages;
  // Another bound (tests: a smaller WAL is quicker to fill). Before open().
  void setWalLimitPages(int pages) { wal_limit_pages_ = pages; }
  // The background checkpointer runs only on CPU time no other thread wants (SCHED_IDLE,
  // wal_checkpointer.cc). Under `normal` durability a commit survives a power loss once a
  // checkpoint has fsynced the WAL after it, so on a host with no idle CPU, maintain()
  // checkpoints on the writer once the oldest commit no checkpoint covers is this old: twice
  // the checkpointer's interval.
  static constexpr int64_t kCheckpointOverdueNanos = 2'000'000'000;
  // The clock that dates commits for that bound (tests: a ManualClock). Must outlive the store.
  void setClock(const Clock& clock) { clock_ = &clock; }
  // Called on the checkpointer thread before each background checkpoint (tests hold one there).
  // Takes effect for checkpointers started afterwards (open(), setDeferredMaintenance(true)).
  void setBeforeBackgroundCheckpoint(std::function<void()> hook) {
    before_checkpoint_ = std::move(hook);
  }
  // The WAL's frames after the newest commit (deferred mode; 0 before the first).
  int walPages() const { return wal_pages_; }
  // Checkpoints run on the writer's connection because the WAL reached kWalLimitPages.
  uint64_t writerCheckpoints() const { return writer_checkpoints_; }
  uint64_t backgroundCheckpoints() const {
    return checkpointer_ ? checkpointer_->checkpoints() : 0;
  }

private:
  // The layout before segments: audit_records was a table, one row per record (schema.h).
  Result<bool> hasLegacyTable();
  Result<bool> hasTable(const char* name);
  Status migrateLegacy();
  Status scanLegacy(const ScanQuery& q, const std::function<bool(const Record&)>& fn);
  // Inserts batch as segments of at most kMaxRecordsPerSegment (inside the caller's transaction).
  Status insertSegments(const std::vector<Record>& batch);
  // Runs `sql` (one `?`: the replica id) and calls `row` for each result row.
  Status forEachReplicaRow(const std::string& sql, const std::string& replica_id, const char* what,
                           const std::function<void(sqlite3_stmt*)>& row);
  Error sqlError(const std::string& what, int rc) const;
  Status beginWrite(const char* what);
  Status rollback(Status why);
  Status exec(const char* sql);
  void close();
  void installWalHook();
  void startCheckpointer();
  void checkpointOnWriter();
  bool checkpointOverdue();
  std::string synchronous() const;
  static int onWalCommit(void* self, sqlite3* db, const char* name, int pages);

  std::string path_;
  std::string durability_;
  bool read_only_;
  bool legacy_ = false;  // read-only open of a store written before segments
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* insert_cp_ = nullptr;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  bool defer_checkpoint_ = false;
  int wal_pages_ = 0;  // frames in the WAL after the last commit (deferred mode)
  bool checkpoint_failing_ = false;
  int wal_limit_pages_ = kWalLimitPages;
  int background_checkpoint_pages_ = kBackgroundCheckpointPages;
  uint64_t writer_checkpoints_ = 0;
  const Clock* clock_ = &SystemClock::instance();
  // When the oldest commit that no checkpoint is known to cover was made (-1: none).
  int64_t uncovered_since_ns_ = -1;
  uint64_t seen_background_checkpoints_ = 0;
  std::function<void()> before_checkpoint_;
  std::unique_ptr<WalCheckpointer> checkpointer_;  // deferred mode, writable opens
};

}  // namespace regiongate::audit
