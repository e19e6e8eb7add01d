// The writer under store failure: reject and drop policies, recovery without loss, lost commit
// acknowledgements, a locked SQLite database, metrics and status.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "audit/audit_log.h"
#include "audit/sqlite_store.h"
#include "audit/verify.h"
#include "fake_store.h"
#include "test_util.h"

namespace regiongate::audit {
namespace {

using testing::FakeStore;
using testing::makeRecord;
using testing::pollUntil;
using testing::sqliteConfig;
using testing::TempDir;

Config fakeConfig(const std::string& policy, uint32_t capacity) {
  Config cfg = sqliteConfig("/nonexistent");
  cfg.audit.on_audit_failure = policy;
  cfg.audit.queue_capacity = capacity;
  cfg.audit.batch_max = 8;
  cfg.audit.stop_timeout_ms = 2000;
  return cfg;
}

struct Harness {
  std::shared_ptr<FakeStore::Shared> shared = std::make_shared<FakeStore::Shared>();
  std::unique_ptr<AuditLog> log;
  std::atomic<int> durable{0}, lost{0};

  explicit Harness(const Config& cfg) {
    std::vector<std::pair<std::string, std::unique_ptr<Store>>> stores;
    stores.emplace_back("EU", std::make_unique<FakeStore>(shared));
    auto r = AuditLog::openWithStores(cfg, SystemClock::instance(), std::move(stores));
    EXPECT_TRUE(r.ok());
    if (r.ok()) log = std::move(r.value());
  }
  bool submit(int i) {
    return log->submit(makeRecord(i), [this](bool ok) { (ok ? durable : lost)++; });
  }
  AuditLog::StoreStatus st() const { return log->status().at(0); }
  bool chainOk(int64_t expect_records) {
    FakeStore reader(shared);
    auto reps = verifyStore(reader, "");
    if (!reps.ok() || reps->size() != 1) return false;
    return reps->front().ok && reps->front().records == expect_records;
  }
};

TEST(AuditWriter, HealthyStoreWritesEverythingInOrder) {
  Harness h(fakeConfig("reject", 1000));
  for (int i = 1; i <= 100; ++i) ASSERT_TRUE(h.submit(i));
  ASSERT_TRUE(pollUntil([&] { return h.durable == 100; }));
  EXPECT_EQ(h.st().written, 100u);
  EXPECT_EQ(h.st().queue_depth, 0u);
  EXPECT_TRUE(h.log->admit("EU"));
  EXPECT_FALSE(h.log->admit("US"));  // unknown jurisdiction: never admitted
  EXPECT_TRUE(h.chainOk(100));
  // Group commit: fewer transactions than records.
  EXPECT_LT(h.shared->appends.load(), 100);
  // Records keep their submission order within the chain.
  std::lock_guard lk(h.shared->mu);
  int64_t seq = 0;
  for (auto& [k, r] : h.shared->rows) EXPECT_EQ(r.request_id, "req-" + std::to_string(++seq));
}

TEST(AuditWriter, RejectPolicyRefusesWhileFailingAndLosesNothingOnRecovery) {
  Harness h(fakeConfig("reject", 50));
  ASSERT_TRUE(h.submit(1));
  ASSERT_TRUE(pollUntil([&] { return h.durable == 1; }));
  h.shared->failing = true;
  for (int i = 2; i <= 11; ++i) ASSERT_TRUE(h.submit(i));
  ASSERT_TRUE(pollUntil([&] { return !h.st().healthy; }));
  EXPECT_FALSE(h.log->admit("EU"));
  EXPECT_FALSE(h.st().last_error.empty());
  EXPECT_EQ(h.st().queue_depth, 10u);
  std::string metrics;
  h.log->renderMetrics(metrics);
  EXPECT_NE(metrics.find("regiongate_audit_store_up{jurisdiction=\"EU\"} 0"), std::string::npos);
  EXPECT_NE(metrics.find("regiongate_audit_queue_depth{jurisdiction=\"EU\"} 10"),
            std::string::npos);
  // Retries happen with backoff while down.
  ASSERT_TRUE(pollUntil([&] { return h.shared->failed_appends + h.shared->failed_opens >= 3; }));
  h.shared->failing = false;
  ASSERT_TRUE(pollUntil([&] { return h.durable == 11; }));
  EXPECT_TRUE(pollUntil([&] { return h.log->admit("EU"); }));
  EXPECT_EQ(h.lost, 0);
  EXPECT_EQ(h.st().dropped, 0u);
  EXPECT_TRUE(h.chainOk(11));
}

TEST(AuditWriter, RejectPolicyRefusesWhenQueueIsFull) {
  Harness h(fakeConfig("reject", 5));
  h.shared->failing = true;
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(h.submit(i));
  EXPECT_FALSE(h.log->admit("EU"));
  EXPECT_FALSE(h.submit(6));  // beyond capacity: refused, on_durable(false) already called
  EXPECT_EQ(h.lost, 1);
  EXPECT_EQ(h.st().dropped, 1u);
  h.shared->failing = false;
  ASSERT_TRUE(pollUntil([&] { return h.durable == 5; }));
  EXPECT_TRUE(h.chainOk(5));
}

TEST(AuditWriter, DropPolicyAdmitsCountsDropsAndKeepsQueued) {
  Harness h(fakeConfig("drop", 20));
  h.shared->failing = true;
  int queued = 0, refused = 0;
  for (int i = 1; i <= 50; ++i) (h.submit(i) ? queued : refused)++;
  EXPECT_EQ(queued, 20);
  EXPECT_EQ(refused, 30);
  EXPECT_TRUE(h.log->admit("EU"));  // drop policy never refuses requests
  EXPECT_EQ(h.st().dropped, 30u);
  EXPECT_EQ(h.lost, 30);
  std::string metrics;
  h.log->renderMetrics(metrics);
  EXPECT_NE(metrics.find("# TYPE regiongate_audit_dropped_total counter"), std::string::npos);
  EXPECT_NE(metrics.find("regiongate_audit_dropped_total{jurisdiction=\"EU\"} 30"),
            std::string::npos);
  h.shared->failing = false;
  ASSERT_TRUE(pollUntil([&] { return h.durable == 20; }));
  EXPECT_TRUE(h.chainOk(20));
}

TEST(AuditWriter, LostCommitAcknowledgementDoesNotDuplicate) {
  Harness h(fakeConfig("reject", 100));
  h.shared->lose_next_ack = true;
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(h.submit(i));
  ASSERT_TRUE(pollUntil([&] { return h.durable == 5; }));
  for (int i = 6; i <= 10; ++i) ASSERT_TRUE(h.submit(i));
  ASSERT_TRUE(pollUntil([&] { return h.durable == 10; }));
  EXPECT_TRUE(h.chainOk(10));
}

TEST(AuditWriter, StopDrainsAndWritesAFinalCheckpoint) {
  Harness h(fakeConfig("reject", 1000));
  for (int i = 1; i <= 30; ++i) ASSERT_TRUE(h.submit(i));
  h.log->stop();
  EXPECT_EQ(h.durable, 30);
  std::lock_guard lk(h.shared->mu);
  ASSERT_FALSE(h.shared->cps.empty());
  EXPECT_EQ(h.shared->cps.back().seq, 30);
}

TEST(AuditWriter, StopOnAFailingStoreIsBoundedAndCountsTheLoss) {
  Config cfg = fakeConfig("drop", 100);
  cfg.audit.stop_timeout_ms = 200;
  Harness h(cfg);
  h.shared->failing = true;
  for (int i = 1; i <= 7; ++i) ASSERT_TRUE(h.submit(i));
  h.log->stop();
  EXPECT_EQ(h.lost, 7);
  EXPECT_EQ(h.st().dropped, 7u);
  EXPECT_FALSE(h.submit(8));  // stopped: refused, counted
  EXPECT_EQ(h.lost, 8);
}

TEST(AuditWriter, UnknownJurisdictionIsCountedNotSilent) {
  Harness h(fakeConfig("reject", 10));
  std::atomic<int> calls{0};
  EXPECT_FALSE(h.log->submit(makeRecord(1, "MARS"), [&](bool ok) { calls += ok ? 100 : 1; }));
  EXPECT_EQ(calls, 1);
  std::string metrics;
  h.log->renderMetrics(metrics);
  EXPECT_NE(metrics.find("regiongate_audit_dropped_total{jurisdiction=\"\"} 1"), std::string::npos);
}

TEST(AuditLogOpen, ConfigErrorsNameTheKey) {
  TempDir dir;
  Config cfg = sqliteConfig(dir.path());
  cfg.audit.sink = "postgres";
  auto r = AuditLog::open(cfg, SystemClock::instance());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("audit.dsn.EU"), std::string::npos) << r.error().message;
  cfg.audit.sink = "kafka";
  r = AuditLog::open(cfg, SystemClock::instance());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("audit.sink"), std::string::npos);
  cfg = sqliteConfig(dir.path());
  cfg.audit.on_audit_failure = "ignore";
  r = AuditLog::open(cfg, SystemClock::instance());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("audit.on_audit_failure"), std::string::npos);
  cfg = sqliteConfig(dir.path());
  cfg.audit.checkpoint_key_file = dir.file("nope.key");
  r = AuditLog::open(cfg, SystemClock::instance());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("audit.checkpoint_key_file"), std::string::npos);
  cfg = sqliteConfig(dir.path(), {"../evil"});
  r = AuditLog::open(cfg, SystemClock::instance());
  ASSERT_FALSE(r.ok());
}

TEST(AuditLogOpen, SinkNoneIsANoOp) {
  Config cfg = sqliteConfig("/nonexistent");
  cfg.audit.sink = "none";
  auto r = AuditLog::open(cfg, SystemClock::instance());
  ASSERT_TRUE(r.ok());
  bool called = false;
  EXPECT_TRUE((*r)->admit("EU"));
  EXPECT_TRUE((*r)->submit(makeRecord(1), [&](bool ok) { called = ok; }));
  EXPECT_TRUE(called);
  EXPECT_TRUE((*r)->status().empty());
}

// A real SQLite failure: another process-level connection holds the write lock.
TEST(AuditWriterSqlite, LockedDatabaseMarksUnhealthyAndRecovers) {
  TempDir dir;
  Config cfg = sqliteConfig(dir.path());
  cfg.audit.on_audit_failure = "reject";
  auto log = AuditLog::open(cfg, SystemClock::instance());
  ASSERT_TRUE(log.ok()) << log.error().message;
  std::atomic<int> durable{0};
  auto submit = [&](int i) { return (*log)->submit(makeRecord(i), [&](bool ok) { durable += ok; }); };
  ASSERT_TRUE(submit(1));
  ASSERT_TRUE(pollUntil([&] { return durable == 1; }));

  sqlite3* locker = nullptr;
  ASSERT_EQ(sqlite3_open(dir.file("EU.db").c_str(), &locker), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(locker, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  for (int i = 2; i <= 20; ++i) ASSERT_TRUE(submit(i));
  ASSERT_TRUE(pollUntil([&] { return !(*log)->status()[0].healthy; }));
  EXPECT_FALSE((*log)->admit("EU"));
  EXPECT_NE((*log)->status()[0].last_error.find("locked"), std::string::npos)
      << (*log)->status()[0].last_error;
  EXPECT_EQ(durable, 1);
  ASSERT_EQ(sqlite3_exec(locker, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(locker);

  ASSERT_TRUE(pollUntil([&] { return durable == 20; }));
  EXPECT_TRUE(pollUntil([&] { return (*log)->admit("EU"); }));
  (*log)->stop();
  SqliteStore reader(dir.file("EU.db"), "normal", true);
  auto reps = verifyStore(reader, "");
  ASSERT_TRUE(reps.ok());
  ASSERT_EQ(reps->size(), 1u);
  EXPECT_TRUE(reps->front().ok) << formatReport(reps->front());
  EXPECT_EQ(reps->front().records, 20);
}

}  // namespace
}  // namespace regiongate::audit
