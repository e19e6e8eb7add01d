// Chain building and verification under tampering, done with raw SQL on the SQLite file.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>

#include "audit/audit_log.h"
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

constexpr int kRecords = 40;
const char* kKey = "a-checkpoint-key-of-32-bytes-xyz";

class ChainTamper : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    key_file_ = dir_.path() + "/../" + std::filesystem::path(dir_.path()).filename().string() +
                ".key";
    std::ofstream(key_file_) << kKey << "\n";
    store_dir_ = dir_.file("audit");
  }
  void TearDown() override { std::filesystem::remove(key_file_); }

  // Writes kRecords records per jurisdiction through the real AuditLog and stops it.
  void writeRecords(std::vector<std::string> jurisdictions = {"EU"}, bool signed_cp = true) {
    Config cfg = sqliteConfig(store_dir_, jurisdictions);
    if (signed_cp) cfg.audit.checkpoint_key_file = key_file_;
    auto log = AuditLog::open(cfg, SystemClock::instance());
    ASSERT_TRUE(log.ok()) << log.error().message;
    std::atomic<int> durable{0};
    for (const auto& j : jurisdictions)
      for (int i = 1; i <= kRecords; ++i)
        ASSERT_TRUE((*log)->submit(makeRecord(i, j), [&](bool ok) { durable += ok; }));
    ASSERT_TRUE(pollUntil([&] { return durable.load() == kRecords * (int)jurisdictions.size(); }));
    (*log)->stop();
  }

  void sql(const std::string& statement, const std::string& jurisdiction = "EU") {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((store_dir_ + "/" + jurisdiction + ".db").c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << statement << ": " << msg;
  }

  ChainReport verifyOne(const std::string& key = kKey, const std::string& j = "EU") {
    SqliteStore store(store_dir_ + "/" + j + ".db", "normal", true);
    auto reports = verifyStore(store, key);
    EXPECT_TRUE(reports.ok()) << reports.error().message;
    if (!reports.ok() || reports->size() != 1) {
      ADD_FAILURE() << "expected one chain";
      return {};
    }
    return reports->front();
  }

  TempDir dir_;
  std::string key_file_, store_dir_;
};

TEST_F(ChainTamper, IntactChainVerifies) {
  writeRecords();
  ChainReport r = verifyOne();
  EXPECT_TRUE(r.ok) << formatReport(r);
  EXPECT_EQ(r.replica_id, "replica-a");
  EXPECT_EQ(r.records, kRecords);
  EXPECT_EQ(r.last_seq, kRecords);
  EXPECT_EQ(r.newest_checkpoint_seq, kRecords);  // the final checkpoint at stop
}

TEST_F(ChainTamper, EditIsDetectedAtTheEditedRecord) {
  writeRecords();
  sql("UPDATE audit_records SET actual_region='eu-west-1' WHERE seq=7");
  ChainReport r = verifyOne();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 7);
  EXPECT_NE(r.problem.find("edited"), std::string::npos) << r.problem;
  EXPECT_NE(r.expected, r.found);
}

TEST_F(ChainTamper, EditOfAttemptsJsonIsDetected) {
  writeRecords();
  sql("UPDATE audit_records SET attempts='[]' WHERE seq=3");
  ChainReport r = verifyOne();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 3);
}

TEST_F(ChainTamper, EditWithRecomputedHashBreaksTheNextLink) {
  writeRecords();
  // The forger recomputes record 9's hash, but record 10 still points at the old one.
  SqliteStore store(store_dir_ + "/EU.db", "normal", true);
  Record victim;
  ASSERT_TRUE(store.scan({}, [&](const Record& r) {
    if (r.seq == 9) victim = r;
    return r.seq < 9;
  }).ok());
  ASSERT_EQ(victim.seq, 9);
  victim.tenant = "someone-else";
  const std::string forged = recordHash(victim.prev_hash, victim);
  sql("UPDATE audit_records SET tenant='someone-else', hash='" + forged + "' WHERE seq=9");
  ChainReport r = verifyOne();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 10);
  EXPECT_EQ(r.expected, forged);
  EXPECT_NE(r.problem.find("prev_hash"), std::string::npos) << r.problem;
}

TEST_F(ChainTamper, DeletionInTheMiddleIsDetected) {
  writeRecords();
  sql("DELETE FROM audit_records WHERE seq=12");
  ChainReport r = verifyOne();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 12);
  EXPECT_EQ(r.found, "seq 13");
}

TEST_F(ChainTamper, DeletionOfTheFirstRecordIsDetected) {
  writeRecords();
  sql("DELETE FROM audit_records WHERE seq=1");
  ChainReport r = verifyOne();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 1);
}

TEST_F(ChainTamper, ReorderIsDetected) {
  writeRecords();
  sql("UPDATE audit_records SET seq=-1 WHERE seq=5; UPDATE audit_records SET seq=5 WHERE seq=6;"
      " UPDATE audit_records SET seq=6 WHERE seq=-1");
  ChainReport r = verifyOne();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 5);
}

TEST_F(ChainTamper, TruncationBeforeACheckpointIsDetected) {
  writeRecords();
  sql("DELETE FROM audit_records WHERE seq > 35");
  ChainReport r = verifyOne();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.last_seq, 35);
  EXPECT_NE(r.problem.find("truncated"), std::string::npos) << r.problem;
  // Also without the key: the (unauthenticated) checkpoint row still reveals it.
  EXPECT_FALSE(verifyOne("").ok);
}

TEST_F(ChainTamper, ForgedCheckpointIsDetectedWithTheKey) {
  writeRecords();
  SqliteStore store(store_dir_ + "/EU.db", "normal", true);
  std::string hash35;
  ASSERT_TRUE(store.scan({}, [&](const Record& r) {
    if (r.seq == 35) hash35 = r.hash;
    return true;
  }).ok());
  sql("DELETE FROM audit_records WHERE seq > 35; UPDATE audit_checkpoints SET seq=35, hash='" +
      hash35 + "' WHERE seq=40");
  ChainReport r = verifyOne();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("MAC"), std::string::npos) << r.problem;
  // Without the key, this forgery is exactly what verify cannot see (docs/audit.md).
  EXPECT_TRUE(verifyOne("").ok);
}

TEST_F(ChainTamper, TruncationTogetherWithItsCheckpointsIsNotDetectable) {
  // Documented limit: deleting the newest records *and* every checkpoint after them.
  writeRecords();
  sql("DELETE FROM audit_records WHERE seq > 30; DELETE FROM audit_checkpoints");
  EXPECT_TRUE(verifyOne().ok);
}

TEST_F(ChainTamper, ChainContinuesAcrossRestarts) {
  writeRecords();
  writeRecords();  // a second process lifetime appends to the same chain
  ChainReport r = verifyOne();
  EXPECT_TRUE(r.ok) << formatReport(r);
  EXPECT_EQ(r.records, 2 * kRecords);
  EXPECT_EQ(r.newest_checkpoint_seq, 2 * kRecords);
}

TEST_F(ChainTamper, EachJurisdictionHasItsOwnStore) {
  writeRecords({"EU", "US"});
  for (const char* j : {"EU", "US"}) {
    SqliteStore store(store_dir_ + "/" + j + ".db", "normal", true);
    int n = 0;
    ASSERT_TRUE(store.scan({}, [&](const Record& r) {
      EXPECT_EQ(r.jurisdiction, j);
      ++n;
      return true;
    }).ok());
    EXPECT_EQ(n, kRecords);
    EXPECT_TRUE(verifyOne(kKey, j).ok);
  }
}

TEST_F(ChainTamper, CliVerifyExitCodes) {
  writeRecords({"EU", "US"});
  const std::string bin = REGIONGATE_BIN;
  auto ok = runCmd(bin + " audit verify --dir " + store_dir_ + " --key-file " + key_file_);
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_NE(ok.out.find("OK"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("records=40"), std::string::npos) << ok.out;
  sql("UPDATE audit_records SET status=500 WHERE seq=20", "US");
  auto bad = runCmd(bin + " audit verify --dir " + store_dir_);
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_NE(bad.out.find("seq 20"), std::string::npos) << bad.out;
  EXPECT_EQ(runCmd(bin + " audit verify").exit_code, 2);
  EXPECT_EQ(runCmd(bin + " audit verify --dir " + dir_.file("missing")).exit_code, 2);
  EXPECT_EQ(runCmd(bin + " audit verify --dir " + store_dir_ + " --bogus").exit_code, 2);
}

TEST_F(ChainTamper, CliQueryFilters) {
  writeRecords({"EU", "US"});
  const std::string bin = REGIONGATE_BIN;
  auto all = runCmd(bin + " audit query --dir " + store_dir_ + " --format jsonl");
  ASSERT_EQ(all.exit_code, 0) << all.out;
  EXPECT_EQ(std::count(all.out.begin(), all.out.end(), '\n'), 2 * kRecords);
  int expected_violations = 0;
  for (int i = 1; i <= kRecords; ++i) expected_violations += !makeRecord(i).violation.empty();
  auto v = runCmd(bin + " audit query --dir " + store_dir_ +
                  " --jurisdiction EU --violations --format jsonl");
  ASSERT_EQ(v.exit_code, 0) << v.out;
  EXPECT_EQ(std::count(v.out.begin(), v.out.end(), '\n'), expected_violations);
  EXPECT_EQ(v.out.find("\"violation\":\"\""), std::string::npos);
  auto t = runCmd(bin + " audit query --dir " + store_dir_ +
                  " --tenant acme-bank --since 2023-11-14T22:13:20.020Z --limit 3 --format jsonl");
  ASSERT_EQ(t.exit_code, 0) << t.out;
  EXPECT_EQ(std::count(t.out.begin(), t.out.end(), '\n'), 3);
  EXPECT_EQ(t.out.find("globex"), std::string::npos);
  EXPECT_EQ(t.out.find("\"request_id\":\"req-3\""), std::string::npos);  // before --since
  auto table = runCmd(bin + " audit query --dir " + store_dir_ + " --limit 2");
  ASSERT_EQ(table.exit_code, 0);
  EXPECT_EQ(std::count(table.out.begin(), table.out.end(), '\n'), 3);  // header + 2
  EXPECT_EQ(runCmd(bin + " audit query --dir " + store_dir_ + " --since yesterday").exit_code, 2);
  EXPECT_EQ(runCmd(bin + " audit query --dir " + store_dir_ + " --format xml").exit_code, 2);
}

}  // namespace
}  // namespace regiongate::audit
