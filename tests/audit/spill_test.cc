// The workers' spills (src/audit/spill.h): the file format read back, the ring and its marks, and
// a writer that marks what it stored, leaves the rest behind when it cannot commit, and whose
// successor stores exactly what was left.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

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
using testing::TempDir;

std::unique_ptr<SpillFile> openSpill(const std::string& path, uint64_t capacity = 1 << 20) {
  auto f = SpillFile::open(path, capacity);
  EXPECT_TRUE(f.ok()) << f.error().message;
  if (!f.ok()) return nullptr;
  EXPECT_TRUE(f.value()->clear().ok());  // a fresh file gets its head
  return std::move(f.value());
}

// The request ids of what recovery would read from `path` (a fresh reader, as after a crash).
std::vector<std::string> readBack(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> ids;
  for (const Record& r : parseSpill(bytes).records) ids.push_back(r.request_id);
  return ids;
}

std::vector<std::string> ids(std::initializer_list<int> is) {
  std::vector<std::string> out;
  for (int i : is) out.push_back("req-" + std::to_string(i));
  return out;
}

TEST(AuditSpill, RecordsReadBackWholeUpToTheFirstDamagedOne) {
  TempDir dir;
  const std::string path = dir.file("eu.spill");
  auto f = openSpill(path);
  ASSERT_TRUE(f);
  uint64_t end2 = 0;
  for (int i = 1; i <= 3; ++i) {
    const uint64_t end = f->append(makeRecord(i));
    ASSERT_GT(end, 0u);
    if (i == 2) end2 = end;
  }
  EXPECT_EQ(readBack(path), ids({1, 2, 3}));
  auto recs = f->recover();
  ASSERT_TRUE(recs.ok());
  ASSERT_EQ(recs->size(), 3u);
  const Record want = makeRecord(2);
  const Record& got = (*recs)[1];
  EXPECT_EQ(got.prompt_text, want.prompt_text);
  EXPECT_EQ(got.attempts.size(), want.attempts.size());
  EXPECT_EQ(got.ts_us, want.ts_us);
  EXPECT_EQ(got.violation, want.violation);
  // One byte changed inside the last entry: the first two are read.
  {
    std::fstream io(path, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(static_cast<std::streamoff>(64 + end2 + 40));
    io.put('#');
  }
  EXPECT_EQ(readBack(path), ids({1, 2}));
  // Cut inside the first entry: nothing.
  ASSERT_EQ(truncate(path.c_str(), 64 + 30), 0);
  EXPECT_TRUE(readBack(path).empty());
}

TEST(AuditSpill, CommittedRecordsAreNotReadBack) {
  TempDir dir;
  const std::string path = dir.file("eu.spill");
  auto f = openSpill(path);
  ASSERT_TRUE(f);
  f->append(makeRecord(1));
  const uint64_t end2 = f->append(makeRecord(2));
  const uint64_t end3 = f->append(makeRecord(3));
  EXPECT_EQ(f->pendingBytes(), end3);
  f->committed(end2);
  EXPECT_EQ(f->pendingBytes(), end3 - end2);
  EXPECT_EQ(readBack(path), ids({3})) << "the mark is on file";
  f->committed(end3);
  EXPECT_TRUE(readBack(path).empty());
  EXPECT_EQ(f->pendingBytes(), 0u);
}

// Records of one size (request ids req-1 .. req-9).
Record sameSize(int i) {
  Record r = makeRecord(1);
  r.request_id = "req-" + std::to_string(i);
  return r;
}

TEST(AuditSpill, TheRingWrapsAndOlderLapsAreNotReadAgain) {
  TempDir dir;
  const std::string path = dir.file("eu.spill");
  const uint64_t entry = [&] {  // the size of one entry of these records
    TempDir d;
    auto probe = openSpill(d.file("p"));
    return probe->append(sameSize(1));
  }();
  // Room for two entries and a half: the third goes to the start of the next lap.
  auto f = openSpill(path, entry * 5 / 2);
  ASSERT_TRUE(f);
  const uint64_t e1 = f->append(sameSize(1));
  const uint64_t e2 = f->append(sameSize(2));
  ASSERT_EQ(e2, 2 * entry);
  EXPECT_EQ(f->append(sameSize(3)), 0u) << "full: nothing committed yet";
  f->committed(e1);
  const uint64_t e3 = f->append(sameSize(3));
  EXPECT_EQ(e3, entry * 5 / 2 + entry) << "placed at the next lap, over record 1";
  EXPECT_EQ(readBack(path), ids({2, 3}));
  f->committed(e3);
  EXPECT_TRUE(readBack(path).empty()) << "record 2, left behind in the ring, is not read again";
  // Another lap: record 4 over the old record 2.
  ASSERT_GT(f->append(sameSize(4)), e3);
  EXPECT_EQ(readBack(path), ids({4}));
  Record huge = sameSize(5);
  huge.prompt_text = std::string(entry * 3, 'p');
  EXPECT_EQ(f->append(huge), 0u) << "larger than the whole ring";
}

TEST(AuditSpill, NothingReadBackIsTrusted) {
  EXPECT_TRUE(parseSpill("").records.empty());
  EXPECT_TRUE(parseSpill(std::string(4096, 'x')).records.empty());
  std::string head = encodeSpillHead(1 << 20, 0);
  std::string bad_head = head;
  bad_head[20] ^= 1;  // the committed position, without its checksum
  EXPECT_TRUE(parseSpill(bad_head).records.empty());
  EXPECT_TRUE(parseSpill(encodeSpillHead(uint64_t{1} << 40, 0)).records.empty()) << "a huge ring";

  std::string one = "[" + recordToJson(makeRecord(1)) + "]";
  std::string good = head;
  encodeSpillEntry(good, 0, one);
  ASSERT_EQ(parseSpill(good).records.size(), 1u);

  std::string wrong_position = head;
  encodeSpillEntry(wrong_position, 4096, one);  // an entry from another lap
  EXPECT_TRUE(parseSpill(wrong_position).records.empty());

  std::string two_records = head;
  encodeSpillEntry(two_records, 0, "[" + recordToJson(makeRecord(1)) + "," +
                                       recordToJson(makeRecord(2)) + "]");
  EXPECT_TRUE(parseSpill(two_records).records.empty());

  std::string not_json = head;
  encodeSpillEntry(not_json, 0, "[{\"request_id\": ");
  EXPECT_TRUE(parseSpill(not_json).records.empty());

  Record chained = makeRecord(1);
  chained.prev_hash = std::string(kGenesisHash);  // a spilled record is not chained yet
  std::string forged = head;
  encodeSpillEntry(forged, 0, "[" + recordToJson(chained) + "]");
  EXPECT_TRUE(parseSpill(forged).records.empty());
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

TEST(AuditSpill, PathsDifferByDirectoryReplicaJurisdictionAndWorker) {
  const std::string a = spillPath("/dev/shm", "/var/lib/rg/audit", "pod-1", "EU", 0);
  EXPECT_EQ(a, spillPath("/dev/shm", "/var/lib/rg/audit", "pod-1", "EU", 0));
  EXPECT_NE(a, spillPath("/dev/shm", "/var/lib/rg/other", "pod-1", "EU", 0));
  EXPECT_NE(a, spillPath("/dev/shm", "/var/lib/rg/audit", "pod-2", "EU", 0));
  EXPECT_NE(a, spillPath("/dev/shm", "/var/lib/rg/audit", "pod-1", "US", 0));
  EXPECT_NE(a, spillPath("/dev/shm", "/var/lib/rg/audit", "pod-1", "EU", 1));
  EXPECT_EQ(a.rfind("/dev/shm/regiongate-audit-", 0), 0u);

  TempDir spills, audit_dir;
  std::vector<std::string> eu;
  for (size_t w : {0, 1, 7}) {
    eu.push_back(spillPath(spills.path(), audit_dir.path(), "pod-1", "EU", w));
    std::ofstream(eu.back()) << "";
  }
  for (const auto& other : {spillPath(spills.path(), audit_dir.path(), "pod-1", "EU.x", 0),
                            spillPath(spills.path(), audit_dir.path(), "pod-2", "EU", 0),
                            spills.file("unrelated.spill")})
    std::ofstream(other) << "";
  std::sort(eu.begin(), eu.end());
  EXPECT_EQ(spillsOf(spills.path(), audit_dir.path(), "pod-1", "EU"), eu);
}

TEST(AuditSpill, LeftSpillsAreThoseWithRecordsThatNoProcessHolds) {
  TempDir spills, audit_dir, other_dir;
  const std::string path = spillPath(spills.path(), audit_dir.path(), "pod-1", "EU", 0);
  {
    auto f = openSpill(path);
    ASSERT_TRUE(f);
    EXPECT_TRUE(leftSpills(spills.path(), audit_dir.path()).empty()) << "empty";
    ASSERT_GT(f->append(makeRecord(1)), 0u);
    EXPECT_TRUE(leftSpills(spills.path(), audit_dir.path()).empty()) << "held by its writer";
  }
  EXPECT_EQ(leftSpills(spills.path(), audit_dir.path()), std::vector<std::string>{path});
  EXPECT_TRUE(leftSpills(spills.path(), other_dir.path()).empty());
  EXPECT_TRUE(leftSpills("", audit_dir.path()).empty());
}

// A writer with two workers' spills over a store that a test can make fail. Records go in as the
// gateway's workers hand them over: spilled first, then submitted with their spill position.
struct SpillHarness {
  std::shared_ptr<FakeStore::Shared> shared;
  std::unique_ptr<StoreWriter> writer;
  std::vector<SpillFile*> spills;

  SpillHarness(std::shared_ptr<FakeStore::Shared> s, const std::vector<std::string>& own,
               const std::vector<std::string>& left, WriterOptions o = {})
      : shared(std::move(s)) {
    o.replica_id = "replica-a";
    if (o.batch_max == WriterOptions{}.batch_max) o.batch_max = 8;
    writer = std::make_unique<StoreWriter>("EU", std::make_unique<FakeStore>(shared), o,
                                           SystemClock::instance());
    std::vector<std::unique_ptr<SpillFile>> own_files, left_files;
    for (const auto& p : own) {
      auto f = SpillFile::open(p);
      EXPECT_TRUE(f.ok());
      spills.push_back(f.value().get());
      own_files.push_back(std::move(f.value()));
    }
    for (const auto& p : left) left_files.push_back(std::move(SpillFile::open(p).value()));
    writer->setSpills(std::move(own_files), std::move(left_files));
    EXPECT_TRUE(writer->prepare().ok());
    writer->start();
  }
  // Worker `w` answers request i: its record is in the spill.
  void answer(int i, size_t w = 0, Expectation expected = {}) {
    Record r = makeRecord(i);
    const uint64_t end = spills[w]->append(r);
    ASSERT_GT(end, 0u);
    std::vector<Submission> subs;
    subs.push_back(Submission{std::move(r), nullptr, 0, std::move(expected), spills[w], end});
    std::vector<uint8_t> taken(1, 0);
    EXPECT_EQ(writer->submitMany(subs, taken), 1u);
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

TEST(AuditSpillWriter, MarksWhatItStoredAndTheNextWriterStoresWhatWasLeft) {
  TempDir dir;
  const std::vector<std::string> paths{dir.file("EU.0.spill"), dir.file("EU.1.spill")};
  auto shared = std::make_shared<FakeStore::Shared>();
  WriterOptions o;
  o.stop_timeout_ms = 0;
  o.queue_capacity = 4;  // answered records go past it: they are never dropped
  {
    SpillHarness h(shared, paths, {}, o);
    for (int i = 1; i <= 6; ++i) h.answer(i, i % 2);
    ASSERT_TRUE(pollUntil([&] { return h.rows() == 6; }));
    ASSERT_TRUE(pollUntil([&] { return h.spills[0]->pendingBytes() + h.spills[1]->pendingBytes() == 0; }));
    EXPECT_TRUE(readBack(paths[0]).empty() && readBack(paths[1]).empty());
    shared->failing = true;  // the store fails: the records stay in the spills
    for (int i = 7; i <= 40; ++i) h.answer(i, i % 2);
    ASSERT_TRUE(pollUntil([&] { return !h.writer->healthy(); }));
    EXPECT_FALSE(h.writer->admit());
    h.writer->stop();  // no time to commit
    EXPECT_EQ(h.writer->dropped(), 34u) << "not stored by this process";
    EXPECT_EQ(readBack(paths[0]).size() + readBack(paths[1]).size(), 34u);
  }
  shared->failing = false;
  EXPECT_EQ(shared->rows.size(), 6u);
  SpillHarness next(shared, paths, {});
  EXPECT_EQ(next.rows(), 40u);
  EXPECT_TRUE(next.chainOk(40));
  EXPECT_TRUE(readBack(paths[0]).empty() && readBack(paths[1]).empty());
  next.answer(41);  // the chain goes on after the recovered records
  ASSERT_TRUE(pollUntil([&] { return next.rows() == 41; }));
  next.writer->stop();
  EXPECT_TRUE(next.chainOk(41));
  EXPECT_FALSE(std::filesystem::exists(paths[0])) << "a clean stop removes the spills";
  EXPECT_FALSE(std::filesystem::exists(paths[1]));
}

// A process that died between a commit and the mark after it: the records it stored are still
// past the mark, and are not stored twice.
TEST(AuditSpillWriter, RecordsStoredBeforeTheMarkMovedAreNotStoredAgain) {
  TempDir dir;
  const std::string path = dir.file("EU.0.spill");
  auto shared = std::make_shared<FakeStore::Shared>();
  {
    auto f = openSpill(path);
    ASSERT_TRUE(f);
    for (int i = 1; i <= 5; ++i) ASSERT_GT(f->append(makeRecord(i)), 0u);
  }
  {
    // Records 1-3 stored (by a writer with no spill: the same chain), the mark never moved.
    SpillHarness first(shared, {}, {});
    for (int i = 1; i <= 3; ++i) first.writer->submit(makeRecord(i), {});
    ASSERT_TRUE(pollUntil([&] { return first.rows() == 3; }));
    first.writer->stop();
  }
  SpillHarness next(shared, {path}, {});
  EXPECT_EQ(next.rows(), 5u);
  EXPECT_TRUE(next.chainOk(5));
  std::set<std::string> stored;
  for (auto& [k, r] : shared->rows) stored.insert(r.request_id);
  EXPECT_EQ(stored.size(), 5u) << "a request stored twice";
}

TEST(AuditSpillWriter, ASpillLeftByAPredecessorWithMoreWorkersIsStoredAndRemoved) {
  TempDir dir;
  const std::string own = dir.file("EU.0.spill"), left = dir.file("EU.3.spill");
  {
    auto f = openSpill(left);
    ASSERT_TRUE(f);
    for (int i = 1; i <= 4; ++i) ASSERT_GT(f->append(makeRecord(i)), 0u);
  }
  auto shared = std::make_shared<FakeStore::Shared>();
  SpillHarness h(shared, {own}, {left});
  EXPECT_EQ(h.rows(), 4u);
  EXPECT_TRUE(h.chainOk(4));
  EXPECT_FALSE(std::filesystem::exists(left));
  h.writer->stop();
}

// Nobody waits for a spilled record: the writer lets its group fill for the whole flush interval
// (fewer commits and wake-ups) even when every announced record has arrived, which ends the
// linger for records that requests wait for (AuditWriter.LingerEndsOnceEveryAnnouncedRecordIsQueued).
TEST(AuditSpillWriter, SpilledRecordsFillTheirGroupForTheWholeFlushInterval) {
  TempDir dir;
  auto shared = std::make_shared<FakeStore::Shared>();
  WriterOptions o;
  o.flush_interval_ms = 2000;
  SpillHarness h(shared, {dir.file("EU.0.spill")}, {}, o);
  h.answer(1, 0, h.writer->expect());
  // Every announced record is queued: a record a request waited for would be committed now.
  EXPECT_FALSE(pollUntil([&] { return h.rows() > 0; }, std::chrono::milliseconds(500)));
  for (int i = 2; i <= 3; ++i) h.answer(i, 0, h.writer->expect());
  ASSERT_TRUE(pollUntil([&] { return h.rows() == 3; }));
  EXPECT_EQ(h.writer->commits(), 1u) << "one group for the three";
  h.writer->stop();
}

TEST(AuditSpillWriter, TheWriterRunsUnderTheWorkersPriorityOnlyWithSpills) {
  const int own = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
  TempDir dir;
  auto shared = std::make_shared<FakeStore::Shared>();
  {
    SpillHarness h(shared, {dir.file("EU.0.spill")}, {});
    h.answer(1);
    ASSERT_TRUE(pollUntil([&] { return h.rows() == 1; }));  // its thread is past its start
    const pid_t tid = testing::threadNamed("rg-audit-EU");
    ASSERT_NE(tid, 0);
    EXPECT_EQ(testing::threadNice(tid), std::min(19, own + StoreWriter::kNiceUnderWorkers));
    h.writer->stop();
  }
  // Without spills, answers wait for the writer: it keeps the workers' priority.
  StoreWriter plain("EU", std::make_unique<FakeStore>(shared), WriterOptions{},
                    SystemClock::instance());
  ASSERT_TRUE(plain.prepare().ok());
  plain.start();
  std::vector<Submission> subs;
  subs.push_back(Submission{makeRecord(2), nullptr, 0, {}, nullptr, 0});
  std::vector<uint8_t> taken(1, 0);
  ASSERT_EQ(plain.submitMany(subs, taken), 1u);
  ASSERT_TRUE(pollUntil([&] {
    std::lock_guard lk(shared->mu);
    return shared->rows.size() == 2;
  }));
  const pid_t tid = testing::threadNamed("rg-audit-EU");
  ASSERT_NE(tid, 0);
  EXPECT_EQ(testing::threadNice(tid), own);
  plain.stop();
}

}  // namespace
}  // namespace regiongate::audit
