// Chain building and verification under tampering, done with raw SQL on the SQLite file. Records
// live inside segments (src/audit/segment.h: one row per group commit, a JSON array of records),
// so the tampering edits that JSON with SQLite's JSON functions, as an attacker with the file
// would.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>

#include "audit/audit_log.h"
#include "audit/query.h"
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

  std::string sqlScalar(const std::string& query, const std::string& jurisdiction = "EU") {
    sqlite3* db = nullptr;
    std::string out;
    EXPECT_EQ(sqlite3_open((store_dir_ + "/" + jurisdiction + ".db").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, query.c_str(), -1, &st, nullptr), SQLITE_OK) << query;
    if (st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
  }

  // Sets one field of record `seq` (value: an SQL expression, e.g. "'eu-west-1'" or "json('[]')").
  void setField(int seq, const std::string& field, const std::string& value,
                const std::string& jurisdiction = "EU") {
    const std::string s = std::to_string(seq);
    sql("UPDATE audit_segments SET records = json_set(records, '$[' || (" + s +
            " - first_seq) || '].' || '" + field + "', " + value + ") WHERE " + s +
            " BETWEEN first_seq AND last_seq",
        jurisdiction);
  }
  // Removes every record for which `cond` (SQL over json_each's `value`) holds, and the segments
  // left empty.
  void deleteRecords(const std::string& cond) {
    sql("UPDATE audit_segments SET records = (SELECT json_group_array(json(value)) FROM "
        "json_each(audit_segments.records) WHERE NOT (" + cond + ")); "
        "DELETE FROM audit_segments WHERE json_array_length(records) = 0");
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
  setField(7, "actual_region", "'eu-west-1'");
  ChainReport r = verifyOne();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 7);
  EXPECT_NE(r.problem.find("edited"), std::string::npos) << r.problem;
  EXPECT_NE(r.expected, r.found);
}

TEST_F(ChainTamper, EditOfAttemptsJsonIsDetected) {
  writeRecords();
  setField(3, "attempts", "json('[]')");
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
  setField(9, "tenant", "'someone-else'");
  setField(9, "hash", "'" + forged + "'");
  ChainReport r = verifyOne();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 10);
  EXPECT_EQ(r.expected, forged);
  EXPECT_NE(r.problem.find("prev_hash"), std::string::npos) << r.problem;
}

TEST_F(ChainTamper, DeletionInTheMiddleIsDetected) {
  writeRecords();
  deleteRecords("json_extract(value, '$.seq') = 12");
  ChainReport r = verifyOne();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 12);
  EXPECT_EQ(r.found, "seq 13");
}

TEST_F(ChainTamper, DeletionOfTheFirstRecordIsDetected) {
  writeRecords();
  deleteRecords("json_extract(value, '$.seq') = 1");
  ChainReport r = verifyOne();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 1);
}

TEST_F(ChainTamper, ReorderIsDetected) {
  writeRecords();
  // Swap two neighbouring records inside one segment (both json_set values read the original
  // array): the first segment holding at least two records.
  const std::string k = sqlScalar(
      "SELECT first_seq FROM audit_segments WHERE record_count >= 2 ORDER BY first_seq LIMIT 1");
  ASSERT_FALSE(k.empty()) << "no segment with two records";
  sql("UPDATE audit_segments SET records = json_set(records, '$[0]', json_extract(records, "
      "'$[1]'), '$[1]', json_extract(records, '$[0]')) WHERE first_seq = " + k);
  ChainReport r = verifyOne();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, std::stoll(k));
}

TEST_F(ChainTamper, TruncationBeforeACheckpointIsDetected) {
  writeRecords();
  deleteRecords("json_extract(value, '$.seq') > 35");
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
  deleteRecords("json_extract(value, '$.seq') > 35");
  sql("UPDATE audit_checkpoints SET seq=35, hash='" + hash35 + "' WHERE seq=40");
  ChainReport r = verifyOne();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("MAC"), std::string::npos) << r.problem;
  // Without the key, this forgery is exactly what verify cannot see (docs/audit.md).
  EXPECT_TRUE(verifyOne("").ok);
}

TEST_F(ChainTamper, TruncationTogetherWithItsCheckpointsIsNotDetectable) {
  // Documented limit: deleting the newest records *and* every checkpoint after them.
  writeRecords();
  deleteRecords("json_extract(value, '$.seq') > 30");
  sql("DELETE FROM audit_checkpoints");
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
  setField(20, "status", "500", "US");
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
  // A time window [since, until) and one request (what an incident review asks for).
  auto w = runCmd(bin + " audit query --dir " + store_dir_ + " --jurisdiction EU --since "
                  "2023-11-14T22:13:20.010Z --until 2023-11-14T22:13:20.020Z --format jsonl");
  ASSERT_EQ(w.exit_code, 0) << w.out;
  EXPECT_EQ(std::count(w.out.begin(), w.out.end(), '\n'), 10);  // records 10..19
  EXPECT_NE(w.out.find("\"request_id\":\"req-10\""), std::string::npos);
  EXPECT_EQ(w.out.find("\"request_id\":\"req-20\""), std::string::npos);
  auto one = runCmd(bin + " audit query --dir " + store_dir_ + " --request-id req-17 --format jsonl");
  ASSERT_EQ(one.exit_code, 0) << one.out;
  EXPECT_EQ(std::count(one.out.begin(), one.out.end(), '\n'), 2);  // EU and US each have one
  EXPECT_NE(one.out.find("\"jurisdiction\":\"US\""), std::string::npos) << one.out;
  EXPECT_EQ(runCmd(bin + " audit query --dir " + store_dir_ + " --request-id nope").out,
            formatTable({}));
  EXPECT_EQ(runCmd(bin + " audit query --dir " + store_dir_ + " --since 1700000001 --until "
                   "1700000000").exit_code,
            2);
  EXPECT_EQ(runCmd(bin + " audit query --dir " + store_dir_ + " --until soon").exit_code, 2);
  EXPECT_EQ(runCmd(bin + " audit query --dir " + store_dir_ + " --since yesterday").exit_code, 2);
  EXPECT_EQ(runCmd(bin + " audit query --dir " + store_dir_ + " --format xml").exit_code, 2);
}

TEST_F(ChainTamper, RecordsViewHasOneRowPerRecord) {
  writeRecords();
  EXPECT_EQ(sqlScalar("SELECT count(*) FROM audit_records"), std::to_string(kRecords));
  EXPECT_EQ(sqlScalar("SELECT sum(record_count) FROM audit_segments"), std::to_string(kRecords));
  EXPECT_EQ(sqlScalar("SELECT actual_region FROM audit_records WHERE seq = 14"), "us-east-1");
  EXPECT_EQ(sqlScalar("SELECT count(*) FROM audit_records WHERE violation <> ''"),
            std::to_string(kRecords / 7));
  EXPECT_EQ(sqlScalar("SELECT json_array_length(attempts) FROM audit_records WHERE seq = 3"), "2");
}

TEST_F(ChainTamper, UnreadableSegmentIsNamed) {
  writeRecords();
  const std::string k = sqlScalar("SELECT max(first_seq) FROM audit_segments");
  sql("UPDATE audit_segments SET records = substr(records, 1, length(records) - 40) "
      "WHERE first_seq = " + k);
  ChainReport r = verifyOne();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, std::stoll(k));
  EXPECT_NE(r.found.find("unreadable segment"), std::string::npos) << r.found;
}

TEST_F(ChainTamper, AddedFieldIsNamed) {
  writeRecords();
  setField(11, "note", "'harmless?'");
  ChainReport r = verifyOne();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 11);
  EXPECT_NE(r.found.find("note is not an audit field"), std::string::npos) << r.found;
}

TEST_F(ChainTamper, OutOfRangeMillisecondsAreNamed) {
  writeRecords();
  setField(6, "duration_ms", "1e300");  // no writer stores this (normalizeRecord clamps)
  ChainReport r = verifyOne();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 6);
  EXPECT_NE(r.found.find("duration_ms is not a number of milliseconds"), std::string::npos)
      << r.found;
}

// A store written before segments (one row per record) is read as it is, and migrated in place
// by the first writer: nothing lost, the chain continues.
TEST_F(ChainTamper, LegacyRowStoreIsReadAndMigrated) {
  std::filesystem::create_directories(store_dir_);
  sql(std::string(testing::kLegacyCreateRecords) + "; " + testing::kLegacyCreateTsIndex + "; " +
      testing::kLegacyCreateCheckpoints);
  std::string prev(kGenesisHash);
  for (int i = 1; i <= 7; ++i) {
    Record r = makeRecord(i);
    r.replica_id = "replica-a";
    r.seq = i;
    r.prompt_text.reset();  // stored as NULL below
    normalizeRecord(r);
    r.prev_hash = prev;
    r.hash = recordHash(prev, r);
    prev = r.hash;
    auto q = [](const std::string& v) { return "'" + v + "'"; };
    sql("INSERT INTO audit_records VALUES (" + q(r.replica_id) + "," + std::to_string(r.seq) +
        "," + std::to_string(r.ts_us) + "," + q(r.request_id) + "," + q(r.tenant) + "," +
        q(r.jurisdiction) + "," + q(r.model) + "," + q(r.model_version) + "," +
        q(r.intended_region) + "," + q(r.actual_region) + "," + q(r.evidence) + "," +
        q(r.evidence_value) + "," + q(r.endpoint) + "," + q(attemptsToJson(r.attempts)) + "," +
        std::to_string(r.status) + "," + formatMs(r.ttft_ms) + "," + formatMs(r.duration_ms) +
        "," + std::to_string(r.prompt_tokens) + "," + std::to_string(r.cached_tokens) + "," +
        std::to_string(r.completion_tokens) + "," + q(r.violation) + "," + q(r.error_type) +
        ",NULL,NULL," + q(r.prev_hash) + "," + q(r.hash) + ")");
  }
  // Read-only (audit verify on an old store): read as it is, not migrated.
  ChainReport before = verifyOne("");
  EXPECT_TRUE(before.ok) << formatReport(before);
  EXPECT_EQ(before.records, 7);
  EXPECT_EQ(sqlScalar("SELECT type FROM sqlite_master WHERE name = 'audit_records'"), "table");
  // A writer migrates it and continues the chain.
  writeRecords({"EU"}, false);
  EXPECT_EQ(sqlScalar("SELECT type FROM sqlite_master WHERE name = 'audit_records'"), "view");
  ChainReport after = verifyOne("");
  EXPECT_TRUE(after.ok) << formatReport(after);
  EXPECT_EQ(after.records, 7 + kRecords);
  EXPECT_EQ(after.last_seq, 7 + kRecords);
  EXPECT_EQ(sqlScalar("SELECT request_id FROM audit_records WHERE seq = 7"), "req-7");
}

}  // namespace
}  // namespace regiongate::audit
