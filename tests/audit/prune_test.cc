// Retention (`regiongate audit prune`, src/audit/prune.h): whole old segments go, a signed anchor
// takes their place, the rest of the chain still verifies, and pruning never launders tampering
// or hides a deletion that was not a prune.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>

#include "audit/audit_log.h"
#include "audit/prune.h"
#include "audit/schema.h"
#include "audit/sqlite_store.h"
#include "audit/verify.h"
#include "test_util.h"

namespace regiongate::audit {
namespace {

using testing::makeRecord;
using testing::pollUntil;
using testing::runCmd;
using testing::sqliteConfig;
using testing::TempDir;

const char* kKey = "a-checkpoint-key-of-32-bytes-xyz";
constexpr int kSegments = 10;
constexpr int kPerSegment = 5;

int64_t tsOf(int seq) { return makeRecord(seq).ts_us; }

class Prune : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    std::filesystem::create_directories(store_dir());
    key_file_ = dir_.file("checkpoint.key");
    std::ofstream(key_file_) << kKey << "\n";
  }
  std::string store_dir() const { return dir_.file("audit"); }
  std::string db() const { return store_dir() + "/EU.db"; }

  // kSegments group commits of kPerSegment records (seq 1..50, ts increasing with seq), one
  // segment each, through the store as the writer calls it.
  void writeSegments() {
    SqliteStore store(db(), "normal");
    ASSERT_TRUE(store.open().ok());
    std::string prev(kGenesisHash);
    int seq = 0;
    for (int s = 0; s < kSegments; ++s) {
      std::vector<Record> batch;
      for (int i = 0; i < kPerSegment; ++i) {
        Record r = makeRecord(++seq);
        r.replica_id = "replica-a";
        r.seq = seq;
        normalizeRecord(r);
        r.prev_hash = prev;
        r.hash = recordHash(prev, r);
        prev = r.hash;
        hashes_.push_back(r.hash);
        batch.push_back(std::move(r));
      }
      ASSERT_TRUE(store.append(batch, nullptr).ok());
    }
  }

  Result<std::vector<PruneReport>> prune(int64_t cutoff_us, bool dry_run = false,
                                         int64_t per_txn = 1000, const std::string& key = kKey) {
    SqliteStore store(db(), "normal");
    PruneOptions o;
    o.first_segments_per_txn = per_txn;
    o.cutoff_us = cutoff_us;
    o.now_us = 1'800'000'000'000'000;
    o.key = key;
    o.dry_run = dry_run;
    o.max_segments_per_txn = per_txn;
    return pruneStore(store, o);
  }

  ChainReport verify(const std::string& key = kKey) {
    SqliteStore store(db(), "normal", true);
    auto reports = verifyStore(store, key);
    EXPECT_TRUE(reports.ok()) << reports.error().message;
    if (!reports.ok() || reports->size() != 1) {
      ADD_FAILURE() << "expected one chain";
      return {};
    }
    return reports->front();
  }

  void sql(const std::string& statement) {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db().c_str(), &h), SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(h, statement.c_str(), nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(h);
    ASSERT_EQ(rc, SQLITE_OK) << statement << ": " << msg;
  }
  int64_t count(const std::string& query) {
    sqlite3* h = nullptr;
    int64_t n = -1;
    EXPECT_EQ(sqlite3_open(db().c_str(), &h), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(h, query.c_str(), -1, &st, nullptr), SQLITE_OK) << query;
    if (st && sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return n;
  }

  TempDir dir_;
  std::string key_file_;
  std::vector<std::string> hashes_;  // hashes_[seq - 1]
};

TEST_F(Prune, DeletesWholeOldSegmentsAndTheRestVerifies) {
  writeSegments();
  // Record 23 is in segment 21..25: that segment holds a record at/after the cutoff and stays.
  auto r = prune(tsOf(23));
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  const PruneReport& p = r->front();
  EXPECT_TRUE(p.ok) << p.problem;
  EXPECT_EQ(p.segments_deleted, 4);
  EXPECT_EQ(p.records_deleted, 20);
  EXPECT_EQ(p.records_kept, 30);
  EXPECT_EQ(p.through_seq, 20);
  EXPECT_EQ(count("SELECT min(first_seq) FROM audit_segments"), 21);
  EXPECT_EQ(count("SELECT count(*) FROM audit_records"), 30);  // the SQL view follows
  EXPECT_EQ(count("SELECT count(*) FROM audit_prunes"), 1);
  ChainReport v = verify();
  EXPECT_TRUE(v.ok) << formatReport(v);
  EXPECT_EQ(v.records, 30);
  EXPECT_EQ(v.last_seq, 50);
  EXPECT_EQ(v.pruned_through_seq, 20);
  EXPECT_NE(formatReport(v).find("pruned_through_seq=20"), std::string::npos);
  // A second run with the same cutoff has nothing left to do.
  auto again = prune(tsOf(23));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->front().records_deleted, 0);
  EXPECT_EQ(again->front().through_seq, 20);
  EXPECT_TRUE(verify().ok);
}

TEST_F(Prune, TheNewestSegmentIsAlwaysKept) {
  writeSegments();
  auto r = prune(tsOf(50) + 1'000'000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->front().records_deleted, 45);
  EXPECT_EQ(count("SELECT count(*) FROM audit_segments"), 1);
  ChainReport v = verify();
  EXPECT_TRUE(v.ok) << formatReport(v);
  EXPECT_EQ(v.records, 5);
  EXPECT_EQ(v.last_seq, 50);
}

TEST_F(Prune, DryRunChangesNothing) {
  writeSegments();
  auto r = prune(tsOf(23), /*dry_run=*/true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->front().records_deleted, 20);
  EXPECT_EQ(count("SELECT count(*) FROM audit_segments"), kSegments);
  EXPECT_EQ(count("SELECT count(*) FROM audit_prunes"), 0);
  EXPECT_EQ(verify().pruned_through_seq, 0);
}

TEST_F(Prune, LargePrunesGoInShortTransactionsEachWithItsAnchor) {
  writeSegments();
  auto r = prune(tsOf(48), false, /*per_txn=*/3);  // segments 1..9 go, in 3 transactions
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->front().segments_deleted, 9);
  EXPECT_EQ(count("SELECT count(*) FROM audit_prunes"), 3);
  EXPECT_EQ(count("SELECT max(through_seq) FROM audit_prunes"), 45);
  ChainReport v = verify();
  EXPECT_TRUE(v.ok) << formatReport(v);
  EXPECT_EQ(v.pruned_through_seq, 45);
}

// Transactions grow while they are fast and shrink when one holds the store too long (the
// clock is injected: each store.prune() "takes" step_ns, the time between the two reads around
// it).
class SteppingClock final : public Clock {
public:
  explicit SteppingClock(int64_t step_ns) : step_ns_(step_ns) {}
  int64_t nowNanos() const override { return now_ += step_ns_; }
  int64_t wallMicros() const override { return 0; }

private:
  mutable int64_t now_ = 0;
  int64_t step_ns_;
};

TEST_F(Prune, TransactionSizeAdaptsToHowLongTheStoreIsHeld) {
  auto run = [&](int64_t txn_ms, int64_t first) {
    writeSegments();
    SteppingClock clock(txn_ms * 1'000'000);
    SqliteStore store(db(), "normal");
    PruneOptions o;
    o.cutoff_us = tsOf(50) + 1;  // segments 1..9 (records 1..45) go
    o.now_us = 1;
    o.first_segments_per_txn = first;
    o.max_segments_per_txn = 4;
    o.target_txn_ms = 20;
    o.clock = &clock;
    o.key = kKey;
    auto r = pruneStore(store, o);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r->front().segments_deleted, 9);
    EXPECT_TRUE(verify().ok);
    std::string anchors;
    sqlite3* h = nullptr;
    sqlite3_open(db().c_str(), &h);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(h, "SELECT through_seq FROM audit_prunes ORDER BY through_seq", -1, &st,
                       nullptr);
    while (st && sqlite3_step(st) == SQLITE_ROW)
      anchors += std::to_string(sqlite3_column_int64(st, 0)) + " ";
    sqlite3_finalize(st);
    sqlite3_close(h);
    std::filesystem::remove(db());
    std::filesystem::remove(db() + "-wal");
    std::filesystem::remove(db() + "-shm");
    hashes_.clear();
    return anchors;
  };
  // 5 ms per transaction (< target/2): 1, 2, 4 segments, then the 2 left.
  EXPECT_EQ(run(5, 1), "5 15 35 45 ");
  // 30 ms (> target): 4, 2, 1, 1, 1 segments.
  EXPECT_EQ(run(30, 4), "20 30 35 40 45 ");
  // 15 ms (between): the size stays.
  EXPECT_EQ(run(15, 3), "15 30 45 ");
}

TEST_F(Prune, ABrokenChainIsNotPruned) {
  writeSegments();
  sql("UPDATE audit_segments SET records = json_set(records, '$[2].status', 500) "
      "WHERE first_seq = 1");  // record 3 edited
  auto r = prune(tsOf(23));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->front().ok);
  EXPECT_NE(r->front().problem.find("seq 3"), std::string::npos) << r->front().problem;
  EXPECT_EQ(count("SELECT count(*) FROM audit_segments"), kSegments);  // evidence kept
  EXPECT_FALSE(verify().ok);
}

TEST_F(Prune, DeletingMoreThanWasPrunedIsDetected) {
  writeSegments();
  ASSERT_TRUE(prune(tsOf(23)).ok());
  sql("DELETE FROM audit_segments WHERE first_seq = 21");
  ChainReport v = verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.broken_seq, 21);
  EXPECT_EQ(v.found, "seq 26");
}

TEST_F(Prune, AForgedAnchorDoesNotHideADeletionFromTheKeyHolder) {
  writeSegments();
  // Deletes records 1..10 by hand and writes an unsigned anchor that links to record 11.
  sql("DELETE FROM audit_segments WHERE last_seq <= 10");
  sql(schema::kCreatePrunes);
  sql("INSERT INTO audit_prunes VALUES ('replica-a', 10, '" + hashes_[9] + "', 1, 1, '')");
  ChainReport with_key = verify();
  EXPECT_FALSE(with_key.ok);
  EXPECT_EQ(with_key.broken_seq, 1);
  EXPECT_EQ(with_key.anchors_unsigned, 1);
  // Without the key an anchor is as trustworthy as the store (docs/audit.md says so).
  EXPECT_TRUE(verify("").ok);
  // An anchor whose MAC does not match (edited after signing, or forged) fails with the key.
  sql("UPDATE audit_prunes SET mac = '" + std::string(64, 'a') + "' WHERE through_seq = 10");
  ChainReport edited = verify();
  EXPECT_FALSE(edited.ok);
  EXPECT_NE(edited.problem.find("prune anchor MAC invalid"), std::string::npos) << edited.problem;
}

TEST_F(Prune, AnAnchorThatDisagreesWithItsRecordIsDetected) {
  writeSegments();
  ASSERT_TRUE(prune(tsOf(23)).ok());
  // An anchor (signed, as by a buggy or hostile prune) naming a record that is still there but
  // with another hash.
  PruneAnchor a;
  a.replica_id = "replica-a";
  a.through_seq = 30;
  a.hash = hashes_[28];
  a.ts_us = 1;
  a.cutoff_us = 1;
  signPruneAnchor(a, kKey);
  sql("INSERT INTO audit_prunes VALUES ('replica-a', 30, '" + a.hash + "', 1, 1, '" + a.mac +
      "')");
  ChainReport v = verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.broken_seq, 30);
  EXPECT_NE(v.problem.find("prune anchor"), std::string::npos) << v.problem;
}

TEST_F(Prune, AllRecordsGoneAfterAnAnchorIsDetected) {
  writeSegments();
  ASSERT_TRUE(prune(tsOf(23)).ok());
  sql("DELETE FROM audit_segments");
  ChainReport v = verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.broken_seq, 21);
}

TEST_F(Prune, AStoreWithoutTheAnchorTableIsReadAsNeverPruned) {
  writeSegments();
  sql("DROP TABLE audit_prunes");  // a store written before retention existed
  ChainReport v = verify();
  EXPECT_TRUE(v.ok) << formatReport(v);
  EXPECT_EQ(v.records, 50);
}

// The writer keeps appending after a prune (its head is the kept newest segment), across a
// restart, and the whole thing verifies.
TEST_F(Prune, TheWriterContinuesAfterAPrune) {
  Config cfg = sqliteConfig(store_dir());
  cfg.audit.checkpoint_key_file = key_file_;
  auto write = [&](int from, int to) {
    auto log = AuditLog::open(cfg, SystemClock::instance());
    ASSERT_TRUE(log.ok()) << log.error().message;
    std::atomic<int> durable{0};
    for (int i = from; i <= to; ++i) {
      ASSERT_TRUE((*log)->submit(makeRecord(i), [&](bool ok) { durable += ok; }));
      // One record per group commit: several segments to prune.
      ASSERT_TRUE(pollUntil([&] { return durable.load() == i - from + 1; }));
    }
    (*log)->stop();
  };
  write(1, 30);
  auto r = prune(tsOf(20));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->front().ok) << r->front().problem;
  EXPECT_EQ(r->front().through_seq, 19);
  write(31, 40);
  ChainReport v = verify();
  EXPECT_TRUE(v.ok) << formatReport(v);
  EXPECT_EQ(v.records, 21);
  EXPECT_EQ(v.last_seq, 40);
  EXPECT_EQ(v.pruned_through_seq, 19);
  EXPECT_EQ(v.newest_checkpoint_seq, 40);
}

TEST_F(Prune, Cli) {
  writeSegments();
  const std::string bin = REGIONGATE_BIN;
  const std::string base = bin + " audit prune --dir " + store_dir() + " --key-file " + key_file_;
  const std::string cutoff = "2023-11-14T22:13:20.023000Z";  // ts of record 23
  auto dry = runCmd(base + " --before " + cutoff + " --dry-run");
  EXPECT_EQ(dry.exit_code, 0) << dry.out;
  EXPECT_NE(dry.out.find("would delete segments=4 records=20"), std::string::npos) << dry.out;
  EXPECT_EQ(count("SELECT count(*) FROM audit_segments"), kSegments);
  auto real = runCmd(base + " --before " + cutoff);
  EXPECT_EQ(real.exit_code, 0) << real.out;
  EXPECT_NE(real.out.find("deleted segments=4 records=20"), std::string::npos) << real.out;
  auto v = runCmd(bin + " audit verify --dir " + store_dir() + " --key-file " + key_file_);
  EXPECT_EQ(v.exit_code, 0) << v.out;
  EXPECT_NE(v.out.find("pruned_through_seq=20"), std::string::npos) << v.out;
  // --older-than-days: these records are from 2023, so 1 day prunes all but the newest segment.
  auto days = runCmd(base + " --older-than-days 1");
  EXPECT_EQ(days.exit_code, 0) << days.out;
  EXPECT_EQ(count("SELECT count(*) FROM audit_segments"), 1);
  // Usage errors.
  EXPECT_EQ(runCmd(base).exit_code, 2);  // neither --before nor --older-than-days
  EXPECT_EQ(runCmd(base + " --before " + cutoff + " --older-than-days 3").exit_code, 2);
  EXPECT_EQ(runCmd(base + " --before yesterday").exit_code, 2);
  EXPECT_EQ(runCmd(base + " --before 2999-01-01T00:00:00Z").exit_code, 2);  // future
  EXPECT_EQ(runCmd(base + " --older-than-days -1").exit_code, 2);
  EXPECT_EQ(runCmd(bin + " audit prune --older-than-days 1").exit_code, 2);  // no store
  EXPECT_EQ(runCmd(base + " --older-than-days 1 --key-file /nonexistent").exit_code, 2);
  // A tampered chain: exit 1, nothing deleted.
  sql("UPDATE audit_segments SET records = json_set(records, '$[0].status', 500)");
  auto bad = runCmd(base + " --older-than-days 1");
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_NE(bad.out.find("not pruned"), std::string::npos) << bad.out;
}

}  // namespace
}  // namespace regiongate::audit
