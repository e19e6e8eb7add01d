#include "pg/connection.h"

#include <libpq-fe.h>

#include <cstdlib>
#include <regex>

namespace regiongate::pg {

Res::~Res() { PQclear(r_); }

bool Res::ok() const {
  auto s = PQresultStatus(r_);
  return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}
bool Res::commandOk() const { return PQresultStatus(r_) == PGRES_COMMAND_OK; }
bool Res::tuplesOk() const { return PQresultStatus(r_) == PGRES_TUPLES_OK; }
int Res::rows() const { return PQntuples(r_); }
bool Res::isNull(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
const char* Res::value(int row, int col) const { return PQgetvalue(r_, row, col); }
std::string_view Res::view(int row, int col) const {
  return {PQgetvalue(r_, row, col), static_cast<size_t>(PQgetlength(r_, row, col))};
}
std::string Res::text(int row, int col) const { return std::string(view(row, col)); }
int64_t Res::i64(int row, int col) const { return std::strtoll(value(row, col), nullptr, 10); }
double Res::f64(int row, int col) const { return std::strtod(value(row, col), nullptr); }

std::vector<const char*> Params::ptrs() const {
  std::vector<const char*> p;
  p.reserve(v.size());
  for (const auto& s : v) p.push_back(s ? s->c_str() : nullptr);
  return p;
}

std::string maskedDsn(std::string_view dsn) {
  static const std::regex kv_pw(R"(password\s*=\s*\S+)");
  static const std::regex url_pw(R"((://[^:/@]*:)[^@]*@)");
  std::string s = std::regex_replace(std::string(dsn), kv_pw, "password=***");
  return std::regex_replace(s, url_pw, "$1***@");
}

namespace {
void quietNotices(void*, const char*) {}
}  // namespace

Connection::Connection(std::string dsn, std::string error_code)
    : dsn_(std::move(dsn)), error_code_(std::move(error_code)) {}

Connection::~Connection() { close(); }

void Connection::close() {
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
}

bool Connection::healthy() const { return conn_ && PQstatus(conn_) == CONNECTION_OK; }

Status Connection::open(const ConnectOptions& opt) {
  if (healthy()) return {};
  close();
  const std::string connect_s = std::to_string(opt.connect_timeout_s);
  const std::string user_timeout = std::to_string(opt.tcp_user_timeout_ms);
  const std::string options =
      opt.statement_timeout_ms ? "-c statement_timeout=" + std::to_string(opt.statement_timeout_ms) : "";
  // Earlier keywords are overridden by the DSN's own (expand_dbname = 1). tcp_user_timeout bounds
  // a statement whose server vanished without closing the connection.
  std::vector<const char*> keys{"connect_timeout"}, vals{connect_s.c_str()};
  if (opt.tcp_user_timeout_ms) keys.push_back("tcp_user_timeout"), vals.push_back(user_timeout.c_str());
  if (!options.empty()) keys.push_back("options"), vals.push_back(options.c_str());
  keys.push_back("dbname"), vals.push_back(dsn_.c_str());
  keys.push_back(nullptr), vals.push_back(nullptr);
  conn_ = PQconnectdbParams(keys.data(), vals.data(), 1);
  if (!healthy()) {
    Error e = error("connect");
    close();
    return e;
  }
  PQsetNoticeProcessor(conn_, quietNotices, nullptr);
  return {};
}

Error Connection::error(const std::string& what) const {
  std::string msg = name() + ": " + what;
  if (conn_) {
    std::string m = PQerrorMessage(conn_);
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    if (!m.empty()) msg += ": " + m;
  }
  return Error{ErrorSource::Internal, error_code_, std::move(msg), true};
}

Res Connection::exec(const char* sql) const { return Res(PQexec(conn_, sql)); }

Res Connection::exec(const char* sql, const Params& params) const {
  auto ptrs = params.ptrs();
  return Res(PQexecParams(conn_, sql, static_cast<int>(ptrs.size()), nullptr, ptrs.data(), nullptr,
                          nullptr, 0));
}

namespace {
void cancelQuery(pg_conn* conn) {
  if (PGcancel* c = PQgetCancel(conn)) {
    char err[256];
    PQcancel(c, err, sizeof(err));
    PQfreeCancel(c);
  }
}
}  // namespace

Status Connection::stream(const std::string& sql, const Params& params,
                          const std::function<bool(const Res& row)>& row, const std::string& what) {
  auto ptrs = params.ptrs();
  if (!PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(ptrs.size()), nullptr, ptrs.data(),
                         nullptr, nullptr, 0)) {
    Error e = error(what);
    if (!healthy()) close();
    return e;
  }
  PQsetSingleRowMode(conn_);
  bool want = true, cancelled = false;
  Status status;
  // Always read to the end (NULL result): the connection is then ready for the next command.
  while (PGresult* raw = PQgetResult(conn_)) {
    Res res(raw);
    auto rs = PQresultStatus(raw);
    if (rs == PGRES_SINGLE_TUPLE) {
      if (want) want = row(res);
      // Done early: ask the server to stop; if the query already finished this has no effect.
      if (!want && !cancelled) {
        cancelled = true;
        cancelQuery(conn_);
      }
    } else if (rs != PGRES_TUPLES_OK && status.ok() && !cancelled) {
      status = error(what);
    }
  }
  if (!healthy()) close();
  return status;
}

Error Connection::abandon(Error why) {
  if (healthy()) {
    Res rb(PQexec(conn_, "ROLLBACK"));
  } else {
    close();
  }
  return why;
}

Status Connection::run(const char* sql, const std::string& what) const {
  if (!exec(sql).ok()) return error(what);
  return {};
}

}  // namespace regiongate::pg
