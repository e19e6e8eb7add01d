#include "audit/postgres_store.h"

#include <libpq-fe.h>

#include <cstdio>
#include <cstdlib>
#include <regex>

#include "audit/schema.h"

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

// Doubles go over the wire as text with 17 significant digits: exact round trip (PostgreSQL 12+
// prints float8 as the shortest exact text too).
std::string exactDouble(double d) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", d);
  return buf;
}

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

constexpr size_t kRowsPerInsert = 1000;  // 26 000 parameters, under libpq's 65 535

}  // namespace

PostgresStore::PostgresStore(std::string dsn, int connect_timeout_s)
    : dsn_(std::move(dsn)), connect_timeout_s_(connect_timeout_s) {}

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
  // Replicas may create the schema at the same moment: serialise on an advisory lock.
  std::string ddl = std::string("BEGIN; SELECT pg_advisory_xact_lock(7275746974); ") +
                    schema::kCreateRecords + "; " + schema::kCreateRecordsTsIndex + "; " +
                    schema::kCreateCheckpoints + "; COMMIT";
  PgRes r(PQexec(conn_, ddl.c_str()));
  if (PQresultStatus(r.r) != PGRES_COMMAND_OK) {
    Error e = pgError("create schema");
    close();
    return e;
  }
  return {};
}

Result<ChainHead> PostgresStore::chainHead(const std::string& replica_id) {
  if (auto st = open(); !st.ok()) return st.error();
  const char* p[] = {replica_id.c_str()};
  PgRes r(PQexecParams(
      conn_, "SELECT seq, hash FROM audit_records WHERE replica_id=$1 ORDER BY seq DESC LIMIT 1",
      1, nullptr, p, nullptr, nullptr, 0));
  if (PQresultStatus(r.r) != PGRES_TUPLES_OK) {
    Error e = pgError("chain head");
    if (PQstatus(conn_) != CONNECTION_OK) close();
    return e;
  }
  ChainHead head;
  if (PQntuples(r.r) == 1) {
    head.seq = toI64(PQgetvalue(r.r, 0, 0));
    head.hash = PQgetvalue(r.r, 0, 1);
  }
  return head;
}

Status PostgresStore::append(const std::vector<Record>& batch, const Checkpoint* checkpoint) {
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
  for (size_t start = 0; start < batch.size(); start += kRowsPerInsert) {
    size_t end = std::min(batch.size(), start + kRowsPerInsert);
    std::string sql = std::string("INSERT INTO audit_records (") + schema::kRecordColumns +
                      ") VALUES ";
    Params params;
    params.v.reserve((end - start) * schema::kRecordColumnCount);
    int n = 0;
    for (size_t k = start; k < end; ++k) {
      const Record& r = batch[k];
      sql += k == start ? "(" : ",(";
      for (int c = 0; c < schema::kRecordColumnCount; ++c) {
        sql += (c ? ",$" : "$") + std::to_string(++n);
      }
      sql += ')';
      params.add(r.replica_id);
      params.add(std::to_string(r.seq));
      params.add(std::to_string(r.ts_us));
      for (const std::string* s : {&r.request_id, &r.tenant, &r.jurisdiction, &r.model,
                                   &r.model_version, &r.intended_region, &r.actual_region,
                                   &r.evidence, &r.evidence_value, &r.endpoint})
        params.add(*s);
      params.add(attemptsToJson(r.attempts));
      params.add(std::to_string(r.status));
      params.add(exactDouble(r.ttft_ms));
      params.add(exactDouble(r.duration_ms));
      params.add(std::to_string(r.prompt_tokens));
      params.add(std::to_string(r.cached_tokens));
      params.add(std::to_string(r.completion_tokens));
      params.add(r.violation);
      params.add(r.error_type);
      if (r.prompt_text) params.add(*r.prompt_text); else params.addNull();
      if (r.completion_text) params.add(*r.completion_text); else params.addNull();
      params.add(r.prev_hash);
      params.add(r.hash);
    }
    auto ptrs = params.ptrs();
    PgRes r(PQexecParams(conn_, sql.c_str(), static_cast<int>(ptrs.size()), nullptr, ptrs.data(),
                         nullptr, nullptr, 0));
    if (PQresultStatus(r.r) != PGRES_COMMAND_OK)
      return fail("insert seq " + std::to_string(batch[start].seq));
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
  PgRes r(PQexec(conn_, "SELECT replica_id FROM audit_records UNION "
                        "SELECT replica_id FROM audit_checkpoints ORDER BY 1"));
  if (PQresultStatus(r.r) != PGRES_TUPLES_OK) return pgError("list replicas");
  std::vector<std::string> out;
  for (int i = 0; i < PQntuples(r.r); ++i) out.emplace_back(PQgetvalue(r.r, i, 0));
  return out;
}

Status PostgresStore::scan(const ScanQuery& q, const std::function<bool(const Record&)>& fn) {
  if (auto st = open(); !st.ok()) return st;
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

}  // namespace regiongate::audit
