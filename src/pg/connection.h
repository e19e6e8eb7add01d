#pragma once
// libpq, owned: the connection, its results and text parameters, shared by the audit's
// PostgreSQL store, the shared rollout store and the routing share. Control-plane threads only:
// every call here blocks on the network.
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

struct pg_conn;
struct pg_result;

namespace regiongate::pg {

// One PGresult, cleared on destruction.
class Res {
public:
  explicit Res(pg_result* r) : r_(r) {}
  ~Res();
  Res(const Res&) = delete;
  Res& operator=(const Res&) = delete;

  pg_result* get() const { return r_; }
  bool ok() const;          // a command or a query that succeeded
  bool commandOk() const;   // PGRES_COMMAND_OK only
  bool tuplesOk() const;    // PGRES_TUPLES_OK only
  int rows() const;
  bool isNull(int row, int col) const;
  const char* value(int row, int col) const;  // NUL-terminated text of a cell
  std::string text(int row, int col) const;   // the cell's bytes, NULs included
  std::string_view view(int row, int col) const;
  int64_t i64(int row, int col) const;
  double f64(int row, int col) const;

private:
  pg_result* r_;
};

// Text parameters for PQexecParams; nullopt = SQL NULL.
struct Params {
  std::vector<std::optional<std::string>> v;
  Params() = default;
  Params(std::initializer_list<std::string> l) : v(l.begin(), l.end()) {}
  void add(std::string s) { v.emplace_back(std::move(s)); }
  void addNull() { v.emplace_back(std::nullopt); }
  std::vector<const char*> ptrs() const;
};

struct ConnectOptions {
  uint32_t connect_timeout_s = 5;
  uint32_t tcp_user_timeout_ms = 0;   // 0 = the system's
  uint32_t statement_timeout_ms = 0;  // 0 = the server's
};

// The DSN as it may be shown: any password (key=value or URL form) masked.
std::string maskedDsn(std::string_view dsn);

class Connection {
public:
  // error_code: the typed code of every Error this connection reports (e.g. audit_store_failed).
  Connection(std::string dsn, std::string error_code);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connects unless connected; server notices are dropped (IF NOT EXISTS chatter).
  Status open(const ConnectOptions& opt);
  void close();
  bool connected() const { return conn_ != nullptr; }
  bool healthy() const;  // connected and the connection is not broken
  pg_conn* get() const { return conn_; }
  const std::string& dsn() const { return dsn_; }
  std::string name() const { return maskedDsn(dsn_); }

  // "<masked dsn>: <what>: <libpq's message>", retryable, with this connection's code.
  Error error(const std::string& what) const;

  Res exec(const char* sql) const;
  Res exec(const char* sql, const Params& params) const;
  // Sends a query and hands its rows one at a time to `row` (single-row mode: a result of any
  // size streams in bounded memory). When `row` returns false the server is asked to stop
  // sending; the rest is read and dropped so the connection is ready for the next command. A
  // broken connection is closed (the next open() reconnects).
  Status stream(const std::string& sql, const Params& params,
                const std::function<bool(const Res& row)>& row, const std::string& what);
  // Ends a failed transaction: ROLLBACK on a live connection, close on a broken one (the next
  // open() reconnects). Returns `why`, so a failure path reads `return conn.abandon(err);`.
  Error abandon(Error why);
  // exec that reports failure as error(what).
  Status run(const char* sql, const std::string& what) const;

private:
  std::string dsn_;
  std::string error_code_;
  pg_conn* conn_ = nullptr;
};

}  // namespace regiongate::pg
