// The WAL write-coalescing VFS (audit/wal_coalesce.h): fewer writes, and nothing SQLite wrote is
// ever missing from the file when another connection or process can see the commit.
#include "audit/wal_coalesce.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "audit/sqlite_store.h"
#include "test_util.h"

namespace regiongate::audit {
namespace {

struct Db {
  sqlite3* db = nullptr;
  Db(const std::string& path, const char* vfs) {
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs) !=
        SQLITE_OK) {
      ADD_FAILURE() << "open " << path << ": " << (db ? sqlite3_errmsg(db) : "no handle");
    }
  }
  ~Db() { sqlite3_close_v2(db); }
  int exec(const std::string& sql) const {
    return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  }
  // The first column of the first row as an integer (-1 on error).
  int64_t scalar(const std::string& sql) const {
    sqlite3_stmt* st = nullptr;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
  }
  std::string text(const std::string& sql) const {
    sqlite3_stmt* st = nullptr;
    std::string v;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
      v = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return v;
  }
};

// A row of `bytes` bytes whose content depends on i (zeroblob would hide misplaced pages).
std::string insertSql(int i, int bytes) {
  return "INSERT INTO t (id, body) VALUES (" + std::to_string(i) + ", substr(hex(randomblob(" +
         std::to_string(bytes) + ")), 1, " + std::to_string(bytes) + ") || '" +
         std::to_string(i) + "')";
}

class WalCoalesce : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_NE(walCoalescingVfs(), nullptr);
    ASSERT_FALSE(dir_.path().empty());
    path_ = dir_.file("t.db");
  }
  void createTable(const Db& w, const std::string& sync) {
    ASSERT_EQ(w.exec("PRAGMA journal_mode=WAL"), SQLITE_OK);
    ASSERT_EQ(w.exec("PRAGMA synchronous=" + sync), SQLITE_OK);
    ASSERT_EQ(w.exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"),
              SQLITE_OK);
  }
  testing::TempDir dir_;
  std::string path_;
};

TEST_F(WalCoalesce, EachCommitIsOneWriteAndVisibleToAnotherConnectionAtOnce) {
  Db w(path_, walCoalescingVfs());
  createTable(w, "NORMAL");
  Db r(path_, nullptr);  // SQLite's own VFS, its own file descriptors
  const WalCoalesceStats s0 = walCoalesceStats();
  constexpr int kCommits = 200;
  int64_t bytes = 0;
  for (int i = 1; i <= kCommits; ++i) {
    // ~6 pages per commit: SQLite writes 2 WAL pieces per page plus the header of the WAL.
    const int len = 20000 + i;
    ASSERT_EQ(w.exec("BEGIN IMMEDIATE"), SQLITE_OK);
    ASSERT_EQ(w.exec(insertSql(i, len)), SQLITE_OK);
    ASSERT_EQ(w.exec("COMMIT"), SQLITE_OK);
    bytes += len + static_cast<int64_t>(std::to_string(i).size());
    // The reader goes through the file: it sees the commit only if every frame is there.
    ASSERT_EQ(r.scalar("SELECT count(*) FROM t"), i) << "commit " << i;
    ASSERT_EQ(r.scalar("SELECT sum(length(body)) FROM t"), bytes) << "commit " << i;
  }
  const WalCoalesceStats s1 = walCoalesceStats();
  const uint64_t in = s1.wal_writes_in - s0.wal_writes_in;
  const uint64_t out = s1.wal_writes_out - s0.wal_writes_out;
  EXPECT_EQ(s1.commit_flushes - s0.commit_flushes, static_cast<uint64_t>(kCommits));
  // One write per commit; a WAL restart after the automatic checkpoint (every ~1000 pages) may
  // add one.
  EXPECT_GE(out, static_cast<uint64_t>(kCommits));
  EXPECT_LE(out, static_cast<uint64_t>(kCommits) + 3) << "one write per commit";
  EXPECT_GE(in, 10u * kCommits) << "SQLite's own writes (2 per frame)";
  EXPECT_EQ(r.text("PRAGMA integrity_check"), "ok");
}

TEST_F(WalCoalesce, CheckpointsRestartsRollbacksAndHugeTransactionsKeepEveryRow) {
  Db w(path_, walCoalescingVfs());
  createTable(w, "NORMAL");
  // Checkpoint (and restart the WAL from its start) every few commits; a small page cache
  // makes SQLite spill frames of a transaction before its commit.
  ASSERT_EQ(w.exec("PRAGMA wal_autocheckpoint=16"), SQLITE_OK);
  ASSERT_EQ(w.exec("PRAGMA cache_size=8"), SQLITE_OK);
  Db r(path_, nullptr);
  int64_t rows = 0;
  for (int i = 1; i <= 300; ++i) {
    ASSERT_EQ(w.exec("BEGIN IMMEDIATE"), SQLITE_OK);
    ASSERT_EQ(w.exec(insertSql(i, 3000 + (i * 37) % 9000)), SQLITE_OK);
    if (i % 25 == 0) {
      // A rolled-back transaction of 100 KB (spilled to the WAL, never committed).
      for (int k = 0; k < 10; ++k)
        ASSERT_EQ(w.exec(insertSql(100000 + i * 100 + k, 10000)), SQLITE_OK);
      ASSERT_EQ(w.exec("ROLLBACK"), SQLITE_OK);
    } else {
      ASSERT_EQ(w.exec("COMMIT"), SQLITE_OK);
      ++rows;
    }
    ASSERT_EQ(r.scalar("SELECT count(*) FROM t"), rows) << "transaction " << i;
  }
  // One transaction far larger than the coalescing buffer (120 KiB) and than one write of the
  // unix VFS (128 KiB): 3 MB.
  ASSERT_EQ(w.exec("BEGIN IMMEDIATE"), SQLITE_OK);
  for (int k = 0; k < 30; ++k)
    ASSERT_EQ(w.exec(insertSql(200000 + k, 100000)), SQLITE_OK) << sqlite3_errmsg(w.db);
  ASSERT_EQ(w.exec("COMMIT"), SQLITE_OK);
  rows += 30;
  EXPECT_EQ(r.scalar("SELECT count(*) FROM t"), rows);
  EXPECT_EQ(r.scalar("SELECT count(*) FROM t WHERE id >= 100000 AND id < 200000"), 0);
  EXPECT_EQ(r.scalar("SELECT sum(length(body)) FROM t WHERE id >= 200000"),
            30 * 100000 + 30 * 6);
  EXPECT_EQ(r.text("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(w.text("PRAGMA integrity_check"), "ok");
}

TEST_F(WalCoalesce, SynchronousFullAndReopenKeepEveryRow) {
  {
    Db w(path_, walCoalescingVfs());
    createTable(w, "FULL");
    Db r(path_, nullptr);
    for (int i = 1; i <= 50; ++i) {
      ASSERT_EQ(w.exec(insertSql(i, 5000)), SQLITE_OK);  // autocommit
      ASSERT_EQ(r.scalar("SELECT count(*) FROM t"), i);
    }
  }
  // Closed without a final checkpoint by another connection: reopen and read the WAL back.
  Db again(path_, walCoalescingVfs());
  EXPECT_EQ(again.scalar("SELECT count(*) FROM t"), 50);
  EXPECT_EQ(again.text("PRAGMA integrity_check"), "ok");
}

// A commit whose frames cannot be written (here: the file size limit, as a full disk would) must
// fail, not vanish: after it, the database holds exactly the commits that reported success.
TEST_F(WalCoalesce, AFailedFlushFailsTheCommitAndLosesNoAcknowledgedRow) {
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(pipefd[0]);
    signal(SIGXFSZ, SIG_IGN);  // the write fails with EFBIG instead of killing the process
    rlimit lim{};
    lim.rlim_cur = lim.rlim_max = 400 * 1024;
    setrlimit(RLIMIT_FSIZE, &lim);
    sqlite3* db = nullptr;
    sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                    walCoalescingVfs());
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                     "PRAGMA wal_autocheckpoint=0; "
                     "CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)",
                 nullptr, nullptr, nullptr);
    int acked = 0, failed_rc = 0;
    for (int i = 1; i <= 200 && failed_rc == 0; ++i) {
      const int rc = sqlite3_exec(db, insertSql(i, 20000).c_str(), nullptr, nullptr, nullptr);
      if (rc == SQLITE_OK) acked = i;
      else failed_rc = rc;
    }
    const std::string msg = std::to_string(acked) + " " + std::to_string(failed_rc) + "\n";
    (void)!write(pipefd[1], msg.data(), msg.size());
    _exit(0);  // no clean close: as if the process died right after
  }
  close(pipefd[1]);
  char buf[64] = {};
  ssize_t n = 0, got = 0;
  while ((n = read(pipefd[0], buf + got, sizeof(buf) - 1 - static_cast<size_t>(got))) > 0)
    got += n;
  close(pipefd[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  int acked = -1, failed_rc = -1;
  ASSERT_EQ(sscanf(buf, "%d %d", &acked, &failed_rc), 2) << buf;
  EXPECT_NE(failed_rc, SQLITE_OK) << "the size limit must have stopped a commit";
  EXPECT_GT(acked, 3) << "some commits fit under the limit";
  Db r(path_, nullptr);
  EXPECT_EQ(r.scalar("SELECT count(*) FROM t"), acked);
  EXPECT_EQ(r.scalar("SELECT max(id) FROM t"), acked);
  EXPECT_EQ(r.text("PRAGMA integrity_check"), "ok");
}

// The store's writable connection goes through the shim unless audit.sqlite_wal_coalesce is off;
// its readers (verify, query) never do.
TEST_F(WalCoalesce, SqliteStoreWritesThroughTheShimUnlessSwitchedOff) {
  for (const bool coalesce : {true, false}) {
    const std::string path = dir_.file(coalesce ? "on.db" : "off.db");
    SqliteStore store(path, "normal", /*read_only=*/false, coalesce);
    ASSERT_TRUE(store.open().ok());
    const WalCoalesceStats s0 = walCoalesceStats();
    std::vector<Record> batch;
    for (int i = 1; i <= 40; ++i) {
      batch.push_back(testing::makeRecord(i));
      batch.back().replica_id = "r1";
      batch.back().seq = i;
    }
    for (int k = 0; k < 5; ++k) {
      std::vector<Record> part(batch.begin() + k * 8, batch.begin() + (k + 1) * 8);
      ASSERT_TRUE(store.append(part, nullptr).ok());
    }
    const WalCoalesceStats s1 = walCoalesceStats();
    EXPECT_EQ(s1.commit_flushes - s0.commit_flushes, coalesce ? 5u : 0u) << path;
    SqliteStore reader(path, "normal", /*read_only=*/true);
    ASSERT_TRUE(reader.open().ok());
    int64_t n = 0;
    ScanQuery q;
    q.chain_order = true;
    ASSERT_TRUE(reader.scan(q, [&](const Record& r) { return ++n == r.seq; }).ok());
    EXPECT_EQ(n, 40) << path;
  }
}

}  // namespace
}  // namespace regiongate::audit
