#include "audit/postgres_store.h"

#include <libpq-fe.h>

#include <cstdlib>
#include <regex>

#include "audit/schema.h"
#include "audit/segment.h"

namespace regiongate::audit {
namespace {

// Result owner.
struct PgRes {
  PGresult* r = nullptr;
  explicit PgRes(PGresult* res) : r(res) {}
  ~PgRes() { PQclear(r); }
  PgRes(const PgRes&) = delete;
  PgRes& operator=(const PgRes&) = delete;
};

void quietNotices(void*, const char*) {}

int64_t toI64(const char* s) { return std::strtoll(s, nullptr, 10); }

Record rowToRecord(PGresult* res, int row) {
  auto txt = [&](int c) { return std::string(PQgetvalue(res, row, c),
                                             static_cast<size_t>(PQgetlength(res, row, c))); };
  auto opt = [&](int c) -> std::optional<std::string> {
    if (PQgetisnull(res, row, c)) return std::nullopt;
    return txt(c);
  };
  Record r;
  int i = 0;
  r.replica_id = txt(i++);
  r.seq = toI64(PQgetvalue(res, row, i++));
  r.ts_us = toI64(PQgetvalue(res, row, i++));
  r.request_id = txt(i++);
  r.tenant = txt(i++);
  r.jurisdiction = txt(i++);
  r.model = txt(i++);
  r.model_version = txt(i++);
  r.intended_region = txt(i++);
  r.actual_region = txt(i++);
  r.evidence = txt(i++);
  r.evidence_value = txt(i++);
  r.endpoint = txt(i++);
  r.attempts = decodeStoredAttempts(txt(i++));
  r.status = static_cast<int>(toI64(PQgetvalue(res, row, i++)));
  r.ttft_ms = std::strtod(PQgetvalue(res, row, i++), nullptr);
  r.duration_ms = std::strtod(PQgetvalue(res, row, i++), nullptr);
  r.prompt_tokens = toI64(PQgetvalue(res, row, i++));
  r.cached_tokens = toI64(PQgetvalue(res, row, i++));
  r.completion_tokens = toI64(PQgetvalue(res, row, i++));
  r.violation = txt(i++);
  r.error_type = txt(i++);
  r.prompt_text = opt(i++);
  r.completion_text = opt(i++);
  r.prev_hash = txt(i++);
  r.hash = txt(i++);
  return r;
}

// Text parameters for PQexecParams; nullopt = SQL NULL.
struct Params {
  std::vector<std::optional<std::string>> v;
  void add(std::string s) { v.emplace_back(std::move(s)); }
  void addNull() { v.emplace_back(std::nullopt); }
  std::vector<const char*> ptrs() const {
    std::vector<const char*> p;
    p.reserve(v.size());
    for (const auto& s : v) p.push_back(s ? s->c_str() : nullptr);
    return p;
  }
};

// Segment rows per INSERT statement: 8 parameters each; bounds one statement's size (a segment
// of kMaxRecordsPerSegment records with opted-in text can be large).
constexpr size_t kSegmentsPerInsert = 16;
// Legacy rows fetched per round trip when migrating the one-row-per-record table.
constexpr int kLegacyFetchRows = 4096;
// Serialises schema creation and migration between replicas opening the same database.
constexpr const char* kSchemaLock = "SELECT pg_advisory_xact_lock(7275746974)";

bool commandOk(PGresult* r) {
  auto s = PQresultStatus(r);
  return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

}  // namespace

PostgresStore::PostgresStore(std::string dsn, int connect_timeout_s, bool read_only)
    : dsn_(std::move(dsn)), connect_timeout_s_(connect_timeout_s), read_only_(read_only) {}

PostgresStore::~PostgresStore() { close(); }

void PostgresStore::close() {
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
}

std::string PostgresStore::name() const {
  static const std::regex kv_pw(R"(password\s*=\s*\S+)");
  static const std::regex url_pw(R"((://[^:/@]*:)[^@]*@)");
  std::string s = std::regex_replace(dsn_, kv_pw, "password=***");
  return std::regex_replace(s, url_pw, "$1***@");
}

Error PostgresStore::pgError(const std::string& what) const {
  std::string msg = name() + ": " + what;
  if (conn_) {
    std::string m = PQerrorMessage(conn_);
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    if (!m.empty()) msg += ": " + m;
  }
  return Error{ErrorSource::Internal, "audit_store_failed", std::move(msg), true};
}

Status PostgresStore::open() {
  if (conn_ && PQstatus(conn_) == CONNECTION_OK) return {};
  close();
  const std::string timeout = std::to_string(connect_timeout_s_);
  // Earlier keywords are overridden by the DSN's own (expand_dbname = 1).
  const char* keys[] = {"connect_timeout", "dbname", nullptr};
  const char* vals[] = {timeout.c_str(), dsn_.c_str(), nullptr};
  conn_ = PQconnectdbParams(keys, vals, 1);
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
    Error e = pgError("connect");
    close();
    return e;
  }
  PQsetNoticeProcessor(conn_, quietNotices, nullptr);
  if (read_only_) {
    if (Status st = detectLayout(); !st.ok()) {
      close();
      return st;
    }
    return {};
  }
  legacy_ = false;
  if (Status st = createSchema(); !st.ok()) {
    if (PQstatus(conn_) == CONNECTION_OK) PgRes rb(PQexec(conn_, "ROLLBACK"));
    close();
    return st;
  }
  return {};
}

// Read-only: the server refuses any write on this session, and the layout is read as found.
Status PostgresStore::detectLayout() {
  {
    PgRes r(PQexec(conn_, "SET default_transaction_read_only = on"));
    if (!commandOk(r.r)) return pgError("set read only");
  }
  PgRes r(PQexec(conn_,
                 "SELECT (SELECT c.relkind FROM pg_class c WHERE c.relname='audit_records' AND "
                 "pg_table_is_visible(c.oid)), to_regclass('audit_segments') IS NOT NULL, "
                 "to_regclass('audit_checkpoints') IS NOT NULL, "
                 "to_regclass('audit_prunes') IS NOT NULL"));
  if (PQresultStatus(r.r) != PGRES_TUPLES_OK || PQntuples(r.r) != 1)
    return pgError("read schema");
  legacy_ = std::string_view(PQgetvalue(r.r, 0, 0)) == "r";
  const bool segments = std::string_view(PQgetvalue(r.r, 0, 1)) == "t";
  const bool checkpoints = std::string_view(PQgetvalue(r.r, 0, 2)) == "t";
  has_prunes_ = std::string_view(PQgetvalue(r.r, 0, 3)) == "t";
  if ((!legacy_ && !segments) || !checkpoints) {
    return Error{ErrorSource::Internal, "audit_store_failed",
                 name() + ": no audit tables in this database (audit_segments, audit_checkpoints)",
                 false};
  }
  return {};
}

// One transaction under the advisory lock: replicas starting together neither race on CREATE
// nor migrate the same legacy table twice (the second one finds the view).
Status PostgresStore::createSchema() {
  for (const char* sql : {"BEGIN", kSchemaLock, schema::kCreateSegments,
                          schema::kCreateCheckpoints, schema::kCreatePrunes}) {
    PgRes r(PQexec(conn_, sql));
    if (!commandOk(r.r)) return pgError("create schema");
  }
  PgRes kind(PQexec(conn_, "SELECT c.relkind FROM pg_class c WHERE c.relname='audit_records' "
                           "AND pg_table_is_visible(c.oid)"));
  if (PQresultStatus(kind.r) != PGRES_TUPLES_OK) return pgError("create schema");
  const std::string relkind = PQntuples(kind.r) > 0 ? PQgetvalue(kind.r, 0, 0) : "";
  if (relkind == "r") {
    if (Status st = migrateLegacyTable(); !st.ok()) return st;
  }
  // An existing view is left alone: replacing it would wait for every open reader of it.
  if (relkind != "v") {
    PgRes r(PQexec(conn_, schema::kCreateRecordsViewPostgres));
    if (!commandOk(r.r)) return pgError("create audit_records view");
  }
  PgRes r(PQexec(conn_, "COMMIT"));
  if (!commandOk(r.r)) return pgError("create schema: commit");
  return {};
}

// The layout before segments: audit_records was a table, one row per record. Its rows are read
// in chain order through a cursor (bounded memory), regrouped per replica into segments and the
// table is dropped, all inside createSchema's transaction: a failure leaves the old table as it
// was. The records are decoded with the same code the old scan used, so their fields, and hence
// their hashes, are unchanged (an edited row stays detectably edited).
Status PostgresStore::migrateLegacyTable() {
  const std::string declare =
      std::string("DECLARE rg_legacy NO SCROLL CURSOR FOR SELECT ") + schema::kRecordColumns +
      " FROM audit_records ORDER BY replica_id, seq";
  {
    PgRes r(PQexec(conn_, declare.c_str()));
    if (!commandOk(r.r)) return pgError("migrate audit_records: read");
  }
  const std::string fetch = "FETCH FORWARD " + std::to_string(kLegacyFetchRows) + " FROM rg_legacy";
  // One replica's records, flushed in whole segments (and at the end of each replica).
  std::vector<Record> pending;
  const size_t flush_at = kMaxRecordsPerSegment * kSegmentsPerInsert;
  for (;;) {
    PgRes rows(PQexec(conn_, fetch.c_str()));
    if (PQresultStatus(rows.r) != PGRES_TUPLES_OK) return pgError("migrate audit_records: read");
    const int n = PQntuples(rows.r);
    if (n == 0) break;
    for (int i = 0; i < n; ++i) {
      Record rec = rowToRecord(rows.r, i);
      if (!pending.empty() &&
          (pending.front().replica_id != rec.replica_id || pending.size() >= flush_at)) {
        if (Status st = insertSegments(pending); !st.ok()) return st;
        pending.clear();
      }
      pending.push_back(std::move(rec));
    }
  }
  if (!pending.empty()) {
    if (Status st = insertSegments(pending); !st.ok()) return st;
  }
  for (const char* sql : {"CLOSE rg_legacy", "DROP INDEX IF EXISTS audit_records_ts",
                          "DROP TABLE audit_records"}) {
    PgRes r(PQexec(conn_, sql));
    if (!commandOk(r.r)) return pgError(std::string("migrate audit_records: ") + sql);
  }
  return {};
}

// Inserts `recs` (one replica, seq ascending) as ceil(n / kMaxRecordsPerSegment) segment rows.
// Runs inside the caller's transaction.
Status PostgresStore::insertSegments(const std::vector<Record>& recs) {
  for (size_t start = 0; start < recs.size();) {
    std::string sql = std::string("INSERT INTO audit_segments (") + schema::kSegmentColumns +
                      ") VALUES ";
    Params params;
    int n = 0;
    const int64_t first_seq = recs[start].seq;
    for (size_t s = 0; s < kSegmentsPerInsert && start < recs.size(); ++s) {
      const size_t end = std::min(recs.size(), start + kMaxRecordsPerSegment);
      Segment seg = makeSegment(recs, start, end);
      start = end;
      sql += s == 0 ? "(" : ",(";
      for (int c = 0; c < 8; ++c) sql += (c ? ",$" : "$") + std::to_string(++n);
      sql += ')';
      params.add(std::move(seg.replica_id));
      params.add(std::to_string(seg.first_seq));
      params.add(std::to_string(seg.last_seq));
      params.add(std::to_string(seg.min_ts_us));
      params.add(std::to_string(seg.max_ts_us));
      params.add(std::to_string(seg.record_count));
      params.add(std::to_string(seg.violations));
      params.add(std::move(seg.records));
    }
    auto ptrs = params.ptrs();
    PgRes r(PQexecParams(conn_, sql.c_str(), static_cast<int>(ptrs.size()), nullptr, ptrs.data(),
                         nullptr, nullptr, 0));
    if (PQresultStatus(r.r) != PGRES_COMMAND_OK)
      return pgError("insert segment at seq " + std::to_string(first_seq));
  }
  return {};
}

Result<ChainHead> PostgresStore::chainHead(const std::string& replica_id) {
  if (auto st = open(); !st.ok()) return st.error();
  const char* p[] = {replica_id.c_str()};
  if (legacy_) {
    PgRes r(PQexecParams(
        conn_,
        "SELECT seq, hash, jurisdiction, ts_us FROM audit_records WHERE replica_id=$1 "
        "ORDER BY seq DESC LIMIT 1",
        1, nullptr, p, nullptr, nullptr, 0));
    if (PQresultStatus(r.r) != PGRES_TUPLES_OK) return pgError("chain head");
    ChainHead head;
    if (PQntuples(r.r) == 1) {
      head.seq = toI64(PQgetvalue(r.r, 0, 0));
      head.hash = PQgetvalue(r.r, 0, 1);
      head.jurisdiction = PQgetvalue(r.r, 0, 2);
      head.ts_us = toI64(PQgetvalue(r.r, 0, 3));
    }
    return head;
  }
  PgRes r(PQexecParams(conn_,
                       "SELECT first_seq, last_seq, records FROM audit_segments WHERE "
                       "replica_id=$1 ORDER BY first_seq DESC LIMIT 1",
                       1, nullptr, p, nullptr, nullptr, 0));
  if (PQresultStatus(r.r) != PGRES_TUPLES_OK) {
    Error e = pgError("chain head");
    if (PQstatus(conn_) != CONNECTION_OK) close();
    return e;
  }
  ChainHead head;
  if (PQntuples(r.r) == 1) {
    // The hash comes from the decoded records: an unreadable segment decodes to a marker record
    // whose hash is not a chain hash, so the writer's next prev_hash cannot silently match it.
    std::vector<Record> recs =
        decodeSegment(replica_id, toI64(PQgetvalue(r.r, 0, 0)),
                      std::string_view(PQgetvalue(r.r, 0, 2),
                                       static_cast<size_t>(PQgetlength(r.r, 0, 2))));
    head.seq = toI64(PQgetvalue(r.r, 0, 1));
    if (!recs.empty()) {
      head.hash = recs.back().hash;
      head.jurisdiction = recs.back().jurisdiction;
      head.ts_us = recs.back().ts_us;
    }
  }
  return head;
}

Status PostgresStore::append(const std::vector<Record>& batch, const Checkpoint* checkpoint) {
  if (read_only_) return Error::internal(name() + ": opened read-only", "audit_store_failed");
  if (auto st = open(); !st.ok()) return st;
  auto abort = [&](Status st) -> Status {
    if (PQstatus(conn_) != CONNECTION_OK) {
      close();
    } else {
      PgRes rb(PQexec(conn_, "ROLLBACK"));
    }
    return st;
  };
  auto fail = [&](const std::string& what) -> Status { return abort(pgError(what)); };
  {
    PgRes r(PQexec(conn_, "BEGIN"));
    if (PQresultStatus(r.r) != PGRES_COMMAND_OK) return fail("begin");
  }
  // The batch is one replica's records in seq order: ceil(n / kMaxRecordsPerSegment) rows.
  if (!batch.empty()) {
    if (Status st = insertSegments(batch); !st.ok()) return abort(std::move(st));
  }
  if (checkpoint) {
    const std::string seq = std::to_string(checkpoint->seq);
    const std::string ts = std::to_string(checkpoint->ts_us);
    const char* p[] = {checkpoint->replica_id.c_str(), seq.c_str(), checkpoint->hash.c_str(),
                       ts.c_str(), checkpoint->mac.c_str()};
    std::string sql = std::string("INSERT INTO audit_checkpoints (") + schema::kCheckpointColumns +
                      ") VALUES ($1,$2,$3,$4,$5) ON CONFLICT (replica_id, seq) DO UPDATE SET "
                      "hash=EXCLUDED.hash, ts_us=EXCLUDED.ts_us, mac=EXCLUDED.mac";
    PgRes r(PQexecParams(conn_, sql.c_str(), 5, nullptr, p, nullptr, nullptr, 0));
    if (PQresultStatus(r.r) != PGRES_COMMAND_OK) return fail("insert checkpoint");
  }
  PgRes r(PQexec(conn_, "COMMIT"));
  if (PQresultStatus(r.r) != PGRES_COMMAND_OK) return fail("commit");
  return {};
}

Result<std::vector<std::string>> PostgresStore::replicas() {
  if (auto st = open(); !st.ok()) return st.error();
  PgRes r(PQexec(conn_, legacy_ ? "SELECT replica_id FROM audit_records UNION "
                                  "SELECT replica_id FROM audit_checkpoints ORDER BY 1"
                        : has_prunes_ ? "SELECT replica_id FROM audit_segments UNION "
                                        "SELECT replica_id FROM audit_checkpoints UNION "
                                        "SELECT replica_id FROM audit_prunes ORDER BY 1"
                                      : "SELECT replica_id FROM audit_segments UNION "
                                        "SELECT replica_id FROM audit_checkpoints ORDER BY 1"));
  if (PQresultStatus(r.r) != PGRES_TUPLES_OK) return pgError("list replicas");
  std::vector<std::string> out;
  for (int i = 0; i < PQntuples(r.r); ++i) out.emplace_back(PQgetvalue(r.r, i, 0));
  return out;
}

Status PostgresStore::scan(const ScanQuery& q, const std::function<bool(const Record&)>& fn) {
  if (auto st = open(); !st.ok()) return st;
  if (legacy_) return scanLegacy(q, fn);
  // Segment-level filters only (segment.h); SegmentScanner applies the per-record ones, the
  // order within segments and the limit.
  std::string sql = "SELECT replica_id, first_seq, min_ts_us, records FROM audit_segments";
  Params params;
  std::vector<std::string> where;
  if (q.replica_id) {
    params.add(*q.replica_id);
    where.push_back("replica_id = $" + std::to_string(params.v.size()));
  }
  if (q.since_us) {
    params.add(std::to_string(*q.since_us));
    where.push_back("max_ts_us >= $" + std::to_string(params.v.size()));
  }
  if (q.until_us) {
    params.add(std::to_string(*q.until_us));
    where.push_back("min_ts_us < $" + std::to_string(params.v.size()));
  }
  if (q.violations_only) where.push_back("violations > 0");
  for (size_t i = 0; i < where.size(); ++i) sql += (i ? " AND " : " WHERE ") + where[i];
  sql += q.chain_order ? " ORDER BY replica_id, first_seq"
                       : " ORDER BY min_ts_us, replica_id, first_seq";
  auto ptrs = params.ptrs();
  if (!PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(ptrs.size()), nullptr, ptrs.data(),
                         nullptr, nullptr, 0)) {
    Error e = pgError("scan");
    if (PQstatus(conn_) != CONNECTION_OK) close();
    return e;
  }
  PQsetSingleRowMode(conn_);  // stream rows: a whole chain need not fit in memory
  SegmentScanner scanner(q, fn);
  bool want = true, cancelled = false;
  Status status;
  // Always read to the end (NULL result): the connection is then ready for the next command.
  while (PGresult* res = PQgetResult(conn_)) {
    PgRes owner(res);
    auto rs = PQresultStatus(res);
    if (rs == PGRES_SINGLE_TUPLE) {
      if (!want) continue;
      want = scanner.add(
          std::string_view(PQgetvalue(res, 0, 0), static_cast<size_t>(PQgetlength(res, 0, 0))),
          toI64(PQgetvalue(res, 0, 1)), toI64(PQgetvalue(res, 0, 2)),
          std::string_view(PQgetvalue(res, 0, 3), static_cast<size_t>(PQgetlength(res, 0, 3))));
      if (!want && !cancelled) {
        // Done early (limit reached or fn said stop): ask the server to stop sending the rest.
        // If the query has already finished the request has no effect.
        cancelled = true;
        if (PGcancel* c = PQgetCancel(conn_)) {
          char err[256];
          PQcancel(c, err, sizeof(err));
          PQfreeCancel(c);
        }
      }
    } else if (rs != PGRES_TUPLES_OK && status.ok() && !cancelled) {
      status = pgError("scan");
    }
  }
  if (!status.ok()) {
    if (PQstatus(conn_) != CONNECTION_OK) close();
    return status;
  }
  if (cancelled && PQstatus(conn_) != CONNECTION_OK) close();
  if (want) scanner.finish();
  return {};
}

// The older layout, read as it is (read-only stores only): the scan of that layout, unchanged.
Status PostgresStore::scanLegacy(const ScanQuery& q,
                                 const std::function<bool(const Record&)>& fn) {
  std::string sql = std::string("SELECT ") + schema::kRecordColumns + " FROM audit_records";
  Params params;
  std::vector<std::string> where;
  if (q.replica_id) {
    params.add(*q.replica_id);
    where.push_back("replica_id = $" + std::to_string(params.v.size()));
  }
  if (q.since_us) {
    params.add(std::to_string(*q.since_us));
    where.push_back("ts_us >= $" + std::to_string(params.v.size()));
  }
  if (q.tenant) {
    params.add(*q.tenant);
    where.push_back("tenant = $" + std::to_string(params.v.size()));
  }
  if (q.until_us) {
    params.add(std::to_string(*q.until_us));
    where.push_back("ts_us < $" + std::to_string(params.v.size()));
  }
  if (q.request_id) {
    params.add(*q.request_id);
    where.push_back("request_id = $" + std::to_string(params.v.size()));
  }
  if (q.violations_only) where.push_back("violation <> ''");
  for (size_t i = 0; i < where.size(); ++i) sql += (i ? " AND " : " WHERE ") + where[i];
  sql += q.chain_order ? " ORDER BY replica_id, seq" : " ORDER BY ts_us, replica_id, seq";
  if (q.limit >= 0) sql += " LIMIT " + std::to_string(q.limit);
  auto ptrs = params.ptrs();
  if (!PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(ptrs.size()), nullptr, ptrs.data(),
                         nullptr, nullptr, 0))
    return pgError("scan");
  PQsetSingleRowMode(conn_);  // stream rows: a whole chain need not fit in memory
  bool want = true;
  Status status;
  while (PGresult* res = PQgetResult(conn_)) {
    PgRes owner(res);
    auto rs = PQresultStatus(res);
    if (rs == PGRES_SINGLE_TUPLE) {
      if (want) want = fn(rowToRecord(res, 0));
    } else if (rs != PGRES_TUPLES_OK && status.ok()) {
      status = pgError("scan");
    }
  }
  return status;
}

Result<std::vector<Checkpoint>> PostgresStore::checkpoints(const std::string& replica_id) {
  if (auto st = open(); !st.ok()) return st.error();
  const char* p[] = {replica_id.c_str()};
  std::string sql = std::string("SELECT ") + schema::kCheckpointColumns +
                    " FROM audit_checkpoints WHERE replica_id=$1 ORDER BY seq";
  PgRes r(PQexecParams(conn_, sql.c_str(), 1, nullptr, p, nullptr, nullptr, 0));
  if (PQresultStatus(r.r) != PGRES_TUPLES_OK) return pgError("checkpoints");
  std::vector<Checkpoint> out;
  for (int i = 0; i < PQntuples(r.r); ++i) {
    Checkpoint cp;
    cp.replica_id = PQgetvalue(r.r, i, 0);
    cp.seq = toI64(PQgetvalue(r.r, i, 1));
    cp.hash = PQgetvalue(r.r, i, 2);
    cp.ts_us = toI64(PQgetvalue(r.r, i, 3));
    cp.mac = PQgetvalue(r.r, i, 4);
    out.push_back(std::move(cp));
  }
  return out;
}

Result<std::vector<SegmentInfo>> PostgresStore::segmentIndex(const std::string& replica_id) {
  if (auto st = open(); !st.ok()) return st.error();
  if (legacy_)
    return Error::internal(name() + ": database in the layout before segments (opened read-only)",
                           "audit_prune");
  const char* p[] = {replica_id.c_str()};
  PgRes r(PQexecParams(conn_,
                       "SELECT first_seq, last_seq, min_ts_us, max_ts_us, record_count FROM "
                       "audit_segments WHERE replica_id=$1 ORDER BY first_seq",
                       1, nullptr, p, nullptr, nullptr, 0));
  if (PQresultStatus(r.r) != PGRES_TUPLES_OK) return pgError("segment index");
  std::vector<SegmentInfo> out;
  for (int i = 0; i < PQntuples(r.r); ++i) {
    SegmentInfo s;
    s.first_seq = toI64(PQgetvalue(r.r, i, 0));
    s.last_seq = toI64(PQgetvalue(r.r, i, 1));
    s.min_ts_us = toI64(PQgetvalue(r.r, i, 2));
    s.max_ts_us = toI64(PQgetvalue(r.r, i, 3));
    s.record_count = toI64(PQgetvalue(r.r, i, 4));
    out.push_back(s);
  }
  return out;
}

Result<std::vector<PruneAnchor>> PostgresStore::pruneAnchors(const std::string& replica_id) {
  if (auto st = open(); !st.ok()) return st.error();
  std::vector<PruneAnchor> out;
  if (!has_prunes_) return out;
  const char* p[] = {replica_id.c_str()};
  std::string sql = std::string("SELECT ") + schema::kPruneColumns +
                    " FROM audit_prunes WHERE replica_id=$1 ORDER BY through_seq";
  PgRes r(PQexecParams(conn_, sql.c_str(), 1, nullptr, p, nullptr, nullptr, 0));
  if (PQresultStatus(r.r) != PGRES_TUPLES_OK) return pgError("prune anchors");
  for (int i = 0; i < PQntuples(r.r); ++i) {
    PruneAnchor a;
    a.replica_id = PQgetvalue(r.r, i, 0);
    a.through_seq = toI64(PQgetvalue(r.r, i, 1));
    a.hash = PQgetvalue(r.r, i, 2);
    a.ts_us = toI64(PQgetvalue(r.r, i, 3));
    a.cutoff_us = toI64(PQgetvalue(r.r, i, 4));
    a.mac = PQgetvalue(r.r, i, 5);
    out.push_back(std::move(a));
  }
  return out;
}

Status PostgresStore::prune(const PruneAnchor& anchor) {
  if (read_only_) return Error::internal(name() + ": opened read-only", "audit_store_failed");
  if (auto st = open(); !st.ok()) return st;
  auto fail = [&](const std::string& what) -> Status {
    Error e = pgError(what);
    if (PQstatus(conn_) != CONNECTION_OK) {
      close();
    } else {
      PgRes rb(PQexec(conn_, "ROLLBACK"));
    }
    return e;
  };
  {
    PgRes r(PQexec(conn_, "BEGIN"));
    if (PQresultStatus(r.r) != PGRES_COMMAND_OK) return fail("begin");
  }
  {
    const std::string through = std::to_string(anchor.through_seq);
    const std::string ts = std::to_string(anchor.ts_us);
    const std::string cutoff = std::to_string(anchor.cutoff_us);
    const char* p[] = {anchor.replica_id.c_str(), through.c_str(), anchor.hash.c_str(),
                       ts.c_str(), cutoff.c_str(), anchor.mac.c_str()};
    std::string sql = std::string("INSERT INTO audit_prunes (") + schema::kPruneColumns +
                      ") VALUES ($1,$2,$3,$4,$5,$6)";
    PgRes r(PQexecParams(conn_, sql.c_str(), 6, nullptr, p, nullptr, nullptr, 0));
    if (PQresultStatus(r.r) != PGRES_COMMAND_OK) return fail("insert prune anchor");
    const char* d[] = {anchor.replica_id.c_str(), through.c_str()};
    PgRes del(PQexecParams(conn_,
                           "DELETE FROM audit_segments WHERE replica_id=$1 AND last_seq<=$2", 2,
                           nullptr, d, nullptr, nullptr, 0));
    if (PQresultStatus(del.r) != PGRES_COMMAND_OK) return fail("delete segments");
  }
  PgRes r(PQexec(conn_, "COMMIT"));
  if (PQresultStatus(r.r) != PGRES_COMMAND_OK) return fail("commit");
  return {};
}

}  // namespace regiongate::audit
