#include "audit/wal_checkpointer.h"

#include <pthread.h>
#include <sched.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace regiongate::audit {

WalCheckpointer::WalCheckpointer(Options opts) : opts_(std::move(opts)) {}

WalCheckpointer::~WalCheckpointer() { stop(); }

Status WalCheckpointer::start() {
  if (db_) return {};
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;  // only its own thread uses it
  int rc = sqlite3_open_v2(opts_.path.c_str(), &db_, flags, nullptr);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(db_, 200);
    const std::string sync = "PRAGMA synchronous=" + opts_.synchronous + ";";
    rc = sqlite3_exec(db_, sync.c_str(), nullptr, nullptr, nullptr);
  }
  if (rc != SQLITE_OK) {
    std::string msg = opts_.path + ": checkpoint connection: " + sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    return Error{ErrorSource::Internal, "audit_store_failed", std::move(msg), true};
  }
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
  return {};
}

void WalCheckpointer::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (db_) sqlite3_close_v2(db_);
  db_ = nullptr;
}

bool WalCheckpointer::dueLocked() const {
  // A WAL that was restarted holds only new frames (backfilled_ is reset then, noteCommit).
  const int waiting = wal_frames_ - backfilled_;
  return waiting >= opts_.threshold_pages;
}

void WalCheckpointer::noteCommit(int wal_frames) {
  std::unique_lock lk(mu_);
  // Frames only grow within one WAL; fewer means the WAL was rewound to its start.
  if (wal_frames < wal_frames_) {
    backfilled_ = 0;
    ++generation_;
  }
  wal_frames_ = wal_frames;
  ++commits_;
  const bool wake = sleeping_ && dueLocked();
  if (wake) sleeping_ = false;  // one notify per sleep
  lk.unlock();
  if (wake) cv_.notify_one();
}

void WalCheckpointer::run() {
  // Background work nobody waits for: SCHED_IDLE runs it only on CPU time no other thread
  // wants, so its bursts (a 1 000-page copy into the database) never delay a worker waking on
  // its CPU (with the writer three nice levels down, StoreWriter::giveWayToTheWorkers, one
  // client's p99 no longer pays for the audit: docs/benchmarks.md, "The checkpointer on idle
  // CPU, the writer three nice levels down"). Starved, it cannot hold back the store: the
  // writer checkpoints itself when the WAL reaches its bound or a commit has waited
  // SqliteStore::kCheckpointOverdueNanos for a checkpoint (SqliteStore::maintain).
  sched_param param{};
  (void)pthread_setschedparam(pthread_self(), SCHED_IDLE, &param);
  pthread_setname_np(pthread_self(), "rg-audit-ckpt");
  using Clock = std::chrono::steady_clock;
  // After a failed checkpoint (the writer checkpointing itself: BUSY; a disk error) the next
  // try waits this long instead of spinning while the WAL is still over the threshold.
  constexpr auto kRetryDelay = std::chrono::milliseconds(100);
  auto next_timed = Clock::now() + opts_.interval;
  Clock::time_point not_before{};
  std::unique_lock lk(mu_);
  while (!stopping_) {
    const bool backing_off = Clock::now() < not_before;
    sleeping_ = true;
    cv_.wait_until(lk, backing_off ? std::min(not_before, next_timed) : next_timed,
                   [&] { return stopping_ || (!backing_off && dueLocked()); });
    sleeping_ = false;
    if (stopping_) break;
    const auto now = Clock::now();
    if (now < not_before) continue;
    const bool timed = now >= next_timed;
    if (timed) next_timed = now + opts_.interval;
    if (!dueLocked() && !(timed && commits_ != commits_at_checkpoint_)) continue;
    const uint64_t commits = commits_;
    const uint64_t generation = generation_;
    lk.unlock();
    const int backfilled = checkpoint();
    lk.lock();
    if (backfilled < 0) {
      not_before = Clock::now() + kRetryDelay;
      continue;
    }
    commits_at_checkpoint_ = commits;
    // Only frames of the WAL the checkpoint saw count; a WAL rewound meanwhile starts at 0.
    if (generation == generation_) backfilled_ = backfilled;
    next_timed = Clock::now() + opts_.interval;
  }
}

int WalCheckpointer::checkpoint() {
  if (opts_.before_checkpoint) opts_.before_checkpoint();
  int log = 0, done = 0;
  const int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
  report(rc);
  if (rc != SQLITE_OK) return -1;
  checkpoints_.fetch_add(1, std::memory_order_relaxed);
  return done;
}

void WalCheckpointer::report(int rc) {
  // BUSY: the writer (or `audit prune`) is checkpointing itself, routine. Anything else (disk
  // full, I/O error) is said once when it starts and once when it ends: the WAL grows meanwhile
  // up to the store's bound, where the writer checkpoints itself and its commits see the error.
  if (rc == SQLITE_BUSY) return;
  const bool failing = rc != SQLITE_OK;
  if (failing == failing_) return;
  failing_ = failing;
  if (failing)
    spdlog::warn("audit store {}: background WAL checkpoint failed: {}", opts_.path,
                 sqlite3_errmsg(db_));
  else
    spdlog::info("audit store {}: background WAL checkpoint succeeded again", opts_.path);
}

}  // namespace regiongate::audit
