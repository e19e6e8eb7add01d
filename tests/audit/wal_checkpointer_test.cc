// The SQLite store's WAL checkpoints run off the commit path (wal_checkpointer.h): a commit never
// waits for a checkpoint, the WAL stays bounded when the background checkpoints fall behind, and
// commits reach the database file within the time bound without any size trigger.
#include <gtest/gtest.h>
#include <sched.h>

#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>

#include "audit/sqlite_store.h"
#include "test_util.h"

namespace regiongate::audit {
namespace {

using testing::makeRecord;
using testing::pollUntil;
using testing::TempDir;
namespace fs = std::filesystem;

// Holds every background checkpoint at its start until released (bounded: a checkpointer still
// held after 60 s goes on, so a broken test cannot hang the suite).
class HeldCheckpoints {
public:
  void hold() {
    std::unique_lock lk(mu_);
    ++entered_;
    inside_ = true;
    cv_.notify_all();
    cv_.wait_for(lk, std::chrono::seconds(60), [&] { return released_; });
    inside_ = false;
  }
  bool waitEntered() {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, std::chrono::seconds(20), [&] { return entered_ > 0; });
  }
  bool inside() {
    std::lock_guard lk(mu_);
    return inside_;
  }
  void release() {
    std::lock_guard lk(mu_);
    released_ = true;
    cv_.notify_all();
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  int entered_ = 0;
  bool inside_ = false;
  bool released_ = false;
};

// A deferred-maintenance store whose background checkpoints are held at their start until the
// test releases them (released at the latest before the store joins its checkpointer), dating
// its commits by a clock that moves only when the test moves it.
struct HeldStore {
  TempDir dir;
  const std::string path = dir.file("eu.db");
  std::shared_ptr<HeldCheckpoints> held = std::make_shared<HeldCheckpoints>();
  ManualClock clock;
  SqliteStore store{path, "normal"};

  explicit HeldStore(int wal_limit_pages = SqliteStore::kWalLimitPages) {
    store.setClock(clock);
    store.setWalLimitPages(wal_limit_pages);
    store.setDeferredMaintenance(true);
    store.setBeforeBackgroundCheckpoint([h = held] { h->hold(); });
  }
  ~HeldStore() { held->release(); }
};

// ~1.7 KB per record: one batch of 512 is ~220 WAL pages.
std::vector<Record> bigBatch() {
  std::vector<Record> batch;
  for (int i = 1; i <= 512; ++i) {
    batch.push_back(makeRecord(i));
    batch.back().replica_id = "r1";
    batch.back().prompt_text = std::string(1000, 'p');
  }
  return batch;
}

// What the gateway's writer does per group commit: append, then (answers sent) maintain().
bool commitAndMaintain(SqliteStore& store, std::vector<Record>& batch, int64_t& seq) {
  for (auto& r : batch) r.seq = ++seq;
  if (!store.append(batch, nullptr).ok()) return false;
  store.maintain();
  return true;
}

int64_t countRecords(const std::string& path) {
  SqliteStore reader(path, "normal", /*read_only=*/true);
  int64_t n = 0;
  if (!reader.open().ok()) return -1;
  if (!reader.scan(ScanQuery{}, [&](const Record& r) { return ++n == r.seq; }).ok()) return -1;
  return n;
}

TEST(AuditWalCheckpoint, CommitsCompleteWhileABackgroundCheckpointIsHeld) {
  HeldStore h;  // its clock stands still: no commit becomes overdue however slow the test runs
  SqliteStore& store = h.store;
  HeldCheckpoints& held = *h.held;
  const std::string& path = h.path;
  ASSERT_TRUE(store.open().ok());
  auto batch = bigBatch();
  int64_t seq = 0;
  // Past the background threshold: the checkpointer starts a checkpoint and is held there.
  for (int k = 0; k < 6; ++k) ASSERT_TRUE(commitAndMaintain(store, batch, seq));
  ASSERT_GE(store.walPages(), SqliteStore::kCheckpointPages);
  ASSERT_TRUE(held.waitEntered());
  const auto db_size = fs::file_size(path);

  // More group commits while that checkpoint is held: each completes, and none checkpoints.
  for (int k = 0; k < 6; ++k) ASSERT_TRUE(commitAndMaintain(store, batch, seq));
  EXPECT_TRUE(held.inside()) << "the commits waited for the held checkpoint";
  EXPECT_GT(store.walPages(), 2 * SqliteStore::kCheckpointPages);
  EXPECT_LT(store.walPages(), SqliteStore::kWalLimitPages);
  EXPECT_EQ(fs::file_size(path), db_size) << "a checkpoint ran on the commit path";
  EXPECT_EQ(store.writerCheckpoints(), 0u);

  // Released, the background checkpoint copies the WAL into the database file.
  held.release();
  ASSERT_TRUE(pollUntil([&] { return store.backgroundCheckpoints() >= 1; }));
  EXPECT_GT(fs::file_size(path), db_size + uintmax_t{4096} * SqliteStore::kCheckpointPages);
  EXPECT_EQ(countRecords(path), seq);
}

TEST(AuditWalCheckpoint, WalStaysBoundedWhenBackgroundCheckpointsFallBehind) {
  constexpr int kLimit = 4 * SqliteStore::kCheckpointPages;  // quicker to fill than the default
  HeldStore h(kLimit);  // its clock stands still: only the size bound makes writer checkpoints
  SqliteStore& store = h.store;
  HeldCheckpoints& held = *h.held;
  const std::string& path = h.path;
  ASSERT_TRUE(store.open().ok());
  auto batch = bigBatch();
  int64_t seq = 0;
  int max_pages = 0;
  // ~8 800 pages with the background checkpointer stuck: twice the bound.
  for (int k = 0; k < 40; ++k) {
    ASSERT_TRUE(commitAndMaintain(store, batch, seq));
    max_pages = std::max(max_pages, store.walPages());
  }
  EXPECT_TRUE(held.inside());
  EXPECT_GE(store.writerCheckpoints(), 1u);
  // The bound plus one group commit (~220 pages): the writer checkpoints at the bound and its
  // next commit restarts the WAL, so the file is reused instead of growing.
  EXPECT_LT(max_pages, kLimit + 300);
  EXPECT_LT(fs::file_size(path + "-wal"), uintmax_t{4120} * (kLimit + 300));
  EXPECT_EQ(countRecords(path), seq);
}

TEST(AuditWalCheckpoint, CommitsBelowTheThresholdAreCheckpointedWithinTheInterval) {
  TempDir dir;
  const std::string path = dir.file("eu.db");
  SqliteStore store(path, "normal");
  store.setDeferredMaintenance(true);
  ASSERT_TRUE(store.open().ok());
  auto batch = bigBatch();
  batch.resize(8);
  int64_t seq = 0;
  ASSERT_TRUE(commitAndMaintain(store, batch, seq));
  ASSERT_LT(store.walPages(), SqliteStore::kCheckpointPages);
  // Far below the size threshold: only the time bound (one second) makes the checkpoint, whose
  // WAL fsync is what lets these commits survive a power loss under `normal` durability.
  ASSERT_TRUE(pollUntil([&] { return store.backgroundCheckpoints() >= 1; }));
  EXPECT_EQ(store.writerCheckpoints(), 0u);
  EXPECT_EQ(countRecords(path), seq);
}

TEST(AuditWalCheckpoint, WithNoIdleCpuTheWriterCheckpointsOnceACommitWaitedTwoIntervals) {
  HeldStore h;  // a checkpointer that never gets to run, as on a host with no idle CPU
  SqliteStore& store = h.store;
  ManualClock& clock = h.clock;
  const std::string& path = h.path;
  ASSERT_TRUE(store.open().ok());
  auto batch = bigBatch();
  batch.resize(8);  // far below every size bound
  int64_t seq = 0;
  ASSERT_TRUE(commitAndMaintain(store, batch, seq));
  clock.advance(std::chrono::nanoseconds(SqliteStore::kCheckpointOverdueNanos - 1));
  ASSERT_TRUE(commitAndMaintain(store, batch, seq));
  EXPECT_EQ(store.writerCheckpoints(), 0u) << "the first commit is not overdue yet";
  clock.advance(std::chrono::nanoseconds(1));
  ASSERT_TRUE(commitAndMaintain(store, batch, seq));
  EXPECT_EQ(store.writerCheckpoints(), 1u) << "the first commit is two intervals old";
  EXPECT_EQ(store.walPages(), 0);
  // The next uncovered commit starts a new wait.
  ASSERT_TRUE(commitAndMaintain(store, batch, seq));
  clock.advance(std::chrono::milliseconds(1000));
  ASSERT_TRUE(commitAndMaintain(store, batch, seq));
  EXPECT_EQ(store.writerCheckpoints(), 1u);
  EXPECT_EQ(countRecords(path), seq);
}

TEST(AuditWalCheckpoint, TheCheckpointerRunsOnlyOnCpuTimeNoOtherThreadWants) {
  TempDir dir;
  SqliteStore store(dir.file("eu.db"), "normal");
  store.setDeferredMaintenance(true);
  ASSERT_TRUE(store.open().ok());
  // The thread names itself after setting its policy.
  pid_t tid = 0;
  ASSERT_TRUE(pollUntil([&] { return (tid = testing::threadNamed("rg-audit-ckpt")) != 0; }));
  EXPECT_EQ(::sched_getscheduler(tid), SCHED_IDLE);
}

}  // namespace
}  // namespace regiongate::audit
