// Crash test at the audit level (the gateway-level one is the lead's): a child process "answers"
// each request (prints `ack <id>`) as the gateway's worker does: once its record is in the
// worker's spill, or, when the spill has no room, once on_durable(true) says it is stored. The
// test SIGKILLs it at a random moment, restarts it, and checks that every answered request is
// in the store once a writer has started again on it (the spills' records are stored then),
// none is stored twice, and every chain verifies.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <set>
#include <sstream>

#include "audit/audit_log.h"
#include "audit/sqlite_store.h"
#include "audit/verify.h"
#include "test_util.h"

namespace regiongate::audit {
namespace {

using testing::makeRecord;
using testing::pollUntil;
using testing::TempDir;

constexpr const char* kDirEnv = "RG_AUDIT_CRASH_DIR";
constexpr const char* kRunEnv = "RG_AUDIT_CRASH_RUN";

// The child. Runs only when the parent asks for it (--gtest_also_run_disabled_tests).
TEST(AuditCrashChild, DISABLED_SubmitForever) {
  const char* dir = std::getenv(kDirEnv);
  const char* run = std::getenv(kRunEnv);
  ASSERT_TRUE(dir && run);
  Config cfg = testing::sqliteConfig(dir, {"EU", "US"});
  cfg.audit.durability = AuditDurability::Normal;
  auto log = AuditLog::open(cfg, SystemClock::instance());
  ASSERT_TRUE(log.ok()) << log.error().message;
  // Bounded: the parent kills us long before this ends.
  for (int i = 1; i <= 2'000'000; ++i) {
    Record r = makeRecord(i, i % 2 ? "EU" : "US");
    r.request_id = std::string(run) + "-" + std::to_string(i);
    std::string line = "ack " + r.request_id + "\n";
    while (!(*log)->admit(r.jurisdiction)) std::this_thread::yield();
    if (SpillFile* spill = (*log)->spillFor(r.jurisdiction, 0)) {
      if (const uint64_t end = spill->append(r)) {
        (void)!write(1, line.data(), line.size());  // one write(2): atomic on a pipe
        std::vector<Submission> subs;
        subs.push_back(Submission{std::move(r), nullptr, 0, {}, spill, end});
        (*log)->submitMany(subs);
        continue;
      }
    }
    (*log)->submit(std::move(r), [line](bool ok) {
      if (ok) (void)!write(1, line.data(), line.size());
    });
    if (i % 64 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

struct Child {
  pid_t pid = -1;
  int out = -1;
};

Child spawnChild(const std::string& dir, const std::string& run) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    setenv(kDirEnv, dir.c_str(), 1);
    setenv(kRunEnv, run.c_str(), 1);
    execl("/proc/self/exe", "test_audit", "--gtest_also_run_disabled_tests",
          "--gtest_filter=AuditCrashChild.DISABLED_SubmitForever", (char*)nullptr);
    _exit(127);
  }
  close(fds[1]);
  return Child{pid, fds[0]};
}

// What a restarted gateway does first: its writers commit what the killed process answered from
// its spill (src/audit/spill.h) but had not stored yet.
void restartOnTheSameDirectory(const std::string& dir) {
  Config cfg = testing::sqliteConfig(dir, {"EU", "US"});
  cfg.audit.durability = AuditDurability::Normal;
  auto log = AuditLog::open(cfg, SystemClock::instance());
  ASSERT_TRUE(log.ok()) << log.error().message;
  (*log)->stop();
}

TEST(AuditCrash, SigkillLosesNoAnsweredRequestAndChainsVerify) {
  TempDir dir;
  std::mt19937 rng(std::random_device{}());
  std::set<std::string> acked;
  for (int run = 1; run <= 3; ++run) {
    Child child = spawnChild(dir.path(), "run" + std::to_string(run));
    ASSERT_GT(child.pid, 0);
    const size_t kill_after = 200 + rng() % 3000;  // the random moment
    std::string buf;
    size_t acks_this_run = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    char chunk[4096];
    while (acks_this_run < kill_after && std::chrono::steady_clock::now() < deadline) {
      ssize_t n = read(child.out, chunk, sizeof(chunk));
      if (n <= 0) break;
      buf.append(chunk, static_cast<size_t>(n));
      size_t pos;
      while ((pos = buf.find('\n')) != std::string::npos) {
        std::string line = buf.substr(0, pos);
        buf.erase(0, pos + 1);
        if (line.rfind("ack ", 0) == 0) {
          acked.insert(line.substr(4));
          ++acks_this_run;
        }
      }
    }
    ASSERT_GE(acks_this_run, kill_after) << "child stopped acknowledging (run " << run << ")";
    ASSERT_EQ(kill(child.pid, SIGKILL), 0);
    int st = 0;
    ASSERT_EQ(waitpid(child.pid, &st, 0), child.pid);
    // Answers already written before the kill still count as answered.
    ssize_t n;
    while ((n = read(child.out, chunk, sizeof(chunk))) > 0) buf.append(chunk, static_cast<size_t>(n));
    close(child.out);
    std::istringstream rest(buf);
    for (std::string line; std::getline(rest, line);)
      if (line.rfind("ack ", 0) == 0 && line.size() > 4) acked.insert(line.substr(4));
    std::printf("run %d: killed after %zu answered requests\n", run, acks_this_run);
    restartOnTheSameDirectory(dir.path());

    std::set<std::string> stored;
    size_t twice = 0;
    for (const char* j : {"EU", "US"}) {
      SqliteStore store(dir.file(std::string(j) + ".db"), "normal", true);
      auto reps = verifyStore(store, "");
      ASSERT_TRUE(reps.ok()) << reps.error().message;
      ASSERT_EQ(reps->size(), 1u);
      EXPECT_TRUE(reps->front().ok) << formatReport(reps->front());
      ASSERT_TRUE(store.scan({}, [&](const Record& r) {
        twice += !stored.insert(r.request_id).second;
        return true;
      }).ok());
    }
    EXPECT_EQ(twice, 0u) << "requests stored twice after run " << run;
    size_t missing = 0;
    for (const auto& id : acked) missing += !stored.count(id);
    EXPECT_EQ(missing, 0u) << "answered requests missing from the audit after run " << run;
    EXPECT_GE(stored.size(), acked.size());
  }
}

}  // namespace
}  // namespace regiongate::audit
