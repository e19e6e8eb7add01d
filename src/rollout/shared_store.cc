#include "rollout/shared_store.h"

#include <fmt/format.h>

#include <cstdlib>
#include <optional>

#include "rollout/state_store.h"

namespace regiongate::rollout {

namespace {

constexpr const char* kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS regiongate_rollouts (
  region text NOT NULL,
  model text NOT NULL,
  rollout_id bigint NOT NULL,
  record text NOT NULL,
  win bigint NOT NULL DEFAULT 0,
  step_started_at timestamptz NOT NULL DEFAULT now(),
  lease_holder text NOT NULL DEFAULT '',
  lease_expires timestamptz NOT NULL DEFAULT 'epoch',
  rev bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (region, model));
CREATE SEQUENCE IF NOT EXISTS regiongate_rollout_ids;
CREATE TABLE IF NOT EXISTS regiongate_rollout_reports (
  replica_id text NOT NULL,
  rollout_id bigint NOT NULL,
  win bigint NOT NULL,
  version text NOT NULL,
  requests bigint NOT NULL,
  errors bigint NOT NULL,
  ttft_ms double precision[] NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (replica_id, rollout_id, win, version));
CREATE TABLE IF NOT EXISTS regiongate_replicas (
  replica_id text PRIMARY KEY,
  last_seen timestamptz NOT NULL,
  report text NOT NULL);
)SQL";

constexpr const char* kSelectColumns =
    "SELECT record, win, (extract(epoch FROM now() - step_started_at) * 1000)::bigint, "
    "lease_holder, (extract(epoch FROM lease_expires - now()) * 1000)::bigint, rev "
    "FROM regiongate_rollouts";

// TTFT samples kept per report row: the rank test needs a sample, not every value.
constexpr size_t kReportSamples = 2048;

Result<StoredRollout> rowToRollout(const pg::Res& res, int row) {
  auto recs = recordsFromJson("{\"version\":1,\"rollouts\":[" + res.text(row, 0) + "]}");
  if (!recs) return recs.error();
  if (recs->size() != 1) return Error::config("rollout store: a row without one record", "invalid_state");
  StoredRollout s;
  s.record = std::move(recs->front());
  s.window = res.i64(row, 1);
  s.step_elapsed_ms = res.i64(row, 2);
  s.lease_holder = res.text(row, 3);
  s.lease_left_ms = res.i64(row, 4);
  s.revision = res.i64(row, 5);
  return s;
}

// The state file's encoding of one record, without its envelope.
std::string recordText(const RolloutRecord& r) {
  std::string all = recordsToJson({r});
  auto b = all.find('[');
  return all.substr(b + 1, all.size() - b - 3);
}

}  // namespace

std::string ttftArrayLiteral(const std::vector<double>& v, size_t cap) {
  std::string out = "{";
  size_t from = v.size() > cap ? v.size() - cap : 0;
  for (size_t i = from; i < v.size(); ++i) out += (i > from ? "," : "") + fmt::format("{:.3f}", v[i]);
  return out + "}";
}

std::vector<double> parseTtftArray(std::string_view text) {
  std::vector<double> out;
  if (text.size() < 2 || text.front() != '{' || text.back() != '}') return out;
  std::string body(text.substr(1, text.size() - 2));
  const char* p = body.c_str();
  while (*p) {
    char* end = nullptr;
    double d = std::strtod(p, &end);
    if (end == p) break;
    out.push_back(d);
    p = end;
    if (*p == ',') ++p;
  }
  return out;
}

SharedStore::SharedStore(std::string dsn, uint32_t timeout_ms)
    : timeout_ms_(timeout_ms), conn_(std::move(dsn), "rollout_store_failed") {}

SharedStore::~SharedStore() = default;

Status SharedStore::open() {
  if (conn_.healthy()) return {};
  pg::ConnectOptions opt;
  opt.connect_timeout_s = std::max<uint32_t>(1, (timeout_ms_ + 999) / 1000);
  opt.tcp_user_timeout_ms = timeout_ms_;
  opt.statement_timeout_ms = timeout_ms_;
  if (Status st = conn_.open(opt); !st) return st;
  // Replicas starting together would race on CREATE ... IF NOT EXISTS: one at a time.
  const std::string schema = "BEGIN; SELECT pg_advisory_xact_lock(hashtext('regiongate_rollouts'));" +
                             std::string(kSchema) + "COMMIT;";
  if (Status st = conn_.run(schema.c_str(), "query failed"); !st) {
    conn_.close();
    return st;
  }
  return {};
}

Result<std::vector<StoredRollout>> SharedStore::loadAll() {
  pg::Res r(conn_.exec((std::string(kSelectColumns) + " ORDER BY region, model").c_str()));
  if (!r.ok()) return conn_.error("read rollouts");
  std::vector<StoredRollout> out;
  for (int i = 0; i < r.rows(); ++i) {
    auto s = rowToRollout(r, i);
    if (!s) return s.error();
    out.push_back(std::move(s.value()));
  }
  return out;
}

Result<bool> SharedStore::acquireLease(const std::string& region, const std::string& model,
                                       const std::string& replica_id, uint32_t lease_ms) {
  pg::Params p{region, model, replica_id, std::to_string(lease_ms)};
  pg::Res r(conn_.exec("UPDATE regiongate_rollouts SET lease_holder = $3, lease_expires = now() + "
                       "$4::bigint * interval '1 millisecond' WHERE region = $1 AND model = $2 AND "
                       "(lease_holder = $3 OR lease_expires < now()) RETURNING 1", p));
  if (!r.ok()) return conn_.error("lease");
  return r.rows() == 1;
}

Result<bool> SharedStore::writeAsHolder(const RolloutRecord& rec, bool new_window,
                                        const std::string& replica_id, int64_t revision) {
  pg::Params p{rec.region, rec.model, recordText(rec), new_window ? "1" : "0", replica_id,
           std::to_string(revision)};
  pg::Res r(conn_.exec("UPDATE regiongate_rollouts SET record = $3, win = win + $4::bigint, step_started_at = "
      "CASE WHEN $4::bigint = 1 THEN now() ELSE step_started_at END, rev = rev + 1, updated_at = "
      "now() WHERE region = $1 AND model = $2 AND lease_holder = $5 AND lease_expires > now() AND "
      "rev = $6::bigint RETURNING 1", p));
  if (!r.ok()) return conn_.error("write rollout");
  return r.rows() == 1;
}

Result<StoredRollout> SharedStore::selectOne(const std::string& region, const std::string& model,
                                             bool& found) {
  pg::Params p{region, model};
  pg::Res r(conn_.exec((std::string(kSelectColumns) + " WHERE region = $1 AND model = $2").c_str(), p));
  if (!r.ok()) return conn_.error("read rollout");
  found = r.rows() == 1;
  if (!found) return StoredRollout{};
  return rowToRollout(r, 0);
}

Result<StoredRollout> SharedStore::change(const std::string& region, const std::string& model,
                                          const Change& change) {
  if (Status st = conn_.run("BEGIN", "begin"); !st) return st.error();
  auto fail = [&](Error e) -> Result<StoredRollout> {
    (void)conn_.run("ROLLBACK", "rollback");
    return e;
  };
  pg::Params lock{region + "|" + model};
  pg::Res l(conn_.exec("SELECT pg_advisory_xact_lock(hashtext($1))", lock));
  if (!l.ok()) return fail(conn_.error("lock rollout"));
  bool found = false;
  auto cur = selectOne(region, model, found);
  if (!cur) return fail(cur.error());
  bool new_window = false;
  auto rec = change(found ? &cur.value() : nullptr, new_window);
  if (!rec) return fail(rec.error());
  if (rec->id == 0) {
    pg::Res id(conn_.exec("SELECT nextval('regiongate_rollout_ids')"));
    if (!id.ok() || id.rows() != 1) return fail(conn_.error("next rollout id"));
    rec->id = static_cast<uint64_t>(id.i64(0, 0));
  }
  pg::Params p{region, model, std::to_string(rec->id), recordText(rec.value()), new_window ? "1" : "0"};
  pg::Res w(conn_.exec("INSERT INTO regiongate_rollouts (region, model, rollout_id, record) VALUES ($1, $2, "
      "$3::bigint, $4) ON CONFLICT (region, model) DO UPDATE SET rollout_id = EXCLUDED.rollout_id, "
      "record = EXCLUDED.record, win = regiongate_rollouts.win + $5::bigint, step_started_at = "
      "CASE WHEN $5::bigint = 1 THEN now() ELSE regiongate_rollouts.step_started_at END, "
      "rev = regiongate_rollouts.rev + 1, updated_at = now()", p));
  if (!w.ok()) return fail(conn_.error("write rollout"));
  auto after = selectOne(region, model, found);
  if (!after) return fail(after.error());
  if (Status st = conn_.run("COMMIT", "commit"); !st) return st.error();
  return after;
}

Status SharedStore::report(const std::string& replica_id, uint64_t rollout_id, int64_t window,
                           const std::string& version, const VersionObservations& obs) {
  pg::Params p{replica_id, std::to_string(rollout_id), std::to_string(window), version,
           std::to_string(obs.requests), std::to_string(obs.errors),
           ttftArrayLiteral(obs.ttft_ms, kReportSamples)};
  pg::Res r(conn_.exec("INSERT INTO regiongate_rollout_reports (replica_id, rollout_id, win, version, requests, "
      "errors, ttft_ms) VALUES ($1, $2::bigint, $3::bigint, $4, $5::bigint, $6::bigint, "
      "$7::double precision[]) ON CONFLICT (replica_id, rollout_id, win, version) DO UPDATE SET "
      "requests = EXCLUDED.requests, errors = EXCLUDED.errors, ttft_ms = EXCLUDED.ttft_ms, "
      "updated_at = now()", p));
  if (!r.ok()) return conn_.error("write report");
  return {};
}

Result<PooledWindow> SharedStore::pooled(uint64_t rollout_id, int64_t window,
                                         const std::string& green_version,
                                         const std::string& blue_version) {
  pg::Params p{std::to_string(rollout_id), std::to_string(window)};
  pg::Res r(conn_.exec("SELECT replica_id, version, requests, errors, ttft_ms::text FROM "
                       "regiongate_rollout_reports WHERE rollout_id = $1::bigint AND win = "
                       "$2::bigint ORDER BY replica_id", p));
  if (!r.ok()) return conn_.error("read reports");
  PooledWindow out;
  std::string last_replica;
  for (int i = 0; i < r.rows(); ++i) {
    std::string version = r.text(i, 1);
    VersionObservations* o = version == green_version  ? &out.green
                             : version == blue_version ? &out.blue
                                                       : nullptr;
    if (!o) continue;
    if (r.text(i, 0) != last_replica) {
      last_replica = r.text(i, 0);
      ++out.replicas;
    }
    o->requests += static_cast<uint64_t>(std::max<int64_t>(0, r.i64(i, 2)));
    o->errors += static_cast<uint64_t>(std::max<int64_t>(0, r.i64(i, 3)));
    auto ttft = parseTtftArray(r.text(i, 4));
    o->ttft_ms.insert(o->ttft_ms.end(), ttft.begin(), ttft.end());
  }
  return out;
}

Status SharedStore::heartbeat(const std::string& replica_id, const std::string& report_json) {
  pg::Params p{replica_id, report_json};
  pg::Res r(conn_.exec("INSERT INTO regiongate_replicas (replica_id, last_seen, report) VALUES "
                       "($1, now(), $2) ON CONFLICT (replica_id) DO UPDATE SET last_seen = now(), "
                       "report = EXCLUDED.report", p));
  if (!r.ok()) return conn_.error("heartbeat");
  return {};
}

Result<std::vector<ReplicaReport>> SharedStore::replicas() {
  pg::Res r(conn_.exec(
                 "SELECT replica_id, (extract(epoch FROM now() - last_seen) * 1000)::bigint, "
                 "report FROM regiongate_replicas ORDER BY replica_id"));
  if (!r.ok()) return conn_.error("read replicas");
  std::vector<ReplicaReport> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back({r.text(i, 0), r.i64(i, 1), r.text(i, 2)});
  return out;
}

}  // namespace regiongate::rollout
