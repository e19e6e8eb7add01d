#include "audit/postgres_store.h"

#include <libpq-fe.h>

#include <cstdlib>
#include <regex>

#include "audit/rows.h"
#include "audit/schema.h"
#include "audit/segment.h"

namespace regiongate::audit {
namespace {

Record rowToRecord(const pg::Res& res, int row) {
  auto txt = [&](int c) { return res.text(row, c); };
  auto opt = [&](int c) -> std::optional<std::string> {
    if (res.isNull(row, c)) return std::nullopt;
    return txt(c);
  };
  Record r;
  int i = 0;
  r.replica_id = txt(i++);
  r.seq = res.i64(row, i++);
  r.ts_us = res.i64(row, i++);
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
  r.status = static_cast<int>(res.i64(row, i++));
  r.ttft_ms = res.f64(row, i++);
  r.duration_ms = res.f64(row, i++);
  r.prompt_tokens = res.i64(row, i++);
  r.cached_tokens = res.i64(row, i++);
  r.completion_tokens = res.i64(row, i++);
  r.violation = txt(i++);
  r.error_type = txt(i++);
  r.prompt_text = opt(i++);
  r.completion_text = opt(i++);
  r.prev_hash = txt(i++);
  r.hash = txt(i++);
  return r;
}

// Segment rows per INSERT statement: 8 parameters each; bounds one statement's size (a segment
// of kMaxRecordsPerSegment records with opted-in text can be large).
constexpr size_t kSegmentsPerInsert = 16;
// Legacy rows fetched per round trip when migrating the one-row-per-record table.
constexpr int kLegacyFetchRows = 4096;
// Serialises schema creation and migration between replicas opening the same database.
constexpr const char* kSchemaLock = "SELECT pg_advisory_xact_lock(7275746974)";

// One row of a result, for rows.h.
struct PgRow {
  const pg::Res& res;
  int row;
  std::string text(int col) const { return res.text(row, col); }
  int64_t i64(int col) const { return res.i64(row, col); }
};

// A WHERE clause and its parameters, built one condition at a time.
struct Filter {
  pg::Params params;
  std::vector<std::string> where;
  // cond ends in "$": the parameter's number is appended.
  void bind(const char* cond, std::string value) {
    params.add(std::move(value));
    where.push_back(cond + std::to_string(params.v.size()));
  }
  std::string clause() const {
    std::string out;
    for (size_t i = 0; i < where.size(); ++i) out += (i ? " AND " : " WHERE ") + where[i];
    return out;
  }
};

}  // namespace

PostgresStore::PostgresStore(std::string dsn, int connect_timeout_s, bool read_only)
    : conn_(std::move(dsn), "audit_store_failed"),
      connect_timeout_s_(connect_timeout_s),
      read_only_(read_only) {}

PostgresStore::~PostgresStore() = default;

Status PostgresStore::open() {
  if (conn_.healthy()) return {};
  pg::ConnectOptions opt;
  opt.connect_timeout_s = static_cast<uint32_t>(connect_timeout_s_);
  if (Status st = conn_.open(opt); !st) return st;
  if (read_only_) {
    if (Status st = detectLayout(); !st.ok()) {
      conn_.close();
      return st;
    }
    return {};
  }
  legacy_ = false;
  if (Status st = createSchema(); !st.ok()) {
    if (conn_.healthy()) pg::Res rb(conn_.exec("ROLLBACK"));
    conn_.close();
    return st;
  }
  return {};
}

// Read-only: the server refuses any write on this session, and the layout is read as found.
Status PostgresStore::detectLayout() {
  {
    pg::Res r(conn_.exec("SET default_transaction_read_only = on"));
    if (!r.ok()) return conn_.error("set read only");
  }
  pg::Res r(conn_.exec("SELECT (SELECT c.relkind FROM pg_class c WHERE c.relname='audit_records' AND "
                 "pg_table_is_visible(c.oid)), to_regclass('audit_segments') IS NOT NULL, "
                 "to_regclass('audit_checkpoints') IS NOT NULL, "
                 "to_regclass('audit_prunes') IS NOT NULL"));
  if (!r.tuplesOk() || r.rows() != 1)
    return conn_.error("read schema");
  legacy_ = std::string_view(r.value(0, 0)) == "r";
  const bool segments = std::string_view(r.value(0, 1)) == "t";
  const bool checkpoints = std::string_view(r.value(0, 2)) == "t";
  has_prunes_ = std::string_view(r.value(0, 3)) == "t";
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
    pg::Res r(conn_.exec(sql));
    if (!r.ok()) return conn_.error("create schema");
  }
  pg::Res kind(conn_.exec("SELECT c.relkind FROM pg_class c WHERE c.relname='audit_records' "
                           "AND pg_table_is_visible(c.oid)"));
  if (!kind.tuplesOk()) return conn_.error("create schema");
  const std::string relkind = kind.rows() > 0 ? kind.value(0, 0) : "";
  if (relkind == "r") {
    if (Status st = migrateLegacyTable(); !st.ok()) return st;
  }
  // An existing view is left alone: replacing it would wait for every open reader of it.
  if (relkind != "v") {
    pg::Res r(conn_.exec(schema::kCreateRecordsViewPostgres));
    if (!r.ok()) return conn_.error("create audit_records view");
  }
  pg::Res r(conn_.exec("COMMIT"));
  if (!r.ok()) return conn_.error("create schema: commit");
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
    pg::Res r(conn_.exec(declare.c_str()));
    if (!r.ok()) return conn_.error("migrate audit_records: read");
  }
  const std::string fetch = "FETCH FORWARD " + std::to_string(kLegacyFetchRows) + " FROM rg_legacy";
  // One replica's records, flushed in whole segments (and at the end of each replica).
  std::vector<Record> pending;
  const size_t flush_at = kMaxRecordsPerSegment * kSegmentsPerInsert;
  for (;;) {
    pg::Res rows(conn_.exec(fetch.c_str()));
    if (!rows.tuplesOk()) return conn_.error("migrate audit_records: read");
    const int n = rows.rows();
    if (n == 0) break;
    for (int i = 0; i < n; ++i) {
      Record rec = rowToRecord(rows, i);
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
    pg::Res r(conn_.exec(sql));
    if (!r.ok()) return conn_.error(std::string("migrate audit_records: ") + sql);
  }
  return {};
}

// Inserts `recs` (one replica, seq ascending) as ceil(n / kMaxRecordsPerSegment) segment rows.
// Runs inside the caller's transaction.
Status PostgresStore::insertSegments(const std::vector<Record>& recs) {
  for (size_t start = 0; start < recs.size();) {
    std::string sql = std::string("INSERT INTO audit_segments (") + schema::kSegmentColumns +
                      ") VALUES ";
    pg::Params params;
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
    pg::Res r(conn_.exec(sql.c_str(), params));
    if (!r.commandOk())
      return conn_.error("insert segment at seq " + std::to_string(first_seq));
  }
  return {};
}

Result<ChainHead> PostgresStore::chainHead(const std::string& replica_id) {
  if (auto st = open(); !st.ok()) return st.error();
  const pg::Params p{replica_id};
  if (legacy_) {
    pg::Res r(conn_.exec("SELECT seq, hash, jurisdiction, ts_us FROM audit_records WHERE "
                         "replica_id=$1 ORDER BY seq DESC LIMIT 1",
                         p));
    if (!r.tuplesOk()) return conn_.error("chain head");
    ChainHead head;
    if (r.rows() == 1) {
      head.seq = r.i64(0, 0);
      head.hash = r.value(0, 1);
      head.jurisdiction = r.value(0, 2);
      head.ts_us = r.i64(0, 3);
    }
    return head;
  }
  pg::Res r(conn_.exec("SELECT first_seq, last_seq, records FROM audit_segments WHERE "
                       "replica_id=$1 ORDER BY first_seq DESC LIMIT 1",
                       p));
  if (!r.tuplesOk()) {
    Error e = conn_.error("chain head");
    if (!conn_.healthy()) conn_.close();
    return e;
  }
  ChainHead head;
  if (r.rows() == 1) {
    // The hash comes from the decoded records: an unreadable segment decodes to a marker record
    // whose hash is not a chain hash, so the writer's next prev_hash cannot silently match it.
    std::vector<Record> recs =
        decodeSegment(replica_id, r.i64(0, 0), r.view(0, 2));
    head.seq = r.i64(0, 1);
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
  auto fail = [&](const std::string& what) -> Status { return conn_.abandon(conn_.error(what)); };
  {
    pg::Res r(conn_.exec("BEGIN"));
    if (!r.commandOk()) return fail("begin");
  }
  // The batch is one replica's records in seq order: ceil(n / kMaxRecordsPerSegment) rows.
  if (!batch.empty()) {
    if (Status st = insertSegments(batch); !st.ok()) return conn_.abandon(st.error());
  }
  if (checkpoint) {
    const pg::Params p{checkpoint->replica_id, std::to_string(checkpoint->seq), checkpoint->hash,
                       std::to_string(checkpoint->ts_us), checkpoint->mac};
    std::string sql = std::string("INSERT INTO audit_checkpoints (") + schema::kCheckpointColumns +
                      ") VALUES ($1,$2,$3,$4,$5) ON CONFLICT (replica_id, seq) DO UPDATE SET "
                      "hash=EXCLUDED.hash, ts_us=EXCLUDED.ts_us, mac=EXCLUDED.mac";
    pg::Res r(conn_.exec(sql.c_str(), p));
    if (!r.commandOk()) return fail("insert checkpoint");
  }
  pg::Res r(conn_.exec("COMMIT"));
  if (!r.commandOk()) return fail("commit");
  return {};
}

Result<std::vector<std::string>> PostgresStore::replicas() {
  if (auto st = open(); !st.ok()) return st.error();
  pg::Res r(conn_.exec(legacy_ ? "SELECT replica_id FROM audit_records UNION "
                                  "SELECT replica_id FROM audit_checkpoints ORDER BY 1"
                        : has_prunes_ ? "SELECT replica_id FROM audit_segments UNION "
                                        "SELECT replica_id FROM audit_checkpoints UNION "
                                        "SELECT replica_id FROM audit_prunes ORDER BY 1"
                                      : "SELECT replica_id FROM audit_segments UNION "
                                        "SELECT replica_id FROM audit_checkpoints ORDER BY 1"));
  if (!r.tuplesOk()) return conn_.error("list replicas");
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.value(i, 0));
  return out;
}

Status PostgresStore::scan(const ScanQuery& q, const std::function<bool(const Record&)>& fn) {
  if (auto st = open(); !st.ok()) return st;
  if (legacy_) return scanLegacy(q, fn);
  // Segment-level filters only (segment.h); SegmentScanner applies the per-record ones, the
  // order within segments and the limit.
  std::string sql = "SELECT replica_id, first_seq, min_ts_us, records FROM audit_segments";
  Filter f;
  if (q.replica_id) f.bind("replica_id = $", *q.replica_id);
  if (q.since_us) f.bind("max_ts_us >= $", std::to_string(*q.since_us));
  if (q.until_us) f.bind("min_ts_us < $", std::to_string(*q.until_us));
  if (q.violations_only) f.where.push_back("violations > 0");
  sql += f.clause();
  const pg::Params& params = f.params;
  sql += q.chain_order ? " ORDER BY replica_id, first_seq"
                       : " ORDER BY min_ts_us, replica_id, first_seq";
  SegmentScanner scanner(q, fn);
  bool want = true;
  Status st = conn_.stream(sql, params, [&](const pg::Res& r) {
    want = scanner.add(r.view(0, 0), r.i64(0, 1), r.i64(0, 2), r.view(0, 3));
    return want;
  }, "scan");
  if (!st) return st;
  if (want) scanner.finish();
  return {};
}

// The older layout, read as it is (read-only stores only): the scan of that layout, unchanged.
Status PostgresStore::scanLegacy(const ScanQuery& q,
                                 const std::function<bool(const Record&)>& fn) {
  std::string sql = std::string("SELECT ") + schema::kRecordColumns + " FROM audit_records";
  Filter f;
  if (q.replica_id) f.bind("replica_id = $", *q.replica_id);
  if (q.since_us) f.bind("ts_us >= $", std::to_string(*q.since_us));
  if (q.tenant) f.bind("tenant = $", *q.tenant);
  if (q.until_us) f.bind("ts_us < $", std::to_string(*q.until_us));
  if (q.request_id) f.bind("request_id = $", *q.request_id);
  if (q.violations_only) f.where.push_back("violation <> ''");
  sql += f.clause();
  const pg::Params& params = f.params;
  sql += q.chain_order ? " ORDER BY replica_id, seq" : " ORDER BY ts_us, replica_id, seq";
  if (q.limit >= 0) sql += " LIMIT " + std::to_string(q.limit);
  return conn_.stream(sql, params, [&](const pg::Res& r) { return fn(rowToRecord(r, 0)); },
                      "scan");
}

Result<std::vector<Checkpoint>> PostgresStore::checkpoints(const std::string& replica_id) {
  if (auto st = open(); !st.ok()) return st.error();
  std::string sql = std::string("SELECT ") + schema::kCheckpointColumns +
                    " FROM audit_checkpoints WHERE replica_id=$1 ORDER BY seq";
  pg::Res r(conn_.exec(sql.c_str(), pg::Params{replica_id}));
  if (!r.tuplesOk()) return conn_.error("checkpoints");
  std::vector<Checkpoint> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(checkpointFromRow(PgRow{r, i}));
  return out;
}

Result<std::vector<SegmentInfo>> PostgresStore::segmentIndex(const std::string& replica_id) {
  if (auto st = open(); !st.ok()) return st.error();
  if (legacy_)
    return Error::internal(name() + ": database in the layout before segments (opened read-only)",
                           "audit_prune");
  pg::Res r(conn_.exec("SELECT first_seq, last_seq, min_ts_us, max_ts_us, record_count FROM "
                       "audit_segments WHERE replica_id=$1 ORDER BY first_seq",
                       pg::Params{replica_id}));
  if (!r.tuplesOk()) return conn_.error("segment index");
  std::vector<SegmentInfo> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(segmentInfoFromRow(PgRow{r, i}));
  return out;
}

Result<std::vector<PruneAnchor>> PostgresStore::pruneAnchors(const std::string& replica_id) {
  if (auto st = open(); !st.ok()) return st.error();
  std::vector<PruneAnchor> out;
  if (!has_prunes_) return out;
  std::string sql = std::string("SELECT ") + schema::kPruneColumns +
                    " FROM audit_prunes WHERE replica_id=$1 ORDER BY through_seq";
  pg::Res r(conn_.exec(sql.c_str(), pg::Params{replica_id}));
  if (!r.tuplesOk()) return conn_.error("prune anchors");
  for (int i = 0; i < r.rows(); ++i) out.push_back(pruneAnchorFromRow(PgRow{r, i}));
  return out;
}

Status PostgresStore::prune(const PruneAnchor& anchor) {
  if (read_only_) return Error::internal(name() + ": opened read-only", "audit_store_failed");
  if (auto st = open(); !st.ok()) return st;
  auto fail = [&](const std::string& what) -> Status { return conn_.abandon(conn_.error(what)); };
  {
    pg::Res r(conn_.exec("BEGIN"));
    if (!r.commandOk()) return fail("begin");
  }
  {
    const std::string through = std::to_string(anchor.through_seq);
    const pg::Params p{anchor.replica_id, through, anchor.hash, std::to_string(anchor.ts_us),
                       std::to_string(anchor.cutoff_us), anchor.mac};
    std::string sql = std::string("INSERT INTO audit_prunes (") + schema::kPruneColumns +
                      ") VALUES ($1,$2,$3,$4,$5,$6)";
    pg::Res r(conn_.exec(sql.c_str(), p));
    if (!r.commandOk()) return fail("insert prune anchor");
    pg::Res del(conn_.exec("DELETE FROM audit_segments WHERE replica_id=$1 AND last_seq<=$2",
                           pg::Params{anchor.replica_id, through}));
    if (!del.commandOk()) return fail("delete segments");
  }
  pg::Res r(conn_.exec("COMMIT"));
  if (!r.commandOk()) return fail("commit");
  return {};
}

}  // namespace regiongate::audit
