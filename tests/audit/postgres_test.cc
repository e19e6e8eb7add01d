// PostgreSQL sink against a real server started by the test on 127.0.0.1 (pg_fixture.h).
#include <gtest/gtest.h>

#include <thread>

#include "audit/audit_log.h"
#include "audit/postgres_store.h"
#include "audit/verify.h"
#include "pg_fixture.h"
#include "test_util.h"

namespace regiongate::audit {
namespace {

using testing::makeRecord;
using testing::PgServer;
using testing::pollUntil;
using testing::runCmd;

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
  Config config(const std::string& replica, const std::string& policy = "reject") const {
    Config cfg = testing::sqliteConfig("/nonexistent");
    cfg.audit.sink = "postgres";
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

  ASSERT_EQ(sqlOnDb("UPDATE audit_records SET actual_region='us-east-1' WHERE seq=150"), "");
  auto bad = runCmd(bin + " audit verify --dsn '" + dsn() + "'");
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_NE(bad.out.find("seq 150"), std::string::npos) << bad.out;
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
  auto log = AuditLog::open(config("replica-a", "reject"), SystemClock::instance());
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
