#include "audit/sqlite_store.h"

#include <spdlog/spdlog.h>

#include "audit/rows.h"
#include "audit/schema.h"
#include "audit/segment.h"

namespace regiongate::audit {
namespace {

std::string colText(sqlite3_stmt* st, int i) {
  const unsigned char* t = sqlite3_column_text(st, i);
  return t ? std::string(reinterpret_cast<const char*>(t),
                         static_cast<size_t>(sqlite3_column_bytes(st, i)))
           : std::string();
}

// One row of a stepped statement, for rows.h.
struct SqliteRow {
  sqlite3_stmt* st;
  std::string text(int col) const { return colText(st, col); }
  int64_t i64(int col) const { return sqlite3_column_int64(st, col); }
};

std::optional<std::string> colOpt(sqlite3_stmt* st, int i) {
  if (sqlite3_column_type(st, i) == SQLITE_NULL) return std::nullopt;
  return colText(st, i);
}

Record rowToRecord(sqlite3_stmt* st) {
  Record r;
  int i = 0;
  r.replica_id = colText(st, i++);
  r.seq = sqlite3_column_int64(st, i++);
  r.ts_us = sqlite3_column_int64(st, i++);
  r.request_id = colText(st, i++);
  r.tenant = colText(st, i++);
  r.jurisdiction = colText(st, i++);
  r.model = colText(st, i++);
  r.model_version = colText(st, i++);
  r.intended_region = colText(st, i++);
  r.actual_region = colText(st, i++);
  r.evidence = colText(st, i++);
  r.evidence_value = colText(st, i++);
  r.endpoint = colText(st, i++);
  r.attempts = decodeStoredAttempts(colText(st, i++));
  r.status = sqlite3_column_int(st, i++);
  r.ttft_ms = sqlite3_column_double(st, i++);
  r.duration_ms = sqlite3_column_double(st, i++);
  r.prompt_tokens = sqlite3_column_int64(st, i++);
  r.cached_tokens = sqlite3_column_int64(st, i++);
  r.completion_tokens = sqlite3_column_int64(st, i++);
  r.violation = colText(st, i++);
  r.error_type = colText(st, i++);
  r.prompt_text = colOpt(st, i++);
  r.completion_text = colOpt(st, i++);
  r.prev_hash = colText(st, i++);
  r.hash = colText(st, i++);
  return r;
}

void bindText(sqlite3_stmt* st, int i, const std::string& s) {
  sqlite3_bind_text(st, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
}

// Statement owner for one-off queries.
struct Stmt {
  sqlite3_stmt* st = nullptr;
  ~Stmt() { sqlite3_finalize(st); }
};

}  // namespace

SqliteStore::SqliteStore(std::string path, std::string durability, bool read_only)
    : path_(std::move(path)), durability_(std::move(durability)), read_only_(read_only) {}

SqliteStore::~SqliteStore() { close(); }

void SqliteStore::close() {
  checkpointer_.reset();  // its connection closes first: the writer's close checkpoints last
  for (sqlite3_stmt** st : {&insert_, &insert_cp_, &begin_, &commit_}) {
    sqlite3_finalize(*st);
    *st = nullptr;
  }
  if (db_) sqlite3_close_v2(db_);
  db_ = nullptr;
}

Error SqliteStore::sqlError(const std::string& what, int rc) const {
  std::string msg = path_ + ": " + what + ": " + sqlite3_errstr(rc);
  if (db_ && rc != SQLITE_OK) {
    const char* m = sqlite3_errmsg(db_);
    if (m && std::string_view(m) != sqlite3_errstr(rc)) msg += std::string(" (") + m + ")";
  }
  // Locked, busy, full, I/O, cannot open: all may pass. A misuse would not, but it is a bug.
  return Error{ErrorSource::Internal, "audit_store_failed", std::move(msg), true};
}

Status SqliteStore::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (err) sqlite3_free(err);
  if (rc != SQLITE_OK) return sqlError(sql, rc);
  return {};
}

Status SqliteStore::open() {
  if (db_ && (read_only_ || insert_)) return {};
  close();
  int flags = read_only_ ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;  // one thread at a time (class comment)
  int rc = sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    Error e = sqlError("open", rc);
    close();
    return e;
  }
  sqlite3_busy_timeout(db_, 200);
  auto legacy = hasLegacyTable();
  if (!legacy.ok()) {
    close();
    return legacy.error();
  }
  legacy_ = legacy.value();
  if (read_only_) return {};  // a legacy store is read as it is (scanLegacy)
  // journal_size_limit: a WAL that grew past twice its bound (checkpoints failing for a while) is
  // cut back when it restarts; below that the file is reused as it is.
  const std::string pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=" + synchronous() +
                              "; PRAGMA journal_size_limit=" +
                              std::to_string(int64_t{2} * wal_limit_pages_ * 4096) + ";";
  for (const char* sql : {pragmas.c_str(), schema::kCreateSegments, schema::kCreateCheckpoints,
                          schema::kCreatePrunes}) {
    if (auto st = exec(sql); !st.ok()) {
      close();
      return st;
    }
  }
  installWalHook();
  std::string ins = std::string("INSERT INTO audit_segments (") + schema::kSegmentColumns +
                    ") VALUES (?,?,?,?,?,?,?,?)";
  rc = sqlite3_prepare_v2(db_, ins.c_str(), -1, &insert_, nullptr);
  if (rc == SQLITE_OK) {
    std::string cp = std::string("INSERT OR REPLACE INTO audit_checkpoints (") +
                     schema::kCheckpointColumns + ") VALUES (?,?,?,?,?)";
    rc = sqlite3_prepare_v2(db_, cp.c_str(), -1, &insert_cp_, nullptr);
  }
  // The per-batch transaction statements, compiled once (sqlite3_exec would parse them again
  // for every group commit).
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db_, "BEGIN IMMEDIATE", -1, &begin_, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db_, "COMMIT", -1, &commit_, nullptr);
  if (rc != SQLITE_OK) {
    Error e = sqlError("prepare", rc);
    close();
    return e;
  }
  if (legacy_) {
    if (auto st = migrateLegacy(); !st.ok()) {
      close();
      return st;
    }
  }
  if (auto st = exec(schema::kCreateRecordsViewSqlite); !st.ok()) {
    close();
    return st;
  }
  startCheckpointer();
  return {};
}

std::string SqliteStore::synchronous() const {
  return durability_ == "off" ? "OFF" : durability_ == "full" ? "FULL" : "NORMAL";
}

Result<bool> SqliteStore::hasTable(const char* name) {
  Stmt s;
  int rc = sqlite3_prepare_v2(db_, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", -1,
                              &s.st, nullptr);
  if (rc != SQLITE_OK) return sqlError("read schema", rc);
  sqlite3_bind_text(s.st, 1, name, -1, SQLITE_STATIC);
  rc = sqlite3_step(s.st);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) return sqlError("read schema", rc);
  return false;
}

Result<bool> SqliteStore::hasLegacyTable() {
  Stmt s;
  int rc = sqlite3_prepare_v2(
      db_, "SELECT type FROM sqlite_master WHERE name='audit_records'", -1, &s.st, nullptr);
  if (rc != SQLITE_OK) return sqlError("read schema", rc);
  rc = sqlite3_step(s.st);
  if (rc == SQLITE_ROW) return colText(s.st, 0) == "table";
  if (rc != SQLITE_DONE) return sqlError("read schema", rc);
  return false;
}

Status SqliteStore::migrateLegacy() {
  // One transaction: either every legacy row is in a segment and the table is gone, or nothing
  // changed. Records are copied as they are, so their hashes (and the chain) are unchanged.
  if (auto st = exec("BEGIN IMMEDIATE"); !st.ok()) return st;
  std::vector<Record> chain;
  Status write_status;
  int64_t migrated = 0;
  auto flush = [&]() -> bool {
    if (chain.empty()) return true;
    migrated += static_cast<int64_t>(chain.size());
    write_status = insertSegments(chain);
    chain.clear();
    return write_status.ok();
  };
  ScanQuery q;
  q.chain_order = true;
  Status st = scanLegacy(q, [&](const Record& r) {
    if (!chain.empty() && (chain.back().replica_id != r.replica_id ||
                           chain.size() >= kMaxRecordsPerSegment) && !flush())
      return false;
    chain.push_back(r);
    return true;
  });
  if (st.ok() && write_status.ok()) flush();
  if (st.ok()) st = write_status;
  if (st.ok()) st = exec("DROP TABLE audit_records");
  if (st.ok()) st = exec(schema::kCreateRecordsViewSqlite);
  if (st.ok()) st = exec("COMMIT");
  if (!st.ok()) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return st;
  }
  legacy_ = false;
  return {};
}

Status SqliteStore::insertSegments(const std::vector<Record>& batch) {
  for (size_t begin = 0; begin < batch.size(); begin += kMaxRecordsPerSegment) {
    const size_t end = std::min(batch.size(), begin + kMaxRecordsPerSegment);
    const Segment seg = makeSegment(batch, begin, end);
    sqlite3_reset(insert_);
    bindText(insert_, 1, seg.replica_id);
    sqlite3_bind_int64(insert_, 2, seg.first_seq);
    sqlite3_bind_int64(insert_, 3, seg.last_seq);
    sqlite3_bind_int64(insert_, 4, seg.min_ts_us);
    sqlite3_bind_int64(insert_, 5, seg.max_ts_us);
    sqlite3_bind_int64(insert_, 6, seg.record_count);
    sqlite3_bind_int64(insert_, 7, seg.violations);
    bindText(insert_, 8, seg.records);
    int rc = sqlite3_step(insert_);
    sqlite3_reset(insert_);  // the bindings point into `seg`, which dies here
    if (rc != SQLITE_DONE) return sqlError("insert segment at seq " + std::to_string(seg.first_seq), rc);
  }
  return {};
}

Result<ChainHead> SqliteStore::chainHead(const std::string& replica_id) {
  if (auto st = open(); !st.ok()) return st.error();
  Stmt s;
  const char* sql =
      legacy_ ? "SELECT seq, hash, jurisdiction, ts_us FROM audit_records WHERE replica_id=? "
                "ORDER BY seq DESC LIMIT 1"
              : "SELECT first_seq, records FROM audit_segments WHERE replica_id=? "
                "ORDER BY first_seq DESC LIMIT 1";
  int rc = sqlite3_prepare_v2(db_, sql, -1, &s.st, nullptr);
  if (rc != SQLITE_OK) return sqlError("chain head", rc);
  bindText(s.st, 1, replica_id);
  rc = sqlite3_step(s.st);
  ChainHead head;
  if (rc == SQLITE_ROW) {
    if (legacy_) {
      head.seq = sqlite3_column_int64(s.st, 0);
      head.hash = colText(s.st, 1);
      head.jurisdiction = colText(s.st, 2);
      head.ts_us = sqlite3_column_int64(s.st, 3);
    } else {
      // The head is the newest segment's last record (decoded: the stored bytes are the truth).
      auto recs = decodeSegment(replica_id, sqlite3_column_int64(s.st, 0), colText(s.st, 1));
      head.seq = recs.back().seq;
      head.hash = recs.back().hash;
      head.jurisdiction = recs.back().jurisdiction;
      head.ts_us = recs.back().ts_us;
    }
  } else if (rc != SQLITE_DONE) {
    return sqlError("chain head", rc);
  }
  return head;
}

// Opens the store if needed and starts a write transaction (BEGIN IMMEDIATE: the write lock
// now, not at the first write).
Status SqliteStore::beginWrite(const char* what) {
  if (auto st = open(); !st.ok()) return st;
  if (!begin_) return sqlError(what, SQLITE_READONLY);  // opened read-only
  int rc = sqlite3_step(begin_);
  sqlite3_reset(begin_);
  if (rc != SQLITE_DONE) return sqlError("BEGIN IMMEDIATE", rc);
  return {};
}

Status SqliteStore::rollback(Status why) {
  sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  return why;
}

Status SqliteStore::append(const std::vector<Record>& batch, const Checkpoint* checkpoint) {
  if (Status st = beginWrite("append"); !st) return st;
  int rc = SQLITE_OK;
  auto fail = [&](Status st) -> Status { return rollback(std::move(st)); };
  if (auto st = insertSegments(batch); !st.ok()) return fail(std::move(st));
  if (checkpoint) {
    sqlite3_reset(insert_cp_);
    bindText(insert_cp_, 1, checkpoint->replica_id);
    sqlite3_bind_int64(insert_cp_, 2, checkpoint->seq);
    bindText(insert_cp_, 3, checkpoint->hash);
    sqlite3_bind_int64(insert_cp_, 4, checkpoint->ts_us);
    bindText(insert_cp_, 5, checkpoint->mac);
    rc = sqlite3_step(insert_cp_);
    sqlite3_reset(insert_cp_);
    if (rc != SQLITE_DONE) return fail(sqlError("insert checkpoint", rc));
  }
  rc = sqlite3_step(commit_);
  sqlite3_reset(commit_);
  if (rc != SQLITE_DONE) return fail(sqlError("commit", rc));
  return {};
}

int SqliteStore::onWalCommit(void* self, sqlite3*, const char*, int pages) {
  static_cast<SqliteStore*>(self)->wal_pages_ = pages;
  return SQLITE_OK;
}

void SqliteStore::installWalHook() {
  if (!db_ || read_only_) return;
  // sqlite3_wal_autocheckpoint is itself a WAL hook: installing ours replaces it, and setting
  // it back replaces ours.
  if (defer_checkpoint_)
    sqlite3_wal_hook(db_, &SqliteStore::onWalCommit, this);
  else
    sqlite3_wal_autocheckpoint(db_, kCheckpointPages);
}

void SqliteStore::setDeferredMaintenance(bool on) {
  defer_checkpoint_ = on;
  installWalHook();
  if (on)
    startCheckpointer();
  else
    checkpointer_.reset();
}

void SqliteStore::startCheckpointer() {
  if (!defer_checkpoint_ || !db_ || read_only_ || !insert_ || checkpointer_) return;
  WalCheckpointer::Options o;
  o.path = path_;
  o.synchronous = synchronous();
  o.threshold_pages = background_checkpoint_pages_;
  o.before_checkpoint = before_checkpoint_;
  auto cp = std::make_unique<WalCheckpointer>(std::move(o));
  if (auto st = cp->start(); !st.ok()) {
    // Still correct without it: maintain() then checkpoints here, at SQLite's threshold.
    spdlog::warn("audit store {}: no background checkpoints ({}); the writer checkpoints itself",
                 path_, st.error().message);
    return;
  }
  checkpointer_ = std::move(cp);
}

void SqliteStore::maintain() {
  if (!defer_checkpoint_ || !db_ || read_only_) return;
  const int limit = checkpointer_ ? wal_limit_pages_ : kCheckpointPages;
  if (wal_pages_ >= limit || checkpointOverdue())
    checkpointOnWriter();
  else if (checkpointer_)
    checkpointer_->noteCommit(wal_pages_);
}

// After a commit: true once the oldest commit no checkpoint is known to cover is
// kCheckpointOverdueNanos old. A background checkpoint completed since the last commit covers
// the commits before it (those during it too, a shortfall of at most one checkpoint's
// duration); this commit is then the oldest uncovered one.
bool SqliteStore::checkpointOverdue() {
  if (!checkpointer_) return false;
  const int64_t now = clock_->nowNanos();
  const uint64_t done = checkpointer_->checkpoints();
  if (done != seen_background_checkpoints_ || uncovered_since_ns_ < 0) {
    seen_background_checkpoints_ = done;
    uncovered_since_ns_ = now;
  }
  return now - uncovered_since_ns_ >= kCheckpointOverdueNanos;
}

void SqliteStore::checkpointOnWriter() {
  int log = 0, done = 0;
  // PASSIVE as SQLite's automatic checkpoint (never waits for readers), and a failure is not
  // the commit's (the records are already in the WAL); the next commits try again. With every
  // frame copied, the next commit restarts the WAL from its start.
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
  if (rc == SQLITE_OK) {
    wal_pages_ = 0;
    ++writer_checkpoints_;
    uncovered_since_ns_ = -1;
  }
  // BUSY (the background checkpoint is running) is routine. Anything else (disk full, I/O
  // error) is said once when it starts and once when it ends: the WAL grows meanwhile, and if
  // the disk fills, the commits fail and the store reports itself unhealthy.
  if (rc == SQLITE_BUSY) return;
  const bool failing = rc != SQLITE_OK;
  if (failing == checkpoint_failing_) return;
  checkpoint_failing_ = failing;
  if (failing)
    spdlog::warn("audit store {}: WAL checkpoint failed: {} (the WAL grows until one succeeds)",
                 path_, sqlite3_errmsg(db_));
  else
    spdlog::info("audit store {}: WAL checkpoint succeeded again", path_);
}

Result<std::vector<std::string>> SqliteStore::replicas() {
  if (auto st = open(); !st.ok()) return st.error();
  auto has_prunes = hasTable("audit_prunes");
  if (!has_prunes.ok()) return has_prunes.error();
  Stmt s;
  int rc = sqlite3_prepare_v2(db_,
                              legacy_ ? "SELECT replica_id FROM audit_records UNION "
                                        "SELECT replica_id FROM audit_checkpoints ORDER BY 1"
                              : has_prunes.value()
                                  ? "SELECT replica_id FROM audit_segments UNION "
                                    "SELECT replica_id FROM audit_checkpoints UNION "
                                    "SELECT replica_id FROM audit_prunes ORDER BY 1"
                                  : "SELECT replica_id FROM audit_segments UNION "
                                    "SELECT replica_id FROM audit_checkpoints ORDER BY 1",
                              -1, &s.st, nullptr);
  if (rc != SQLITE_OK) return sqlError("list replicas", rc);
  std::vector<std::string> out;
  while ((rc = sqlite3_step(s.st)) == SQLITE_ROW) out.push_back(colText(s.st, 0));
  if (rc != SQLITE_DONE) return sqlError("list replicas", rc);
  return out;
}

Status SqliteStore::scan(const ScanQuery& q, const std::function<bool(const Record&)>& fn) {
  if (auto st = open(); !st.ok()) return st;
  if (legacy_) return scanLegacy(q, fn);
  std::string sql = "SELECT replica_id, first_seq, min_ts_us, records FROM audit_segments";
  std::vector<std::string> where;  // the pieces segment.h lists
  if (q.replica_id) where.push_back("replica_id = ?1");
  if (q.since_us) where.push_back("max_ts_us >= ?2");
  if (q.until_us) where.push_back("min_ts_us < ?4");
  if (q.violations_only) where.push_back("violations > 0");
  for (size_t i = 0; i < where.size(); ++i) sql += (i ? " AND " : " WHERE ") + where[i];
  sql += q.chain_order ? " ORDER BY replica_id, first_seq"
                       : " ORDER BY min_ts_us, replica_id, first_seq";
  Stmt s;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &s.st, nullptr);
  if (rc != SQLITE_OK) return sqlError("scan", rc);
  if (q.replica_id) bindText(s.st, 1, *q.replica_id);
  if (q.since_us) sqlite3_bind_int64(s.st, 2, *q.since_us);
  if (q.until_us) sqlite3_bind_int64(s.st, 4, *q.until_us);
  SegmentScanner scanner(q, fn);
  while ((rc = sqlite3_step(s.st)) == SQLITE_ROW) {
    const auto* replica = reinterpret_cast<const char*>(sqlite3_column_text(s.st, 0));
    const std::string_view replica_id =
        replica ? std::string_view(replica, static_cast<size_t>(sqlite3_column_bytes(s.st, 0)))
                : std::string_view();
    const auto* json = reinterpret_cast<const char*>(sqlite3_column_text(s.st, 3));
    const std::string_view records =
        json ? std::string_view(json, static_cast<size_t>(sqlite3_column_bytes(s.st, 3)))
             : std::string_view();
    if (!scanner.add(replica_id, sqlite3_column_int64(s.st, 1), sqlite3_column_int64(s.st, 2),
                     records))
      return {};
  }
  if (rc != SQLITE_DONE) return sqlError("scan", rc);
  scanner.finish();
  return {};
}

Status SqliteStore::scanLegacy(const ScanQuery& q, const std::function<bool(const Record&)>& fn) {
  std::string sql = std::string("SELECT ") + schema::kRecordColumns + " FROM audit_records";
  std::vector<std::string> where;
  if (q.replica_id) where.push_back("replica_id = ?1");
  if (q.since_us) where.push_back("ts_us >= ?2");
  if (q.tenant) where.push_back("tenant = ?3");
  if (q.until_us) where.push_back("ts_us < ?4");
  if (q.request_id) where.push_back("request_id = ?5");
  if (q.violations_only) where.push_back("violation <> ''");
  for (size_t i = 0; i < where.size(); ++i) sql += (i ? " AND " : " WHERE ") + where[i];
  sql += q.chain_order ? " ORDER BY replica_id, seq" : " ORDER BY ts_us, replica_id, seq";
  if (q.limit >= 0) sql += " LIMIT " + std::to_string(q.limit);
  Stmt s;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &s.st, nullptr);
  if (rc != SQLITE_OK) return sqlError("scan", rc);
  if (q.replica_id) bindText(s.st, 1, *q.replica_id);
  if (q.since_us) sqlite3_bind_int64(s.st, 2, *q.since_us);
  if (q.tenant) bindText(s.st, 3, *q.tenant);
  if (q.until_us) sqlite3_bind_int64(s.st, 4, *q.until_us);
  if (q.request_id) bindText(s.st, 5, *q.request_id);
  while ((rc = sqlite3_step(s.st)) == SQLITE_ROW)
    if (!fn(rowToRecord(s.st))) return {};
  if (rc != SQLITE_DONE) return sqlError("scan", rc);
  return {};
}

Status SqliteStore::forEachReplicaRow(const std::string& sql, const std::string& replica_id,
                                      const char* what,
                                      const std::function<void(sqlite3_stmt*)>& row) {
  Stmt s;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &s.st, nullptr);
  if (rc != SQLITE_OK) return sqlError(what, rc);
  bindText(s.st, 1, replica_id);
  while ((rc = sqlite3_step(s.st)) == SQLITE_ROW) row(s.st);
  if (rc != SQLITE_DONE) return sqlError(what, rc);
  return {};
}

Result<std::vector<Checkpoint>> SqliteStore::checkpoints(const std::string& replica_id) {
  if (auto st = open(); !st.ok()) return st.error();
  std::vector<Checkpoint> out;
  Status st = forEachReplicaRow(std::string("SELECT ") + schema::kCheckpointColumns +
                                    " FROM audit_checkpoints WHERE replica_id=? ORDER BY seq",
                                replica_id, "checkpoints", [&](sqlite3_stmt* r) {
                                  out.push_back(checkpointFromRow(SqliteRow{r}));
                                });
  if (!st.ok()) return st.error();
  return out;
}

Result<std::vector<SegmentInfo>> SqliteStore::segmentIndex(const std::string& replica_id) {
  if (auto st = open(); !st.ok()) return st.error();
  if (legacy_)
    return Error::internal(path_ + ": store in the layout before segments (opened read-only)",
                           "audit_prune");
  std::vector<SegmentInfo> out;
  Status st = forEachReplicaRow(
      "SELECT first_seq, last_seq, min_ts_us, max_ts_us, record_count "
      "FROM audit_segments WHERE replica_id=? ORDER BY first_seq",
      replica_id, "segment index",
      [&](sqlite3_stmt* r) { out.push_back(segmentInfoFromRow(SqliteRow{r})); });
  if (!st.ok()) return st.error();
  return out;
}

Result<std::vector<PruneAnchor>> SqliteStore::pruneAnchors(const std::string& replica_id) {
  if (auto st = open(); !st.ok()) return st.error();
  std::vector<PruneAnchor> out;
  // A store never pruned may predate the table (and a read-only open does not create it).
  auto has = hasTable("audit_prunes");
  if (!has.ok()) return has.error();
  if (!has.value()) return out;
  Status st = forEachReplicaRow(std::string("SELECT ") + schema::kPruneColumns +
                                    " FROM audit_prunes WHERE replica_id=? ORDER BY through_seq",
                                replica_id, "prune anchors", [&](sqlite3_stmt* r) {
                                  out.push_back(pruneAnchorFromRow(SqliteRow{r}));
                                });
  if (!st.ok()) return st.error();
  return out;
}

Status SqliteStore::prune(const PruneAnchor& anchor) {
  if (Status st = beginWrite("prune"); !st) return st;
  int rc = SQLITE_OK;
  auto fail = [&](Status st) -> Status { return rollback(std::move(st)); };
  {
    Stmt s;
    std::string sql = std::string("INSERT INTO audit_prunes (") + schema::kPruneColumns +
                      ") VALUES (?,?,?,?,?,?)";
    rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &s.st, nullptr);
    if (rc != SQLITE_OK) return fail(sqlError("insert prune anchor", rc));
    bindText(s.st, 1, anchor.replica_id);
    sqlite3_bind_int64(s.st, 2, anchor.through_seq);
    bindText(s.st, 3, anchor.hash);
    sqlite3_bind_int64(s.st, 4, anchor.ts_us);
    sqlite3_bind_int64(s.st, 5, anchor.cutoff_us);
    bindText(s.st, 6, anchor.mac);
    if ((rc = sqlite3_step(s.st)) != SQLITE_DONE) return fail(sqlError("insert prune anchor", rc));
  }
  {
    Stmt s;
    rc = sqlite3_prepare_v2(db_, "DELETE FROM audit_segments WHERE replica_id=? AND last_seq<=?",
                            -1, &s.st, nullptr);
    if (rc != SQLITE_OK) return fail(sqlError("delete segments", rc));
    bindText(s.st, 1, anchor.replica_id);
    sqlite3_bind_int64(s.st, 2, anchor.through_seq);
    if ((rc = sqlite3_step(s.st)) != SQLITE_DONE) return fail(sqlError("delete segments", rc));
  }
  rc = sqlite3_step(commit_);
  sqlite3_reset(commit_);
  if (rc != SQLITE_DONE) return fail(sqlError("commit", rc));
  return {};
}

}  // namespace regiongate::audit
