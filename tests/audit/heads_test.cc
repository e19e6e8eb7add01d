// Exported chain heads (src/audit/heads.h): `audit heads` prints them, `audit verify --heads`
// checks them, closing the blind spots a store cannot close alone (truncation together with its
// checkpoints, a rewritten chain, a deleted store or replica).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>

#include "audit/heads.h"
#include "audit/prune.h"
#include "audit/sqlite_store.h"
#include "audit/verify.h"
#include "test_util.h"

namespace regiongate::audit {
namespace {

using testing::CmdResult;
using testing::makeRecord;
using testing::runCmd;
using testing::TempDir;

const std::string kHashA(64, 'a');
const std::string kHashB(64, 'b');

TEST(HeadsParse, ReadsLinesSkipsCommentsAndKeepsHistory) {
  const std::string text =
      "# exported daily\n"
      "\n"
      "{\"jurisdiction\":\"EU\",\"replica_id\":\"r1\",\"seq\":20,\"hash\":\"" + kHashA + "\"}\r\n"
      "  {\"jurisdiction\":\"EU\",\"replica_id\":\"r1\",\"seq\":40,\"hash\":\"" + kHashB +
      "\",\"ts_us\":5}  \n"
      "{\"jurisdiction\":\"US\",\"replica_id\":\"r1\",\"seq\":7,\"hash\":\"" + kHashA + "\"}";
  auto h = parseHeads(text);
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_EQ(h->count(), 3u);
  ASSERT_EQ(h->by_chain.size(), 2u);
  const auto& eu = h->by_chain.at({"EU", "r1"});
  EXPECT_EQ(eu.at(20), kHashA);
  EXPECT_EQ(eu.at(40), kHashB);
  EXPECT_EQ(h->by_chain.at({"US", "r1"}).at(7), kHashA);
  // A repeated identical line is fine.
  EXPECT_TRUE(parseHeads(text + "\n" + text.substr(text.find('{'))).ok());
}

TEST(HeadsParse, RoundTripsWhatHeadsPrints) {
  ExportedHead e{"EEA+adequacy", "pod-\"7\"", 12, kHashB, 1'700'000'000'000'000};
  auto h = parseHeads(headToJson(e) + "\n");
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_EQ(h->by_chain.at({"EEA+adequacy", "pod-\"7\""}).at(12), kHashB);
  EXPECT_NE(headToJson(e).find("\"ts\":\"2023-11-14T22:13:20"), std::string::npos)
      << headToJson(e);
}

TEST(HeadsParse, ErrorsNameTheLineAndTheField) {
  auto line = [](const std::string& body) { return "# c\n" + body + "\n"; };
  const std::string ok_tail = ",\"replica_id\":\"r\",\"seq\":3,\"hash\":\"" + kHashA + "\"}";
  struct Case {
    std::string text, expect;
  } cases[] = {
      {line("not json"), "line 2: not a JSON object"},
      {line("[1,2]"), "line 2: not a JSON object"},
      {line("{\"replica_id\":\"r\",\"seq\":3,\"hash\":\"" + kHashA + "\"}"), "jurisdiction"},
      {line("{\"jurisdiction\":\"\"" + ok_tail), "jurisdiction"},
      {line("{\"jurisdiction\":\"EU\",\"seq\":3,\"hash\":\"" + kHashA + "\"}"), "replica_id"},
      {line("{\"jurisdiction\":\"EU\",\"replica_id\":\"r\",\"seq\":0,\"hash\":\"" + kHashA + "\"}"),
       "seq"},
      {line("{\"jurisdiction\":\"EU\",\"replica_id\":\"r\",\"seq\":\"3\",\"hash\":\"" + kHashA +
            "\"}"),
       "seq"},
      {line("{\"jurisdiction\":\"EU\",\"replica_id\":\"r\",\"seq\":3,\"hash\":\"ABC\"}"), "hash"},
      {line("{\"jurisdiction\":\"EU\",\"replica_id\":\"r\",\"seq\":3,\"hash\":\"" +
            std::string(64, 'A') + "\"}"),
       "hash"},
      {line("{\"jurisdiction\":\"EU\"" + ok_tail) + "{\"jurisdiction\":\"EU\",\"replica_id\":\"r\","
       "\"seq\":3,\"hash\":\"" + kHashB + "\"}\n",
       "line 3: chain EU/r seq 3 has another hash"},
  };
  for (const auto& c : cases) {
    auto h = parseHeads(c.text);
    ASSERT_FALSE(h.ok()) << c.text;
    EXPECT_NE(h.error().message.find(c.expect), std::string::npos)
        << c.text << " -> " << h.error().message;
  }
}

class Heads : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    std::filesystem::create_directories(store_dir());
  }
  std::string store_dir() const { return dir_.file("audit"); }
  std::string db(const std::string& j) const { return store_dir() + "/" + j + ".db"; }

  // Records 1..n of replica-a in jurisdiction j, 5 per group commit, written as the writer
  // would; `status_of_3` lets a test write a different history (a rewritten chain).
  void writeChain(const std::string& j, int n, int status_of_3 = 200) {
    std::filesystem::remove(db(j));
    SqliteStore store(db(j), "normal");
    ASSERT_TRUE(store.open().ok());
    std::string prev(kGenesisHash);
    std::vector<Record> batch;
    for (int seq = 1; seq <= n; ++seq) {
      Record r = makeRecord(seq, j);
      r.replica_id = "replica-a";
      r.seq = seq;
      if (seq == 3) r.status = status_of_3;
      normalizeRecord(r);
      r.prev_hash = prev;
      r.hash = recordHash(prev, r);
      prev = r.hash;
      batch.push_back(std::move(r));
      if (batch.size() == 5 || seq == n) {
        ASSERT_TRUE(store.append(batch, nullptr).ok());
        batch.clear();
      }
    }
  }
  std::string heads(const std::string& extra = "") {
    auto r = runCmd(std::string(REGIONGATE_BIN) + " audit heads --dir " + store_dir() + extra);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return r.out;
  }
  std::string saveHeads(const std::string& text, const std::string& name = "heads.jsonl") {
    std::ofstream(dir_.file(name)) << text;
    return dir_.file(name);
  }
  CmdResult verify(const std::string& heads_file, const std::string& extra = "") {
    return runCmd(std::string(REGIONGATE_BIN) + " audit verify --dir " + store_dir() +
                  " --heads " + heads_file + extra);
  }
  void sql(const std::string& j, const std::string& statement) {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db(j).c_str(), &h), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(h, statement.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << statement;
    sqlite3_close(h);
  }

  TempDir dir_;
};

TEST_F(Heads, ExportedHeadsVerify) {
  writeChain("EU", 20);
  writeChain("US", 12);
  const std::string out = heads();
  EXPECT_NE(out.find("\"jurisdiction\":\"EU\",\"replica_id\":\"replica-a\",\"seq\":20"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("\"jurisdiction\":\"US\",\"replica_id\":\"replica-a\",\"seq\":12"),
            std::string::npos)
      << out;
  auto v = verify(saveHeads(out));
  EXPECT_EQ(v.exit_code, 0) << v.out;
  EXPECT_NE(v.out.find("exported_heads_checked=1"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("2 exported head(s)"), std::string::npos) << v.out;
  // --jurisdiction limits the export.
  const std::string eu = heads(" --jurisdiction EU");
  EXPECT_EQ(eu.find("\"US\""), std::string::npos) << eu;
}

// The blind spot of the store alone: the newest records deleted together with everything that
// names them. The store still verifies; the exported head does not.
TEST_F(Heads, TruncationTheStoreCannotSeeIsCaught) {
  writeChain("EU", 20);
  const std::string file = saveHeads(heads());
  sql("EU", "DELETE FROM audit_segments WHERE first_seq >= 16");
  auto plain = runCmd(std::string(REGIONGATE_BIN) + " audit verify --dir " + store_dir());
  EXPECT_EQ(plain.exit_code, 0) << plain.out;  // documented: undetectable without an outside copy
  auto v = verify(file);
  EXPECT_EQ(v.exit_code, 1) << v.out;
  EXPECT_NE(v.out.find("truncated: exported head at seq 20 but the chain ends at seq 15"),
            std::string::npos)
      << v.out;
}

// A chain rewritten from an edited record on, with every hash recomputed (what someone with
// write access and no checkpoint key can do): each exported head inside the rewritten range
// catches it, including an older head from a file appended to daily.
TEST_F(Heads, ARewrittenChainIsCaught) {
  writeChain("EU", 10);
  std::string history = heads();
  writeChain("EU", 20);  // the same history, longer
  history += heads();
  const std::string file = saveHeads(history);
  EXPECT_EQ(verify(file).exit_code, 0);
  writeChain("EU", 20, /*status_of_3=*/500);  // rewritten: record 3 changed, hashes recomputed
  auto plain = runCmd(std::string(REGIONGATE_BIN) + " audit verify --dir " + store_dir());
  EXPECT_EQ(plain.exit_code, 0) << plain.out;
  auto v = verify(file);
  EXPECT_EQ(v.exit_code, 1) << v.out;
  EXPECT_NE(v.out.find("seq 10: record differs from an exported head (chain rewritten)"),
            std::string::npos)
      << v.out;
}

TEST_F(Heads, ADeletedStoreIsCaught) {
  writeChain("EU", 10);
  writeChain("US", 10);
  const std::string file = saveHeads(heads());
  std::filesystem::remove(db("US"));
  auto v = verify(file);
  EXPECT_EQ(v.exit_code, 1) << v.out;
  EXPECT_NE(v.out.find("FAIL chain jurisdiction=US replica=replica-a: exported head at seq 10, "
                       "but no store given holds this chain"),
            std::string::npos)
      << v.out;
  // Verifying one jurisdiction only checks that jurisdiction's heads.
  EXPECT_EQ(verify(file, " --jurisdiction EU").exit_code, 0);
}

TEST_F(Heads, HeadsOlderThanAPruneAreCountedNotFailed) {
  writeChain("EU", 10);
  std::string history = heads();
  writeChain("EU", 30);
  history += heads();
  SqliteStore store(db("EU"), "normal");
  PruneOptions o;
  o.cutoff_us = makeRecord(12).ts_us;  // segments 1..10 go
  o.now_us = 1;
  auto p = pruneStore(store, o);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->front().through_seq, 10);
  auto v = verify(saveHeads(history));
  EXPECT_EQ(v.exit_code, 0) << v.out;
  EXPECT_NE(v.out.find("exported_heads_checked=1"), std::string::npos) << v.out;  // seq 30
  EXPECT_NE(v.out.find("exported_heads_pruned=1"), std::string::npos) << v.out;
}

TEST_F(Heads, CliErrors) {
  writeChain("EU", 5);
  EXPECT_EQ(verify(dir_.file("missing.jsonl")).exit_code, 2);
  auto bad = verify(saveHeads("{\"jurisdiction\":\"EU\"}\n"));
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
  EXPECT_NE(bad.out.find("heads line 1"), std::string::npos) << bad.out;
  EXPECT_EQ(runCmd(std::string(REGIONGATE_BIN) + " audit heads").exit_code, 2);
  EXPECT_EQ(runCmd(std::string(REGIONGATE_BIN) + " audit heads --dir " + dir_.file("nope"))
                .exit_code,
            2);
}

}  // namespace
}  // namespace regiongate::audit
