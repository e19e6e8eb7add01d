// PostgreSQL sink against a real server started by the test on 127.0.0.1 (pg_fixture.h).
#include <gtest/gtest.h>

#include <cstdio>
#include <thread>

#include "audit/audit_log.h"
#include "audit/postgres_store.h"
#include "audit/schema.h"
#include "audit/segment.h"
#include "audit/verify.h"
#include "pg_fixture.h"
#include "test_util.h"

namespace regiongate::audit {
namespace {

using testing::kLegacyCreateRecords;
using testing::kLegacyCreateTsIndex;
using testing::makeRecord;
using testing::PgServer;
using testing::pollUntil;
using testing::runCmd;

// Records makeRecord(first .. first+n-1) chained as the writer chains them (seq, prev_hash, hash).
std::vector<Record> buildChain(const std::string& replica, int n, int first = 1,
                               std::string prev = std::string(kGenesisHash)) {
  std::vector<Record> out;
  for (int i = first; i < first + n; ++i) {
    Record r = makeRecord(i);
    r.replica_id = replica;
    r.seq = i;
    r.prev_hash = prev;
    r.hash = recordHash(prev, r);
    prev = r.hash;
    out.push_back(std::move(r));
  }
  return out;
}

class PostgresAudit : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    server_ = new PgServer();
    start_error_ = server_->start();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(start_error_, "") << "PostgreSQL could not be started";
    if (!server_->running()) {
      ASSERT_EQ(server_->start(), "");
    }
    // Each test gets its own database, so chains do not mix between tests.
    db_ = std::string("t_") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (auto& c : db_) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    server_->exec("DROP DATABASE IF EXISTS " + db_);
    ASSERT_EQ(server_->exec("CREATE DATABASE " + db_), "");
  }
  std::string dsn() const {
    return "host=127.0.0.1 port=" + std::to_string(server_->port()) +
           " user=postgres dbname=" + db_;
  }
  Config config(const std::string& replica,
                AuditFailureMode policy = AuditFailureMode::Reject) const {
    Config cfg = testing::sqliteConfig("/nonexistent");
    cfg.audit.sink = AuditSink::Postgres;
    cfg.audit.dsn["EU"] = dsn();
    cfg.audit.replica_id = replica;
    cfg.audit.on_audit_failure = policy;
    cfg.audit.batch_max = 64;
    cfg.audit.stop_timeout_ms = 20000;
    return cfg;
  }
  std::vector<ChainReport> verify() {
    PostgresStore store(dsn());
    auto reps = verifyStore(store, "");
    EXPECT_TRUE(reps.ok()) << reps.error().message;
    return reps.ok() ? reps.value() : std::vector<ChainReport>{};
  }
  std::string sqlOnDb(const std::string& sql) {
    PGconn* c = PQconnectdb(dsn().c_str());
    PGresult* r = PQexec(c, sql.c_str());
    std::string err = PQresultStatus(r) == PGRES_COMMAND_OK ? "" : PQerrorMessage(c);
    PQclear(r);
    PQfinish(c);
    return err;
  }

  // First cell of a query's first row, or "<error: ...>".
  std::string queryOnDb(const std::string& sql) {
    PGconn* c = PQconnectdb(dsn().c_str());
    PGresult* r = PQexec(c, sql.c_str());
    std::string out;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      out = std::string("<error: ") + PQerrorMessage(c) + ">";
    } else if (PQntuples(r) > 0) {
      out = PQgetvalue(r, 0, 0);
    }
    PQclear(r);
    PQfinish(c);
    return out;
  }
  // Creates the tables of the layout before segments (one row per record, its ts index, the
  // checkpoints) and writes `recs` the way the old PostgresStore::append did (kRecordColumns,
  // text parameters, doubles with 17 digits). Returns "" or the error.
  std::string writeLegacyTable(const std::vector<Record>& recs) {
    PGconn* c = PQconnectdb(dsn().c_str());
    std::string err;
    auto run = [&](const std::string& sql, const std::vector<std::optional<std::string>>& vals) {
      if (!err.empty()) return;
      std::vector<const char*> p;
      for (const auto& v : vals) p.push_back(v ? v->c_str() : nullptr);
      PGresult* r = PQexecParams(c, sql.c_str(), static_cast<int>(p.size()), nullptr, p.data(),
                                 nullptr, nullptr, 0);
      if (PQresultStatus(r) != PGRES_COMMAND_OK) err = PQerrorMessage(c);
      PQclear(r);
    };
    auto dbl = [](double d) {
      char buf[64];
      std::snprintf(buf, sizeof(buf), "%.17g", d);
      return std::string(buf);
    };
    run("BEGIN", {});
    run(kLegacyCreateRecords, {});
    run(kLegacyCreateTsIndex, {});
    run(schema::kCreateCheckpoints, {});  // unchanged by segments
    std::string insert = std::string("INSERT INTO audit_records (") + schema::kRecordColumns +
                         ") VALUES (";
    for (int i = 1; i <= schema::kRecordColumnCount; ++i)
      insert += (i > 1 ? ",$" : "$") + std::to_string(i);
    insert += ")";
    for (const Record& r : recs) {
      run(insert, {r.replica_id, std::to_string(r.seq), std::to_string(r.ts_us), r.request_id,
                   r.tenant, r.jurisdiction, r.model, r.model_version, r.intended_region,
                   r.actual_region, r.evidence, r.evidence_value, r.endpoint,
                   attemptsToJson(r.attempts), std::to_string(r.status), dbl(r.ttft_ms),
                   dbl(r.duration_ms), std::to_string(r.prompt_tokens),
                   std::to_string(r.cached_tokens), std::to_string(r.completion_tokens),
                   r.violation, r.error_type, r.prompt_text, r.completion_text, r.prev_hash,
                   r.hash});
    }
    run("COMMIT", {});
    PQfinish(c);
    return err;
  }


  static PgServer* server_;
  static std::string start_error_;
  std::string db_;
};
PgServer* PostgresAudit::server_ = nullptr;
std::string PostgresAudit::start_error_;

TEST_F(PostgresAudit, WritesVerifiesAndDetectsTampering) {
  auto log = AuditLog::open(config("replica-a"), SystemClock::instance());
  ASSERT_TRUE(log.ok()) << log.error().message;
  std::atomic<int> durable{0};
  for (int i = 1; i <= 300; ++i)
    ASSERT_TRUE((*log)->submit(makeRecord(i), [&](bool ok) { durable += ok; }));
  ASSERT_TRUE(pollUntil([&] { return durable == 300; }));
  (*log)->stop();
  auto reps = verify();
  ASSERT_EQ(reps.size(), 1u);
  EXPECT_TRUE(reps[0].ok) << formatReport(reps[0]);
  EXPECT_EQ(reps[0].records, 300);
  EXPECT_EQ(reps[0].newest_checkpoint_seq, 300);

  const std::string bin = REGIONGATE_BIN;
  auto ok = runCmd(bin + " audit verify --dsn '" + dsn() + "'");
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  auto q = runCmd(bin + " audit query --dsn '" + dsn() + "' --jurisdiction EU --violations"
                        " --format jsonl");
  EXPECT_EQ(q.exit_code, 0) << q.out;
  EXPECT_EQ(std::count(q.out.begin(), q.out.end(), '\n'), 300 / 7);

  // audit_records is a view now: the edit goes into the JSON of the segment holding seq 150.
  ASSERT_EQ(sqlOnDb("UPDATE audit_segments SET records = jsonb_set(records::jsonb, "
                    "ARRAY[(150 - first_seq)::text, 'actual_region'], '\"us-east-1\"')::text "
                    "WHERE replica_id='replica-a' AND 150 BETWEEN first_seq AND last_seq"),
            "");
  ASSERT_EQ(queryOnDb("SELECT actual_region FROM audit_records WHERE seq=150"), "us-east-1");
  auto bad = runCmd(bin + " audit verify --dsn '" + dsn() + "'");
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_NE(bad.out.find("seq 150"), std::string::npos) << bad.out;
}

// One append of more than kMaxRecordsPerSegment records: split into segments, and the
// audit_records view shows one row per record with the stored values.
TEST_F(PostgresAudit, RecordsViewShowsOneRowPerRecord) {
  const int n = static_cast<int>(kMaxRecordsPerSegment) + 188;
  const std::vector<Record> chain = buildChain("replica-a", n);
  {
    PostgresStore store(dsn());
    ASSERT_TRUE(store.open().ok());
    auto st = store.append(chain, nullptr);
    ASSERT_TRUE(st.ok()) << st.error().message;
    auto head = store.chainHead("replica-a");
    ASSERT_TRUE(head.ok()) << head.error().message;
    EXPECT_EQ(head->seq, n);
    EXPECT_EQ(head->hash, chain.back().hash);
  }
  EXPECT_EQ(queryOnDb("SELECT count(*) FROM audit_segments"),
            std::to_string((n + kMaxRecordsPerSegment - 1) / kMaxRecordsPerSegment));
  EXPECT_EQ(queryOnDb("SELECT count(*) FROM audit_records"), std::to_string(n));
  for (int seq : {7, 600}) {
    const Record& r = chain[static_cast<size_t>(seq - 1)];
    const std::string where = " FROM audit_records WHERE seq=" + std::to_string(seq);
    EXPECT_EQ(queryOnDb("SELECT actual_region" + where), r.actual_region);
    EXPECT_EQ(queryOnDb("SELECT hash" + where), r.hash);
    EXPECT_EQ(queryOnDb("SELECT prompt_tokens" + where), std::to_string(r.prompt_tokens));
  }
  EXPECT_EQ(queryOnDb("SELECT prompt_text FROM audit_records WHERE seq=5"),
            *chain[4].prompt_text);
  EXPECT_EQ(queryOnDb("SELECT count(*) FROM audit_records WHERE prompt_text IS NULL"),
            std::to_string(n - n / 5));
  auto reps = verify();
  ASSERT_EQ(reps.size(), 1u);
  EXPECT_TRUE(reps[0].ok) << formatReport(reps[0]);
  EXPECT_EQ(reps[0].records, n);
}

// scan: filters, both orders, and stopping early (limit, or fn returning false) leaves the
// connection usable for the next call.
TEST_F(PostgresAudit, ScanFiltersOrdersAndStopsEarly) {
  PostgresStore store(dsn());
  ASSERT_TRUE(store.open().ok());
  // Two replicas with interleaved timestamps, several segments each.
  const std::vector<Record> a = buildChain("replica-a", 1200);
  std::vector<Record> b = buildChain("replica-b", 600);
  ASSERT_TRUE(store.append(a, nullptr).ok());
  ASSERT_TRUE(store.append(b, nullptr).ok());

  auto collect = [&](const ScanQuery& q, int stop_after = -1) {
    std::vector<std::pair<std::string, int64_t>> got;
    auto st = store.scan(q, [&](const Record& r) {
      got.emplace_back(r.replica_id, r.seq);
      return stop_after < 0 || static_cast<int>(got.size()) < stop_after;
    });
    EXPECT_TRUE(st.ok()) << st.error().message;
    return got;
  };
  ScanQuery time_order;
  time_order.chain_order = false;
  time_order.limit = 5;
  auto first5 = collect(time_order);
  ASSERT_EQ(first5.size(), 5u);
  // Same ts_us in both chains for equal i: (ts, replica, seq) order alternates a, b.
  EXPECT_EQ(first5[0], std::make_pair(std::string("replica-a"), int64_t{1}));
  EXPECT_EQ(first5[1], std::make_pair(std::string("replica-b"), int64_t{1}));
  EXPECT_EQ(first5[4], std::make_pair(std::string("replica-a"), int64_t{3}));

  ScanQuery chain_b;
  chain_b.replica_id = "replica-b";
  auto three = collect(chain_b, 3);
  ASSERT_EQ(three.size(), 3u);
  EXPECT_EQ(three[2].second, 3);

  // After both early stops the connection still answers, with filters applied per record.
  ScanQuery filtered;
  filtered.replica_id = "replica-a";
  filtered.since_us = a[999].ts_us;
  filtered.tenant = "acme-bank";
  filtered.violations_only = true;
  auto got = collect(filtered);
  size_t expected = 0;
  for (size_t i = 999; i < a.size(); ++i)
    expected += a[i].tenant == "acme-bank" && !a[i].violation.empty();
  ASSERT_GT(expected, 0u);
  EXPECT_EQ(got.size(), expected);
  for (auto& g : got) EXPECT_GE(g.second, 1000);
  // A window [since, until) in time order across both chains, and one request id.
  ScanQuery window;
  window.chain_order = false;
  window.since_us = a[99].ts_us;
  window.until_us = a[109].ts_us;
  auto in_window = collect(window);
  EXPECT_EQ(in_window.size(), 20u);  // records 100..109 of each chain
  for (auto& g : in_window) {
    EXPECT_GE(g.second, 100);
    EXPECT_LE(g.second, 109);
  }
  ScanQuery by_id;
  by_id.request_id = a[700].request_id;
  auto one = collect(by_id);
  ASSERT_EQ(one.size(), 1u);  // replica-b has 600 records
  EXPECT_EQ(one[0], std::make_pair(std::string("replica-a"), int64_t{701}));
  auto head = store.chainHead("replica-a");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->seq, 1200);
  auto reps = store.replicas();
  ASSERT_TRUE(reps.ok());
  EXPECT_EQ(reps.value(), (std::vector<std::string>{"replica-a", "replica-b"}));
}

// A database of the layout before segments (audit_records a table, one row per record) is
// migrated by the first open, once even when two replicas open it together; the old chains
// verify unchanged and a writer continues them.
TEST_F(PostgresAudit, LegacyTableIsMigratedInPlace) {
  const int n_a = static_cast<int>(kMaxRecordsPerSegment) + 88, n_b = 5;
  std::vector<Record> legacy = buildChain("replica-a", n_a);
  for (Record& r : buildChain("replica-b", n_b)) legacy.push_back(std::move(r));
  ASSERT_EQ(writeLegacyTable(legacy), "");
  ASSERT_EQ(queryOnDb("SELECT count(*) FROM audit_records"), std::to_string(n_a + n_b));
  // An unsigned checkpoint of replica-a's head, as the old writer left it.
  const Record& head_a = legacy[static_cast<size_t>(n_a - 1)];
  ASSERT_EQ(sqlOnDb("INSERT INTO audit_checkpoints VALUES ('replica-a', " +
                    std::to_string(n_a) + ", '" + head_a.hash + "', 1, '')"),
            "");

  // verify / query (read-only stores) read the old layout as it is and change nothing.
  const std::string bin = REGIONGATE_BIN;
  auto old_ok = runCmd(bin + " audit verify --dsn '" + dsn() + "'");
  EXPECT_EQ(old_ok.exit_code, 0) << old_ok.out;
  EXPECT_NE(old_ok.out.find("replica-b"), std::string::npos) << old_ok.out;
  auto old_q = runCmd(bin + " audit query --dsn '" + dsn() + "' --format jsonl --limit 3");
  EXPECT_EQ(old_q.exit_code, 0) << old_q.out;
  EXPECT_EQ(std::count(old_q.out.begin(), old_q.out.end(), '\n'), 3) << old_q.out;
  {
    PostgresStore ro(dsn(), 3, /*read_only=*/true);
    auto head = ro.chainHead("replica-b");
    ASSERT_TRUE(head.ok()) << head.error().message;
    EXPECT_EQ(head->seq, n_b);
    EXPECT_EQ(head->hash, legacy.back().hash);
    EXPECT_FALSE(ro.append(buildChain("replica-b", 1, n_b + 1, legacy.back().hash), nullptr).ok());
  }
  EXPECT_EQ(queryOnDb("SELECT c.relkind FROM pg_class c WHERE c.relname='audit_records'"), "r");
  EXPECT_EQ(queryOnDb("SELECT count(*) FROM pg_class WHERE relname='audit_segments'"), "0");

  std::vector<Status> opened(2);
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i)
      threads.emplace_back([&, i] {
        PostgresStore store(dsn());
        opened[static_cast<size_t>(i)] = store.open();
      });
    for (auto& t : threads) t.join();
  }
  for (auto& st : opened) ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(queryOnDb("SELECT c.relkind FROM pg_class c WHERE c.relname='audit_records' AND "
                      "pg_table_is_visible(c.oid)"),
            "v");
  EXPECT_EQ(queryOnDb("SELECT count(*) FROM pg_class WHERE relname='audit_records_ts'"), "0");
  EXPECT_EQ(queryOnDb("SELECT count(*) FROM audit_segments"), "3");  // 512 + 88, and 5
  EXPECT_EQ(queryOnDb("SELECT count(*) FROM audit_records"), std::to_string(n_a + n_b));
  EXPECT_EQ(queryOnDb("SELECT prompt_text FROM audit_records WHERE replica_id='replica-a' AND "
                      "seq=10"),
            *legacy[9].prompt_text);

  auto reps = verify();
  ASSERT_EQ(reps.size(), 2u);
  EXPECT_TRUE(reps[0].ok) << formatReport(reps[0]);
  EXPECT_EQ(reps[0].records, n_a);
  EXPECT_EQ(reps[0].newest_checkpoint_seq, n_a);
  EXPECT_TRUE(reps[1].ok) << formatReport(reps[1]);
  EXPECT_EQ(reps[1].records, n_b);

  auto log = AuditLog::open(config("replica-a"), SystemClock::instance());
  ASSERT_TRUE(log.ok()) << log.error().message;
  std::atomic<int> durable{0};
  ASSERT_TRUE((*log)->submit(makeRecord(n_a + 1), [&](bool ok) { durable += ok; }));
  ASSERT_TRUE(pollUntil([&] { return durable == 1; }));
  (*log)->stop();
  reps = verify();
  ASSERT_EQ(reps.size(), 2u);
  EXPECT_TRUE(reps[0].ok) << formatReport(reps[0]);
  EXPECT_EQ(reps[0].last_seq, n_a + 1);
  EXPECT_EQ(reps[0].records, n_a + 1);
}

// Migration does not launder an edit made to the old table: verify still names the record.
TEST_F(PostgresAudit, LegacyEditIsStillDetectedAfterMigration) {
  ASSERT_EQ(writeLegacyTable(buildChain("replica-a", 40)), "");
  ASSERT_EQ(sqlOnDb("UPDATE audit_records SET actual_region='us-east-1' WHERE seq=17"), "");
  {
    PostgresStore store(dsn());
    auto st = store.open();
    ASSERT_TRUE(st.ok()) << st.error().message;
  }
  auto reps = verify();
  ASSERT_EQ(reps.size(), 1u);
  EXPECT_FALSE(reps[0].ok);
  EXPECT_EQ(reps[0].broken_seq, 17) << formatReport(reps[0]);
  EXPECT_EQ(reps[0].records, 40);
}

// A migration that cannot finish (an object of the user's depends on the old table) changes
// nothing: the old table and its rows stay, and the error names the dependency.
TEST_F(PostgresAudit, FailedMigrationLeavesTheOldTable) {
  ASSERT_EQ(writeLegacyTable(buildChain("replica-a", 12)), "");
  ASSERT_EQ(sqlOnDb("CREATE VIEW eu_violations AS SELECT seq FROM audit_records "
                    "WHERE violation <> ''"),
            "");
  {
    PostgresStore store(dsn());
    auto st = store.open();
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(st.error().retryable);
    EXPECT_NE(st.error().message.find("eu_violations"), std::string::npos) << st.error().message;
  }
  EXPECT_EQ(queryOnDb("SELECT c.relkind FROM pg_class c WHERE c.relname='audit_records'"), "r");
  EXPECT_EQ(queryOnDb("SELECT count(*) FROM audit_records"), "12");
  EXPECT_EQ(queryOnDb("SELECT count(*) FROM pg_class WHERE relname='audit_segments'"), "0");
  // Once the dependency is gone the next open migrates.
  ASSERT_EQ(sqlOnDb("DROP VIEW eu_violations"), "");
  auto reps = verify();
  ASSERT_EQ(reps.size(), 1u);
  EXPECT_TRUE(reps[0].ok) << formatReport(reps[0]);
  EXPECT_EQ(reps[0].records, 12);
}

// Retention on PostgreSQL (src/audit/prune.h): two replicas' chains pruned by the CLI, each keeps
// verifying from its anchor, a writer continues its chain afterwards, and a read-only verify of a
// database without the anchor table (written before retention existed) still works.
TEST_F(PostgresAudit, PruneKeepsEveryChainVerifiable) {
  {
    PostgresStore store(dsn());
    ASSERT_TRUE(store.open().ok());
    for (const std::string replica : {"replica-a", "replica-b"}) {
      std::string prev(kGenesisHash);
      int seq = 0;
      for (int s = 0; s < 10; ++s) {
        std::vector<Record> batch;
        for (int i = 0; i < 5; ++i) {
          Record r = makeRecord(++seq);
          r.replica_id = replica;
          r.seq = seq;
          normalizeRecord(r);
          r.prev_hash = prev;
          r.hash = recordHash(prev, r);
          prev = r.hash;
          batch.push_back(std::move(r));
        }
        ASSERT_TRUE(store.append(batch, nullptr).ok());
      }
    }
  }
  const std::string bin = REGIONGATE_BIN;
  // Record 23's time: segments 1..4 of each chain (records 1..20) are wholly older.
  auto out = runCmd(bin + " audit prune --dsn '" + dsn() + "' --before 2023-11-14T22:13:20.023Z");
  ASSERT_EQ(out.exit_code, 0) << out.out;
  EXPECT_NE(out.out.find("replica=replica-a deleted segments=4 records=20"), std::string::npos)
      << out.out;
  EXPECT_NE(out.out.find("replica=replica-b deleted segments=4 records=20"), std::string::npos)
      << out.out;
  EXPECT_EQ(queryOnDb("SELECT count(*) FROM audit_records"), "60");
  EXPECT_EQ(queryOnDb("SELECT count(*) FROM audit_prunes"), "2");
  {
    auto log = AuditLog::open(config("replica-a"), SystemClock::instance());
    ASSERT_TRUE(log.ok()) << log.error().message;
    std::atomic<int> durable{0};
    for (int i = 51; i <= 60; ++i)
      ASSERT_TRUE((*log)->submit(makeRecord(i), [&](bool ok) { durable += ok; }));
    ASSERT_TRUE(pollUntil([&] { return durable == 10; }));
    (*log)->stop();
  }
  auto reps = verify();
  ASSERT_EQ(reps.size(), 2u);
  for (const auto& r : reps) {
    EXPECT_TRUE(r.ok) << formatReport(r);
    EXPECT_EQ(r.pruned_through_seq, 20);
  }
  EXPECT_EQ(reps[0].last_seq, 60);  // replica-a continued
  EXPECT_EQ(reps[1].last_seq, 50);
  // Exported heads over a DSN: both chains, then checked by verify --heads.
  auto heads = runCmd(bin + " audit heads --dsn '" + dsn() + "'");
  ASSERT_EQ(heads.exit_code, 0) << heads.out;
  EXPECT_NE(heads.out.find("\"jurisdiction\":\"EU\",\"replica_id\":\"replica-a\",\"seq\":60"),
            std::string::npos)
      << heads.out;
  EXPECT_NE(heads.out.find("\"replica_id\":\"replica-b\",\"seq\":50"), std::string::npos)
      << heads.out;
  const std::string heads_file = "/tmp/rg-pg-heads-" + std::to_string(getpid()) + ".jsonl";
  {
    FILE* f = std::fopen(heads_file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(heads.out.c_str(), f);
    std::fclose(f);
  }
  auto with_heads = runCmd(bin + " audit verify --dsn '" + dsn() + "' --heads " + heads_file);
  EXPECT_EQ(with_heads.exit_code, 0) << with_heads.out;
  EXPECT_NE(with_heads.out.find("exported_heads_checked=1"), std::string::npos) << with_heads.out;
  // The newest records of replica-a deleted together with its checkpoints: only the heads see it.
  ASSERT_EQ(sqlOnDb("DELETE FROM audit_segments WHERE replica_id='replica-a' AND last_seq > 50; "
                    "DELETE FROM audit_checkpoints WHERE replica_id='replica-a'"),
            "");
  EXPECT_EQ(runCmd(bin + " audit verify --dsn '" + dsn() + "'").exit_code, 0);
  auto cut = runCmd(bin + " audit verify --dsn '" + dsn() + "' --heads " + heads_file);
  std::remove(heads_file.c_str());
  EXPECT_EQ(cut.exit_code, 1) << cut.out;
  EXPECT_NE(cut.out.find("truncated: exported head at seq 60"), std::string::npos) << cut.out;
  // Deleting more of a pruned chain by hand is still caught.
  ASSERT_EQ(sqlOnDb("DELETE FROM audit_segments WHERE replica_id='replica-b' AND first_seq=21"),
            "");
  auto bad = runCmd(bin + " audit verify --dsn '" + dsn() + "'");
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_NE(bad.out.find("seq 21"), std::string::npos) << bad.out;
  // Read-only verify of a database that has no anchor table.
  ASSERT_EQ(sqlOnDb("DROP TABLE audit_prunes"), "");
  PostgresStore ro(dsn(), 3, /*read_only=*/true);
  auto ro_reps = verifyStore(ro, "");
  ASSERT_TRUE(ro_reps.ok()) << ro_reps.error().message;
  ASSERT_EQ(ro_reps->size(), 2u);
  EXPECT_FALSE(ro_reps->front().ok);  // without its anchor, replica-a's chain lacks 1..20
  EXPECT_EQ(ro_reps->front().broken_seq, 1);
}

TEST_F(PostgresAudit, ReplicasWriteConcurrentlyEachWithItsOwnChain) {
  constexpr int kPer = 400;
  std::vector<std::unique_ptr<AuditLog>> logs;
  for (const char* r : {"replica-a", "replica-b", "replica-c"}) {
    auto log = AuditLog::open(config(r), SystemClock::instance());
    ASSERT_TRUE(log.ok()) << log.error().message;
    logs.push_back(std::move(log.value()));
  }
  std::atomic<int> durable{0};
  std::vector<std::thread> threads;
  for (auto& log : logs)
    threads.emplace_back([&, l = log.get()] {
      for (int i = 1; i <= kPer; ++i) l->submit(makeRecord(i), [&](bool ok) { durable += ok; });
    });
  for (auto& t : threads) t.join();
  ASSERT_TRUE(pollUntil([&] { return durable == 3 * kPer; }));
  for (auto& log : logs) log->stop();
  auto reps = verify();
  ASSERT_EQ(reps.size(), 3u);
  for (auto& r : reps) {
    EXPECT_TRUE(r.ok) << formatReport(r);
    EXPECT_EQ(r.records, kPer);
  }
  // A restarted replica continues its own chain.
  auto again = AuditLog::open(config("replica-b"), SystemClock::instance());
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE((*again)->submit(makeRecord(1000)));
  (*again)->stop();
  reps = verify();
  ASSERT_EQ(reps.size(), 3u);
  EXPECT_TRUE(reps[1].ok);
  EXPECT_EQ(reps[1].replica_id, "replica-b");
  EXPECT_EQ(reps[1].last_seq, kPer + 1);
}

// The database goes away under load and comes back: under reject the gateway is refused while
// down, and every record that was accepted becomes durable after the restart.
TEST_F(PostgresAudit, ServerStopAndRestartUnderLoadLosesNothing) {
  auto log = AuditLog::open(config("replica-a", AuditFailureMode::Reject), SystemClock::instance());
  ASSERT_TRUE(log.ok()) << log.error().message;
  std::atomic<bool> run{true};
  std::atomic<int> accepted{0}, refused{0}, durable{0}, lost{0};
  std::thread loader([&] {
    // Bounded: at most 200k iterations, paced at ~1 record per 0.5 ms.
    for (int i = 1; i <= 200000 && run; ++i) {
      if ((*log)->admit("EU")) {
        if ((*log)->submit(makeRecord(i), [&](bool ok) { (ok ? durable : lost)++; })) ++accepted;
      } else {
        ++refused;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  });
  ASSERT_TRUE(pollUntil([&] { return durable >= 200; }));
  server_->stop();
  ASSERT_TRUE(pollUntil([&] { return !(*log)->status()[0].healthy; }));
  ASSERT_TRUE(pollUntil([&] { return refused > 50; }));
  const int accepted_while_down = accepted;
  EXPECT_LT(durable.load(), accepted_while_down);  // some are waiting in the queue
  ASSERT_EQ(server_->start(), "");
  ASSERT_TRUE(pollUntil([&] { return (*log)->status()[0].healthy && durable > accepted_while_down; },
                        std::chrono::seconds(30)));
  run = false;
  loader.join();
  ASSERT_TRUE(pollUntil([&] { return durable == accepted; }, std::chrono::seconds(30)));
  (*log)->stop();
  EXPECT_EQ(lost, 0);
  EXPECT_EQ((*log)->status()[0].dropped, 0u);
  auto reps = verify();
  ASSERT_EQ(reps.size(), 1u);
  EXPECT_TRUE(reps[0].ok) << formatReport(reps[0]);
  EXPECT_EQ(reps[0].records, accepted.load());
}

TEST_F(PostgresAudit, StartsUnhealthyWhenTheServerIsDownAndRecovers) {
  server_->stop();
  auto log = AuditLog::open(config("replica-a"), SystemClock::instance());
  ASSERT_TRUE(log.ok()) << log.error().message;  // a server may come back: not a config error
  EXPECT_FALSE((*log)->admit("EU"));
  std::atomic<int> durable{0};
  ASSERT_TRUE((*log)->submit(makeRecord(1), [&](bool ok) { durable += ok; }));
  ASSERT_EQ(server_->start(), "");
  ASSERT_TRUE(pollUntil([&] { return durable == 1; }, std::chrono::seconds(30)));
  EXPECT_TRUE((*log)->admit("EU"));
}

}  // namespace
}  // namespace regiongate::audit
