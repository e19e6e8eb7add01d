#pragma once
// Background WAL checkpoints for one SQLite audit store: a second connection to the same file,
// owned by its own thread, copies committed WAL frames into the database file (and fsyncs both
// files, as SQLite's checkpoint does) while the writer connection keeps committing.
//
// Why a second connection: a checkpoint's two fsyncs take milliseconds on a disk (3-10 ms on the
// benchmark VM). Run by the writer, even after its answers, they delay every record that arrives
// meanwhile; with the writer's automatic checkpoint off and the checkpoints here, a commit only
// appends to the WAL. PASSIVE checkpoints never take the write lock, so they never block a
// commit (SQLite's WAL locking lets one checkpointer run beside one writer).
//
// What this cannot do alone is restart the WAL: SQLite rewinds the WAL to its start only when a
// write transaction begins with every frame already copied, and a writer that commits during
// every checkpoint never sees that. SqliteStore bounds the WAL for that case (kWalLimitPages):
// the writer then checkpoints itself once (sqlite_store.h).
//
// Thread affinity: noteCommit() from the writer thread; start()/stop() from the owner.
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"

namespace regiongate::audit {

class WalCheckpointer {
public:
  struct Options {
    std::string path;
    std::string synchronous;      // OFF | NORMAL | FULL: the fsyncs of a checkpoint follow it
    int threshold_pages = 1000;   // checkpoint once this many frames wait to be copied
    // ...or once this long has passed since the last checkpoint and a commit came meanwhile:
    // with `normal` durability the checkpoint's WAL fsync is what makes commits survive a power
    // loss, so this bounds how old a commit can be and still be lost to one.
    std::chrono::milliseconds interval{1000};
    // Called on the checkpointer thread before each checkpoint (tests hold a checkpoint here).
    std::function<void()> before_checkpoint;
  };

  explicit WalCheckpointer(Options opts);
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Opens the connection (the database must exist in WAL mode) and starts the thread.
  Status start();
  // Writer thread, after a commit: the WAL now holds `wal_frames` frames. Never blocks on I/O;
  // wakes the thread only when a checkpoint is due.
  void noteCommit(int wal_frames);
  // Finishes the checkpoint in progress, if any, joins and closes. Idempotent.
  void stop();

  uint64_t checkpoints() const { return checkpoints_.load(std::memory_order_relaxed); }

private:
  void run();
  bool dueLocked() const;  // mu_ held
  // One PASSIVE checkpoint; returns the frames copied so far of the current WAL, -1 on failure.
  int checkpoint();
  void report(int rc);

  const Options opts_;
  sqlite3* db_ = nullptr;
  std::thread thread_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool sleeping_ = false;     // the thread waits: the writer notifies only then
  int wal_frames_ = 0;        // the WAL's frames after the newest commit
  int backfilled_ = 0;        // frames of the current WAL copied by the last checkpoint
  uint64_t generation_ = 0;   // WAL restarts seen (a restart resets backfilled_)
  uint64_t commits_ = 0;      // commits noted so far
  uint64_t commits_at_checkpoint_ = 0;

  bool failing_ = false;  // checkpointer thread only
  std::atomic<uint64_t> checkpoints_{0};
};

}  // namespace regiongate::audit
