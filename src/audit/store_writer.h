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
// spill: the worker's spill that holds the record (spill.h), and spill_end the position after
// it; the writer marks it committed there once stored. Its request did not wait (no listener).
struct Submission {
  Record rec;
  DurabilityListener* listener = nullptr;
  uint64_t cookie = 0;
  Expectation expected;
  SpillFile* spill = nullptr;
  uint64_t spill_end = 0;
};

struct WriterOptions {
  size_t queue_capacity = 65536;     // records queued or in flight, not yet durable
  size_t batch_max = 512;            // records per transaction
  int64_t flush_interval_ms = 0;    // longest a record waits for its batch to fill; for records
                                     // a request waits for, ends early when no expected record
                                     // is left (see Expectation)
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
  // How many nice levels the writer runs under the workers when they have spills.
  static constexpr int kNiceUnderWorkers = 3;
  using OnDurable = std::function<void(bool durable)>;

  // Thread affinity: `store` is used only by the writer thread after start().
  StoreWriter(std::string jurisdiction, std::unique_ptr<Store> store, WriterOptions opts,
              const Clock& clock);
  ~StoreWriter();
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  // Before prepare(): the workers' spills of this jurisdiction (spill.h; `own[i]` is worker i's),
  // and `left`, spills a predecessor with more workers left behind. Only for a local store whose
  // chain this process alone writes.
  void setSpills(std::vector<std::unique_ptr<SpillFile>> own,
                 std::vector<std::unique_ptr<SpillFile>> left);
  // Worker `worker`'s spill, or null. Any thread (immutable after prepare()).
  SpillFile* spill(size_t worker) const {
    return worker < spills_.size() ? spills_[worker].get() : nullptr;
  }
  // Opens the store and reads the chain head once, on the caller's thread; with spills, first
  // commits what a previous process left in them. Failure is returned (the writer still starts
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
    SpillFile* spill = nullptr;  // see Submission
    uint64_t spill_end = 0;
    bool waited() const { return cb || listener; }
  };

  void run();
  // Lowers the writer thread's priority under the workers' (store_writer.cc says why).
  static void giveWayToTheWorkers();
  // Chains `batch` after head_ and commits it (with a checkpoint when due). True on commit.
  bool commit(std::vector<Pending>& batch, bool final_checkpoint);
  // Assigns seq, prev_hash and hash after `head` and advances it.
  void chain(std::vector<Pending>& batch, ChainHead& head) const;
  // The signed checkpoint to store with a commit ending at `last`, if one is due.
  std::optional<Checkpoint> dueCheckpoint(const ChainHead& last, bool final_checkpoint) const;
  void noteCheckpoint(const Checkpoint& cp);

  // Commits what the spills hold past their marks and the store lacks (prepare()).
  Status recoverSpills();
  // Removes from `recs` those the store holds already (same request id and start time).
  Status dropStored(std::vector<Record>& recs);
  // After a commit: moves each spill's committed mark past the batch's records.
  static void markSpills(const std::vector<Pending>& batch);
  void removeEmptySpills();
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
  size_t waited_ = 0;       // queued records a request or callback waits for (Pending::waited)
  bool stopping_ = false;
  bool started_ = false;
  // What the sleeping writer waits for; submitters notify cv_ only when that is met, so a busy
  // writer costs its submitters no futex call.
  enum class Wait { No, AnyRecord, FullBatch };
  // mu_ held: the batch is full, or a request waits and nothing more is expected. Records in a
  // spill keep a batch filling for the whole flush_interval_ms: nobody waits for them, and each
  // commit (and each wake-up of the writer) costs CPU that the workers on the same cores need.
  bool lingerOverLocked() const;
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

  // The workers' spills (setSpills): immutable after prepare(); `left_spills_` only until then.
  std::vector<std::unique_ptr<SpillFile>> spills_;
  std::vector<std::unique_ptr<SpillFile>> left_spills_;
  bool spills_recovered_ = false;  // what a predecessor left is stored: the files may go at stop
};

}  // namespace regiongate::audit
