#pragma once
// One jurisdiction's writer: a bounded queue fed by request threads and one writer thread that
// owns the Store, assigns the hash chain and commits in groups (docs/audit.md).
//
// Hand-off: a mutex + condition variable MPSC queue. The critical section on the request path is
// one deque push and a counter check (no I/O, no allocation beyond the deque's block), and the
// writer holds the lock only to move up to batch_max records out, so contention stays small next
// to the per-record work; bench/audit_bench.cc measures submit() under concurrency.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "audit/spill.h"
#include "audit/store.h"
#include "common/clock.h"

namespace regiongate::audit {

// Receives durability outcomes in bulk, on the writer thread: one call per listener per committed
// (or dropped) group, naming the cookies given at submission. The gateway has one per worker and so
// posts one completion per worker per group commit instead of one per record.
class DurabilityListener {
 public:
  virtual ~DurabilityListener() = default;
  virtual void onDurable(std::vector<uint64_t> cookies, bool durable) = 0;
};

// Collects cookies per listener and reports each listener once (StoreWriter, AuditLog::submitMany).
class ListenerBatch {
 public:
  void add(DurabilityListener* listener, uint64_t cookie);
  void send(bool durable);  // one onDurable call per listener, then empty

 private:
  std::vector<std::pair<DurabilityListener*, std::vector<uint64_t>>>
      groups_;  // few listeners: linear
};

class StoreWriter;

// A request that will hand its store a record (StoreWriter::expect, AuditLog::expect): admitted,
// not yet submitted. While a writer lingers for its batch to fill (flush_interval_ms), these are
// the records that may still join it; once none is left (every admitted request's record is
// queued, as with one sequential client) it commits at once instead of waiting out the interval.
// Move-only. Handed over with its record (Submission::expected), or dropped when the request ends
// without one (reset(), the destructor). Must not outlive its writer (the gateway's requests end
// before its AuditLog is destroyed).
class Expectation {
public:
  Expectation() = default;
  Expectation(Expectation&& o) noexcept : w_(std::exchange(o.w_, nullptr)) {}
  Expectation& operator=(Expectation&& o) noexcept {
    if (this != &o) {
      reset();
      w_ = std::exchange(o.w_, nullptr);
    }
    return *this;
  }
  Expectation(const Expectation&) = delete;
  Expectation& operator=(const Expectation&) = delete;
  ~Expectation() { reset(); }
  // No record will come: the writer stops counting on it.
  void reset();
  StoreWriter* writer() const { return w_; }
  // Given up by the writer that accounts for it itself (StoreWriter::submitMany).
  void release() { w_ = nullptr; }

private:
  friend class StoreWriter;  // the only one that counts an Expectation in (expect())
  explicit Expectation(StoreWriter* w) : w_(w) {}
  StoreWriter* w_ = nullptr;
};

// One record handed over in bulk (AuditLog::submitMany). listener may be null (no notification).
// expected: the request's Expectation, if it took one (released when its writer takes the
// record, dropped otherwise).
struct Submission {
  Record rec;
  DurabilityListener* listener = nullptr;
  uint64_t cookie = 0;
  Expectation expected;
};

struct WriterOptions {
  size_t queue_capacity = 65536;     // records queued or in flight, not yet durable
  size_t batch_max = 512;            // records per transaction
  int64_t flush_interval_ms = 0;    // longest a record waits for its batch to fill (ends early
                                     // when no expected record is left, see Expectation)
  bool reject_when_failing = true;   // on_audit_failure: reject (admit() false) | drop
  std::string replica_id;
  std::string checkpoint_key;        // "" = checkpoints unsigned
  int64_t checkpoint_interval_ms = 10000;
  int64_t stop_timeout_ms = 5000;
  int64_t backoff_min_ms = 20;       // retry delay after a store failure, doubling...
  int64_t backoff_max_ms = 1000;     // ...up to this
};

class StoreWriter {
public:
  using OnDurable = std::function<void(bool durable)>;

  // Thread affinity: `store` is used only by the writer thread after start().
  StoreWriter(std::string jurisdiction, std::unique_ptr<Store> store, WriterOptions opts,
              const Clock& clock);
  ~StoreWriter();
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  // Before prepare(): answer records once they are in `spill` (spill.h) and commit them to the
  // store on a second thread. Only for a local store whose chain this process alone writes.
  void setSpill(std::unique_ptr<SpillFile> spill) { spill_ = std::move(spill); }
  // Opens the store and reads the chain head once, on the caller's thread; with a spill, first
  // commits what a previous process left in it. Failure is returned (the writer still starts
  // unhealthy and keeps retrying if start() is called).
  Status prepare();
  void start();
  // Any thread; lock-free.
  bool admit() const;
  // Any thread; lock-free (one atomic increment). See Expectation.
  Expectation expect();
  // Any thread; never blocks on I/O.
  bool submit(Record rec, OnDurable on_durable);
  // Any thread; never blocks on I/O. Takes (moves out) the submissions in [begin, end) whose
  // `taken` flag is false and whose jurisdiction is this writer's, under one lock and with at
  // most one wake-up of the writer. Dropped ones (queue full, stopping) are reported to their
  // listeners as not durable. Returns how many were taken.
  size_t submitMany(std::vector<Submission>& subs, std::vector<uint8_t>& taken);
  // Drains for at most stop_timeout_ms, writes a final checkpoint, joins. Idempotent.
  void stop();

  const std::string& jurisdiction() const { return jurisdiction_; }
  std::string sink() const { return sink_; }
  bool healthy() const { return healthy_.load(std::memory_order_acquire); }
  size_t queueDepth() const { return depth_.load(std::memory_order_relaxed); }
  // Group commits so far (transactions that committed records); written() / commits() is the
  // mean group size.
  uint64_t commits() const { return commits_.load(std::memory_order_relaxed); }
  uint64_t written() const { return written_.load(std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  std::string lastError() const;

private:
  friend class Expectation;
  void unexpect();  // Expectation::reset

  struct Pending {
    Record rec;
    OnDurable cb;
    DurabilityListener* listener = nullptr;
    uint64_t cookie = 0;
    bool announced = false;  // its request took an Expectation
  };

  void run();
  // Chains `batch` after head_ and commits it (with a checkpoint when due). True on commit.
  bool commit(std::vector<Pending>& batch, bool final_checkpoint);
  // Assigns seq, prev_hash and hash after `head` and advances it.
  void chain(std::vector<Pending>& batch, ChainHead& head) const;
  // The signed checkpoint to store with a commit ending at `last`, if one is due.
  std::optional<Checkpoint> dueCheckpoint(const ChainHead& last, bool final_checkpoint) const;
  void noteCheckpoint(const Checkpoint& cp);

  // With a spill: records chained and handed to the committing thread.
  struct Handed {
    std::vector<Record> recs;
    std::vector<Pending> waiting;  // not in the spill: answered when committed
    uint64_t spill_end = 0;        // SpillFile position after its last spilled entry (0: none)
    bool unspilled = false;        // counted in unspilled_ until committed
  };
  Status recoverSpill();
  // Writer thread: chains, spills, answers what the spill holds, hands the batch on.
  void spillAndHandOff(std::vector<Pending>& batch);
  void runCommitter();
  // Committing thread: commits `work` (retrying with backoff until it commits or the stop
  // deadline passes); true when committed.
  bool commitHanded(std::vector<Handed>& work, bool final_checkpoint);
  void settleHanded(std::vector<Handed>& work, bool committed);
  void stopCommitter();
  bool loadHead();
  void fail(const std::string& message);
  void finish(std::vector<Pending>& batch, bool durable);
  static void notify(std::vector<Pending>& batch, bool durable);
  bool wakeWriterLocked();  // mu_ held

  const std::string jurisdiction_;
  const std::string sink_;
  std::unique_ptr<Store> store_;
  const WriterOptions opts_;
  const Clock& clock_;

  // Writer-thread state.
  bool head_loaded_ = false;
  ChainHead head_;
  int64_t last_checkpoint_seq_ = 0;
  int64_t last_checkpoint_nanos_ = 0;

  // Shared state.
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  size_t unannounced_ = 0;  // queued records without an Expectation (lingerOverLocked)
  bool stopping_ = false;
  bool started_ = false;
  // What the sleeping writer waits for; submitters notify cv_ only when that is met, so a busy
  // writer costs its submitters no futex call.
  enum class Wait { No, AnyRecord, FullBatch };
  bool lingerOverLocked() const;  // mu_ held: the batch is full or nothing more is expected
  Wait writer_waits_ = Wait::No;
  std::chrono::steady_clock::time_point stop_deadline_;
  mutable std::mutex error_mu_;
  std::string last_error_;

  std::atomic<bool> healthy_{true};
  std::atomic<size_t> depth_{0};
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> commits_{0};
  // Incremented lock-free (expect); decremented under mu_ (submitMany, unexpect) so that a
  // lingering writer's wake-up condition cannot be missed. A missed increment only ends a
  // linger early.
  std::atomic<int64_t> expected_{0};
  std::atomic<uint64_t> dropped_{0};
  std::thread thread_;

  // The spill and its committing thread (setSpill). handed_ and committer_stop_ under handed_mu_.
  std::unique_ptr<SpillFile> spill_;
  std::mutex handed_mu_;
  std::condition_variable handed_cv_;
  std::vector<Handed> handed_;
  // Groups handed on that are not (wholly) in the spill and not yet stored (spillAndHandOff).
  std::atomic<uint64_t> unspilled_{0};
  bool committer_stop_ = false;
  std::chrono::steady_clock::time_point committer_deadline_;
  ChainHead committed_head_;  // committing thread
  std::thread committer_;
};

}  // namespace regiongate::audit
