// The spill (src/audit/spill.h): its file format read back, and a writer that answers from it,
// leaves it behind when it cannot commit, and whose successor commits what was left.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "audit/audit_log.h"
#include "audit/spill.h"
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

// Records first..last of replica "replica-a", chained from the genesis hash.
std::vector<Record> chained(int first, int last, std::string prev = std::string(kGenesisHash)) {
  std::vector<Record> out;
  for (int i = first; i <= last; ++i) {
    Record r = makeRecord(i);
    r.seq = i;
    r.replica_id = "replica-a";
    normalizeRecord(r);
    r.prev_hash = prev;
    r.hash = recordHash(prev, r);
    prev = r.hash;
    out.push_back(std::move(r));
  }
  return out;
}

std::unique_ptr<SpillFile> openSpill(const std::string& path, uint64_t max = 1 << 20) {
  auto f = SpillFile::open(path, max);
  EXPECT_TRUE(f.ok()) << f.error().message;
  return f.ok() ? std::move(f.value()) : nullptr;
}

std::vector<SpilledGroup> readBack(SpillFile& f) {
  auto groups = f.recover();
  EXPECT_TRUE(groups.ok());
  return groups.ok() ? std::move(groups.value()) : std::vector<SpilledGroup>{};
}

TEST(AuditSpill, EntriesReadBackUpToTheFirstDamagedOne) {
  TempDir dir;
  const std::string path = dir.file("eu.spill");
  auto recs = chained(1, 10);
  {
    auto f = openSpill(path);
    ASSERT_TRUE(f);
    ASSERT_GT(f->append(recs, 0, 4), 0u);
    ASSERT_GT(f->append(recs, 4, 10), 0u);
    auto groups = readBack(*f);
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(groups[0].first_seq, 1);
    EXPECT_EQ(groups[1].last_seq, 10);
    ASSERT_EQ(groups[1].records.size(), 6u);
    EXPECT_EQ(groups[1].records[5].hash, recs[9].hash);
    EXPECT_EQ(groups[1].records[5].request_id, "req-10");
  }
  // One byte changed inside the second entry: only the first is read.
  const auto size = std::filesystem::file_size(path);
  {
    std::fstream io(path, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(static_cast<std::streamoff>(size - 10));
    io.put('#');
  }
  auto f = openSpill(path);
  ASSERT_TRUE(f);
  EXPECT_EQ(readBack(*f).size(), 1u);
  // Cut inside the first entry: nothing.
  ASSERT_EQ(truncate(path.c_str(), 40), 0);
  EXPECT_TRUE(readBack(*f).empty());
}

TEST(AuditSpill, AnEntryWhoseHashesDoNotHoldIsNotRead) {
  auto recs = chained(1, 3);
  recs[1].tenant = "someone-else";  // the hash no longer covers the record
  TempDir dir;
  auto f = openSpill(dir.file("eu.spill"));
  ASSERT_TRUE(f);
  ASSERT_GT(f->append(recs, 0, 3), 0u);
  EXPECT_TRUE(readBack(*f).empty());
  EXPECT_TRUE(parseSpill("garbage that is not a spill at all, long enough for a header").empty());
}

TEST(AuditSpill, StartsAgainAtOffsetZeroOnceEverythingWrittenIsCommitted) {
  TempDir dir;
  const std::string path = dir.file("eu.spill");
  auto f = openSpill(path);
  ASSERT_TRUE(f);
  auto recs = chained(1, 6);
  const uint64_t end1 = f->append(recs, 0, 3);
  ASSERT_GT(end1, 0u);
  EXPECT_EQ(f->pendingBytes(), end1);
  f->committed(end1);
  EXPECT_EQ(f->pendingBytes(), 0u);
  ASSERT_GT(f->append(recs, 3, 6), end1);
  // The second entry overwrote the first: the file holds it at offset 0.
  EXPECT_LE(std::filesystem::file_size(path), end1 + 64);
  auto groups = readBack(*f);
  ASSERT_FALSE(groups.empty());
  EXPECT_EQ(groups[0].first_seq, 4);
}

TEST(AuditSpill, AFullSpillRefusesTheEntry) {
  TempDir dir;
  auto f = openSpill(dir.file("eu.spill"), 600);
  ASSERT_TRUE(f);
  auto recs = chained(1, 5);
  EXPECT_EQ(f->append(recs, 0, 5), 0u);
  EXPECT_EQ(f->pendingBytes(), 0u);
}

TEST(AuditSpill, RefusesASymlinkASharedFileAndLooseModes) {
  TempDir dir;
  const std::string target = dir.file("target");
  { std::ofstream(target) << "x"; }
  const std::string link = dir.file("link.spill");
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  auto viaLink = SpillFile::open(link);
  ASSERT_FALSE(viaLink.ok());
  EXPECT_NE(viaLink.error().message.find("cannot open"), std::string::npos);

  const std::string path = dir.file("eu.spill");
  auto first = openSpill(path);
  ASSERT_TRUE(first);
  auto second = SpillFile::open(path);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("in use by another process"), std::string::npos);

  const std::string loose = dir.file("loose.spill");
  { std::ofstream(loose) << ""; }
  ASSERT_EQ(chmod(loose.c_str(), 0644), 0);
  auto readable = SpillFile::open(loose);
  ASSERT_FALSE(readable.ok());
  EXPECT_NE(readable.error().message.find("mode 0600"), std::string::npos);
}

TEST(AuditSpill, PathsDifferByDirectoryReplicaAndJurisdiction) {
  const std::string a = spillPath("/dev/shm", "/var/lib/rg/audit", "pod-1", "EU");
  EXPECT_EQ(a, spillPath("/dev/shm", "/var/lib/rg/audit", "pod-1", "EU"));
  EXPECT_NE(a, spillPath("/dev/shm", "/var/lib/rg/other", "pod-1", "EU"));
  EXPECT_NE(a, spillPath("/dev/shm", "/var/lib/rg/audit", "pod-2", "EU"));
  EXPECT_NE(a, spillPath("/dev/shm", "/var/lib/rg/audit", "pod-1", "US"));
  EXPECT_EQ(a.rfind("/dev/shm/regiongate-audit-", 0), 0u);
}

TEST(AuditSpill, LeftSpillsAreThoseWithRecordsThatNoProcessHolds) {
  TempDir spills, audit_dir, other_dir;
  const std::string path = spillPath(spills.path(), audit_dir.path(), "pod-1", "EU");
  auto recs = chained(1, 2);
  {
    auto f = openSpill(path);
    ASSERT_TRUE(f);
    EXPECT_TRUE(leftSpills(spills.path(), audit_dir.path()).empty()) << "empty";
    ASSERT_GT(f->append(recs, 0, 2), 0u);
    EXPECT_TRUE(leftSpills(spills.path(), audit_dir.path()).empty()) << "held by its writer";
  }
  EXPECT_EQ(leftSpills(spills.path(), audit_dir.path()), std::vector<std::string>{path});
  EXPECT_TRUE(leftSpills(spills.path(), other_dir.path()).empty());
  EXPECT_TRUE(leftSpills("", audit_dir.path()).empty());
}

// A writer with a spill over a store that a test can make fail.
struct SpillHarness {
  std::shared_ptr<FakeStore::Shared> shared;
  std::unique_ptr<StoreWriter> writer;
  std::atomic<int> durable{0}, lost{0};

  SpillHarness(std::shared_ptr<FakeStore::Shared> s, const std::string& spill_path,
               int64_t stop_timeout_ms, uint64_t spill_max = 1 << 20)
      : shared(std::move(s)) {
    WriterOptions o;
    o.replica_id = "replica-a";
    o.batch_max = 8;
    o.stop_timeout_ms = stop_timeout_ms;
    writer = std::make_unique<StoreWriter>("EU", std::make_unique<FakeStore>(shared), o,
                                           SystemClock::instance());
    writer->setSpill(openSpill(spill_path, spill_max));
    EXPECT_TRUE(writer->prepare().ok());
    writer->start();
  }
  void submit(int i) {
    writer->submit(makeRecord(i), [this](bool ok) { (ok ? durable : lost)++; });
  }
  size_t rows() {
    std::lock_guard lk(shared->mu);
    return shared->rows.size();
  }
  bool chainOk(int64_t records) {
    FakeStore reader(shared);
    auto reps = verifyStore(reader, "");
    return reps.ok() && reps->size() == 1 && reps->front().ok &&
           reps->front().records == records;
  }
};

TEST(AuditSpillWriter, AnswersFromTheSpillAndTheNextWriterCommitsWhatWasLeft) {
  TempDir dir;
  const std::string path = dir.file("eu.spill");
  auto shared = std::make_shared<FakeStore::Shared>();
  {
    SpillHarness h(shared, path, /*stop_timeout_ms=*/0);
    for (int i = 1; i <= 5; ++i) h.submit(i);
    ASSERT_TRUE(pollUntil([&] { return h.rows() == 5; }));
    // The store fails: answers still come, from the spill, and the store is reported unhealthy.
    shared->failing = true;
    for (int i = 6; i <= 40; ++i) h.submit(i);
    ASSERT_TRUE(pollUntil([&] { return h.durable == 40; }));
    EXPECT_EQ(h.lost, 0);
    EXPECT_EQ(h.rows(), 5u);
    ASSERT_TRUE(pollUntil([&] { return !h.writer->healthy(); }));
    EXPECT_FALSE(h.writer->admit());
    h.writer->stop();  // no time to commit: the 35 records stay in the spill
    EXPECT_TRUE(std::filesystem::exists(path));
  }
  shared->failing = false;
  EXPECT_EQ(shared->rows.size(), 5u);
  SpillHarness next(shared, path, 5000);
  EXPECT_EQ(next.rows(), 40u);
  EXPECT_TRUE(next.chainOk(40));
  // The chain goes on after the recovered records.
  next.submit(41);
  ASSERT_TRUE(pollUntil([&] { return next.rows() == 41; }));
  next.writer->stop();
  EXPECT_TRUE(next.chainOk(41));
  EXPECT_FALSE(std::filesystem::exists(path)) << "a clean stop removes the spill";
}

// A group that does not fit waits for its commit, and so does every group after it until it is
// stored: a later group answered from the spill could not be recovered across the gap.
TEST(AuditSpillWriter, AfterAGroupMissesTheSpillTheNextOnesWaitForTheirCommit) {
  TempDir dir;
  const std::string path = dir.file("eu.spill");
  auto shared = std::make_shared<FakeStore::Shared>();
  SpillHarness h(shared, path, /*stop_timeout_ms=*/0, /*spill_max=*/4096);
  shared->failing = true;
  Record big = makeRecord(1);
  big.prompt_text = std::string(8192, 'p');  // larger than the whole spill
  h.writer->submit(std::move(big), [&](bool ok) { (ok ? h.durable : h.lost)++; });
  ASSERT_TRUE(pollUntil([&] { return shared->failed_appends >= 1; }));
  h.submit(2);  // would fit
  // The committer's retries back off 20 then 40 ms; the writer handles record 2 meanwhile.
  ASSERT_TRUE(pollUntil([&] { return shared->failed_appends >= 3; }));
  EXPECT_EQ(h.durable, 0) << "answered from the spill after a group that is not in it";
  EXPECT_EQ(std::filesystem::file_size(path), 0u);
  shared->failing = false;
  ASSERT_TRUE(pollUntil([&] { return h.durable == 2; }));
  // Once those are stored, the spill answers again.
  h.submit(3);
  ASSERT_TRUE(pollUntil([&] { return h.durable == 3; }));
  EXPECT_GT(std::filesystem::file_size(path), 0u);
  h.writer->stop();
  EXPECT_TRUE(h.chainOk(3));
}

TEST(AuditSpillWriter, OlderEntriesLeftBehindARestartAreNotCommittedAgain) {
  TempDir dir;
  const std::string path = dir.file("eu.spill");
  auto shared = std::make_shared<FakeStore::Shared>();
  auto recs = chained(1, 4);
  {
    // [1] and [2-3], both committed; then [4] at offset 0, over [1] (the same size), not
    // committed: the file reads [4] then the older [2-3].
    auto f = openSpill(path);
    ASSERT_TRUE(f);
    ASSERT_GT(f->append(recs, 0, 1), 0u);
    f->committed(f->append(recs, 1, 3));
    ASSERT_GT(f->append(recs, 3, 4), 0u);
    auto groups = readBack(*f);
    ASSERT_EQ(groups.size(), 2u);
    ASSERT_EQ(groups[1].first_seq, 2);
    std::lock_guard lk(shared->mu);
    for (int i = 0; i < 3; ++i) shared->rows[{"replica-a", i + 1}] = recs[i];
  }
  // The fake store refuses a seq it holds: committing [2-3] again would fail prepare().
  SpillHarness h(shared, path, 5000);
  EXPECT_EQ(h.rows(), 4u);
  EXPECT_TRUE(h.chainOk(4));
  h.writer->stop();
}

}  // namespace
}  // namespace regiongate::audit
