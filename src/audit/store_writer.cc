#include "audit/store_writer.h"

#include <spdlog/spdlog.h>

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <unordered_set>

namespace regiongate::audit {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// What tells a spilled record from the stored ones (request ids are unique per gateway process).
std::string spillKey(const Record& r) { return r.request_id + '\n' + std::to_string(r.ts_us); }

}  // namespace

StoreWriter::StoreWriter(std::string jurisdiction, std::unique_ptr<Store> store,
                         WriterOptions opts, const Clock& clock)
    : jurisdiction_(std::move(jurisdiction)),
      sink_(store->kind()),
      store_(std::move(store)),
      opts_(std::move(opts)),
      clock_(clock),
      last_checkpoint_nanos_(clock.nowNanos()) {
  // The writer answers waiting requests before the store's housekeeping (commit()).
  store_->setDeferredMaintenance(true);
}

StoreWriter::~StoreWriter() { stop(); }

std::string StoreWriter::lastError() const {
  std::lock_guard lk(error_mu_);
  return last_error_;
}

Status StoreWriter::prepare() {
  if (!spills_.empty() || !left_spills_.empty()) {
    if (Status st = recoverSpills(); !st.ok()) {
      fail(st.error().message);
      return st;
    }
  }
  if (loadHead()) return {};
  return Error{ErrorSource::Internal, "audit_unavailable", lastError(), true};
}

void StoreWriter::start() {
  std::lock_guard lk(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

bool StoreWriter::admit() const {
  if (!opts_.reject_when_failing) return true;
  return healthy_.load(std::memory_order_relaxed) &&
         depth_.load(std::memory_order_relaxed) < opts_.queue_capacity;
}

Expectation StoreWriter::expect() {
  expected_.fetch_add(1, std::memory_order_relaxed);
  return Expectation(this);
}

void StoreWriter::unexpect() {
  std::unique_lock lk(mu_);
  expected_.fetch_sub(1, std::memory_order_relaxed);
  const bool wake = wakeWriterLocked();
  lk.unlock();
  if (wake) cv_.notify_one();
}

void Expectation::reset() {
  if (StoreWriter* w = std::exchange(w_, nullptr)) w->unexpect();
}

bool StoreWriter::submit(Record rec, OnDurable on_durable) {
  std::unique_lock lk(mu_);
  if (stopping_ || depth_.load(std::memory_order_relaxed) >= opts_.queue_capacity) {
    lk.unlock();
    dropped_.fetch_add(1, std::memory_order_relaxed);
    if (on_durable) on_durable(false);
    return false;
  }
  queue_.push_back(Pending{std::move(rec), std::move(on_durable)});
  ++unannounced_;
  if (queue_.back().waited()) ++waited_;
  depth_.fetch_add(1, std::memory_order_relaxed);
  const bool wake = wakeWriterLocked();
  lk.unlock();
  if (wake) cv_.notify_one();
  return true;
}

bool StoreWriter::lingerOverLocked() const {
  // Records submitted without an Expectation say nothing about what is still to come: while one
  // is queued the writer waits out the interval (flush_interval_ms as documented).
  return queue_.size() >= opts_.batch_max || stopping_ ||
         (waited_ > 0 && unannounced_ == 0 && expected_.load(std::memory_order_relaxed) <= 0);
}

bool StoreWriter::wakeWriterLocked() {
  // An idle writer is woken by a queued record only: a wake-up that finds nothing to do would
  // clear writer_waits_ and leave the writer asleep for the next record (unexpect()).
  const bool wake = (writer_waits_ == Wait::AnyRecord && !queue_.empty()) ||
                    (writer_waits_ == Wait::FullBatch && lingerOverLocked());
  if (wake) writer_waits_ = Wait::No;  // one notify per sleep, not one per record
  return wake;
}

size_t StoreWriter::submitMany(std::vector<Submission>& subs, std::vector<uint8_t>& taken) {
  std::vector<Pending> rejected;
  size_t n = 0;
  int64_t arrived = 0;  // expected records among those taken
  std::unique_lock lk(mu_);
  for (size_t i = 0; i < subs.size(); ++i) {
    if (taken[i] || subs[i].rec.jurisdiction != jurisdiction_) continue;
    taken[i] = 1;
    ++n;
    Pending p{std::move(subs[i].rec), {}, subs[i].listener, subs[i].cookie};
    p.spill = subs[i].spill;
    p.spill_end = subs[i].spill_end;
    if (subs[i].expected.writer() == this) {
      subs[i].expected.release();
      ++arrived;
      p.announced = true;
    }
    // A spilled record was answered: it is never dropped for a full queue (the spill bounds how
    // many there are), only at a stop, when it stays in the spill for the next writer.
    const bool full = depth_.load(std::memory_order_relaxed) >= opts_.queue_capacity;
    if (stopping_ || (full && !p.spill)) {
      rejected.push_back(std::move(p));
      continue;
    }
    if (!p.announced) ++unannounced_;
    if (p.waited()) ++waited_;
    queue_.push_back(std::move(p));
    depth_.fetch_add(1, std::memory_order_relaxed);
  }
  if (arrived) expected_.fetch_sub(arrived, std::memory_order_relaxed);
  const bool wake = (n > rejected.size() || arrived) && wakeWriterLocked();
  lk.unlock();
  if (wake) cv_.notify_one();
  if (!rejected.empty()) {
    dropped_.fetch_add(rejected.size(), std::memory_order_relaxed);
    notify(rejected, false);
  }
  return n;
}

void StoreWriter::stop() {
  {
    std::lock_guard lk(mu_);
    if (!stopping_) {
      stopping_ = true;
      stop_deadline_ = SteadyClock::now() + milliseconds(opts_.stop_timeout_ms);
    }
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Never started (or already joined): nothing can make the rest durable.
  std::deque<Pending> rest;
  {
    std::lock_guard lk(mu_);
    rest.swap(queue_);
    unannounced_ = 0;
    waited_ = 0;
  }
  std::vector<Pending> lost(std::make_move_iterator(rest.begin()),
                            std::make_move_iterator(rest.end()));
  dropped_.fetch_add(lost.size(), std::memory_order_relaxed);
  depth_.fetch_sub(lost.size(), std::memory_order_relaxed);
  notify(lost, false);
  removeEmptySpills();
}

void StoreWriter::fail(const std::string& message) {
  // The message first, then the flag (release): whoever sees the store unhealthy (/readyz,
  // status, admit) also sees why.
  {
    std::lock_guard lk(error_mu_);
    last_error_ = message;
  }
  if (healthy_.exchange(false, std::memory_order_acq_rel))
    spdlog::warn("audit store {} ({}) failing: {}", jurisdiction_, sink_, message);
}

bool StoreWriter::loadHead() {
  if (auto st = store_->open(); !st.ok()) {
    fail(st.error().message);
    return false;
  }
  auto head = store_->chainHead(opts_.replica_id);
  if (!head.ok()) {
    fail(head.error().message);
    return false;
  }
  head_ = std::move(head.value());
  head_loaded_ = true;
  return true;
}

void ListenerBatch::add(DurabilityListener* listener, uint64_t cookie) {
  auto it = std::find_if(groups_.begin(), groups_.end(),
                         [&](const auto& g) { return g.first == listener; });
  if (it == groups_.end()) it = groups_.insert(groups_.end(), {listener, {}});
  it->second.push_back(cookie);
}

void ListenerBatch::send(bool durable) {
  for (auto& [listener, cookies] : groups_) listener->onDurable(std::move(cookies), durable);
  groups_.clear();
}

void StoreWriter::notify(std::vector<Pending>& batch, bool durable) {
  ListenerBatch listeners;
  for (Pending& p : batch) {
    if (p.cb) p.cb(durable);
    if (p.listener) listeners.add(p.listener, p.cookie);
  }
  listeners.send(durable);
}

void StoreWriter::finish(std::vector<Pending>& batch, bool durable) {
  notify(batch, durable);
  batch.clear();
}

void StoreWriter::chain(std::vector<Pending>& batch, ChainHead& head) const {
  for (auto& p : batch) {
    p.rec.seq = ++head.seq;
    p.rec.replica_id = opts_.replica_id;
    p.rec.jurisdiction = jurisdiction_;
    normalizeRecord(p.rec);
    p.rec.prev_hash = head.hash;
    p.rec.hash = recordHash(head.hash, p.rec);
    head.hash = p.rec.hash;
  }
}

std::optional<Checkpoint> StoreWriter::dueCheckpoint(const ChainHead& last,
                                                     bool final_checkpoint) const {
  const bool due = final_checkpoint || clock_.nowNanos() - last_checkpoint_nanos_ >=
                                           opts_.checkpoint_interval_ms * 1'000'000;
  if (!due || last.seq <= last_checkpoint_seq_) return std::nullopt;
  Checkpoint cp;
  cp.replica_id = opts_.replica_id;
  cp.seq = last.seq;
  cp.hash = last.hash;
  cp.ts_us = clock_.wallMicros();
  signCheckpoint(cp, opts_.checkpoint_key);
  return cp;
}

void StoreWriter::noteCheckpoint(const Checkpoint& cp) {
  last_checkpoint_seq_ = cp.seq;
  last_checkpoint_nanos_ = clock_.nowNanos();
}

bool StoreWriter::commit(std::vector<Pending>& batch, bool final_checkpoint) {
  if (!head_loaded_ && !loadHead()) return false;
  const size_t n = batch.size();
  // A previous attempt may have committed although its acknowledgement was lost (connection
  // dropped during COMMIT): the reloaded head is then this batch's last record.
  bool already = n > 0 && batch.back().rec.seq == head_.seq && batch.back().rec.hash == head_.hash;
  if (!already) {
    ChainHead last = head_;
    chain(batch, last);
    std::optional<Checkpoint> cp = dueCheckpoint(last, final_checkpoint);
    if (n == 0 && !cp) return true;
    // The Store interface takes whole records; move them out and back to avoid copies.
    std::vector<Record> recs;
    recs.reserve(n);
    for (auto& p : batch) recs.push_back(std::move(p.rec));
    Status st = store_->append(recs, cp ? &*cp : nullptr);
    for (size_t i = 0; i < n; ++i) batch[i].rec = std::move(recs[i]);
    if (!st.ok()) {
      head_loaded_ = false;  // reload before the retry (see `already`)
      fail(st.error().message);
      return false;
    }
    if (cp) noteCheckpoint(*cp);
  }
  if (n) {
    head_.seq = batch.back().rec.seq;
    head_.hash = batch.back().rec.hash;
  }
  if (!healthy_.exchange(true, std::memory_order_relaxed))
    spdlog::info("audit store {} ({}) recovered", jurisdiction_, sink_);
  written_.fetch_add(n, std::memory_order_relaxed);
  if (n) commits_.fetch_add(1, std::memory_order_relaxed);
  depth_.fetch_sub(n, std::memory_order_relaxed);
  markSpills(batch);
  finish(batch, true);
  // After the notifications: requests waiting for these records (wait_durable) are answered
  // before the store's housekeeping (SQLite: telling its background checkpointer the WAL's size;
  // a checkpoint here only when the WAL reached its bound or a commit waited too long for one).
  store_->maintain();
  return true;
}

// With the workers' spills no answer waits for the writer (unless a ring is full), so its
// bursts (a group's chaining, encoding and commit) should not hold up a worker waking on the
// same CPU. Three nice levels under the thread's own: with the checkpointer on idle CPU only
// (wal_checkpointer.cc), one client's p99 over `sink: none` went from +0.65-0.89 ms to
// +0.01-0.25 ms (docs/benchmarks.md, "The checkpointer on idle CPU, the writer three nice levels
// down"); either change alone did not get there. Not SCHED_IDLE: that writer starved at
// saturation, its rings filled, and the requests then waiting for it had a p99 of 90-240 ms;
// nor can a thread leave SCHED_IDLE, or take back a nice level, without CAP_SYS_NICE. Relative,
// so a gateway started at any nice keeps the distance; a failure leaves the priority as it was.
void StoreWriter::giveWayToTheWorkers() {
  const auto tid = static_cast<id_t>(::gettid());
  errno = 0;
  const int nice = ::getpriority(PRIO_PROCESS, tid);
  if (errno == 0) (void)::setpriority(PRIO_PROCESS, tid, std::min(19, nice + kNiceUnderWorkers));
}

void StoreWriter::run() {
  // Named for top/perf and bench/audit_moderate.sh ("rg-audit-EU"; Linux allows 15 characters).
  pthread_setname_np(pthread_self(), ("rg-audit-" + jurisdiction_).substr(0, 15).c_str());
  // A normal (SCHED_OTHER) thread, not SCHED_BATCH: requests waiting for their record
  // (wait_durable) wait until the writer runs, and a batch thread is never woken preemptively,
  // so on a busy host each of its wake-ups waits for a scheduler tick (measured unpinned on the
  // shared VM: 5 ms median at one connection instead of 0.3 ms, and fewer req/s at saturation).
  // With the workers' spills nobody waits for it, but SCHED_BATCH measured worse there too (one
  // client's p99 1.4 ms against 0.9 ms, docs/benchmarks.md "audit").
  if (!spills_.empty()) giveWayToTheWorkers();
  std::vector<Pending> batch;  // in flight: kept across failed attempts until committed
  int64_t backoff_ms = opts_.backoff_min_ms;
  for (;;) {
    bool stopping = false;
    bool more_queued = false;
    {
      std::unique_lock lk(mu_);
      if (batch.empty()) {
        if (queue_.empty() && !stopping_) {
          writer_waits_ = Wait::AnyRecord;  // submitters wake us only while we sleep
          cv_.wait_for(lk, milliseconds(std::max<int64_t>(1, opts_.checkpoint_interval_ms)),
                       [&] { return !queue_.empty() || stopping_; });
          writer_waits_ = Wait::No;
        }
        // Group commit: give the batch up to flush_interval_ms to fill, as long as admitted
        // requests may still add to it (Expectation) or nobody waits (spilled records): with
        // every expected record queued, waiting longer would only delay the requests.
        if (!queue_.empty() && opts_.flush_interval_ms > 0 && !lingerOverLocked()) {
          writer_waits_ = Wait::FullBatch;
          cv_.wait_for(lk, milliseconds(opts_.flush_interval_ms),
                       [&] { return lingerOverLocked(); });
          writer_waits_ = Wait::No;
        }
        const size_t take = std::min(queue_.size(), opts_.batch_max);
        for (size_t i = 0; i < take; ++i) {
          if (!queue_.front().announced) --unannounced_;
          if (queue_.front().waited()) --waited_;
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      stopping = stopping_;
      more_queued = !queue_.empty();
      if (stopping && SteadyClock::now() >= stop_deadline_) {
        // Out of time: what is not durable now never will be. Counted, never silent.
        for (auto& p : queue_) batch.push_back(std::move(p));
        queue_.clear();
        unannounced_ = 0;
        waited_ = 0;
        lk.unlock();
        const auto spilled = std::count_if(batch.begin(), batch.end(),
                                           [](const Pending& p) { return p.spill != nullptr; });
        if (!batch.empty())
          spdlog::error("audit store {} ({}): stop timed out, dropping {} records ({} of them "
                        "stay in the workers' spills and are stored at the next start)",
                        jurisdiction_, sink_, batch.size(), spilled);
        dropped_.fetch_add(batch.size(), std::memory_order_relaxed);
        depth_.fetch_sub(batch.size(), std::memory_order_relaxed);
        finish(batch, false);
        return;
      }
    }
    if (commit(batch, stopping && !more_queued)) {
      backoff_ms = opts_.backoff_min_ms;
      if (stopping && !more_queued && batch.empty()) return;
      continue;
    }
    // Failed: keep the batch, wait (stop wakes us, the deadline bounds us), retry.
    std::unique_lock lk(mu_);
    auto until = SteadyClock::now() + milliseconds(backoff_ms);
    if (stopping_) until = std::min(until, stop_deadline_);
    const bool was_stopping = stopping_;
    cv_.wait_until(lk, until, [&] { return stopping_ && !was_stopping; });
    backoff_ms = std::min(backoff_ms * 2, opts_.backoff_max_ms);
  }
}

// --- The workers' spills (spill.h): answered before the commit, marked after it. ---

void StoreWriter::setSpills(std::vector<std::unique_ptr<SpillFile>> own,
                            std::vector<std::unique_ptr<SpillFile>> left) {
  spills_ = std::move(own);
  left_spills_ = std::move(left);
}

Status StoreWriter::recoverSpills() {
  std::vector<Record> recs;
  for (auto* list : {&spills_, &left_spills_})
    for (auto& s : *list) {
      auto left = s->recover();
      if (!left.ok()) return left.error();
      for (auto& r : left.value()) recs.push_back(std::move(r));
    }
  if (!recs.empty()) {
    if (auto st = store_->open(); !st.ok()) return st;
    if (auto st = dropStored(recs); !st.ok()) return st;
    if (!recs.empty()) {
      std::stable_sort(recs.begin(), recs.end(),
                       [](const Record& a, const Record& b) { return a.ts_us < b.ts_us; });
      const size_t n = recs.size();
      std::vector<Pending> batch;
      for (auto& r : recs) batch.push_back(Pending{std::move(r), {}});
      depth_.fetch_add(n, std::memory_order_relaxed);  // commit() counts them out
      if (!commit(batch, false)) {
        depth_.fetch_sub(n, std::memory_order_relaxed);
        return Error::internal(lastError(), "audit_spill");
      }
      spdlog::warn("audit store {} ({}): committed {} records answered by a previous process but "
                   "not yet stored when it ended",
                   jurisdiction_, sink_, n);
    }
  }
  for (auto& s : spills_)
    if (auto st = s->clear(); !st.ok()) return st;
  for (auto& s : left_spills_) s->removeFile();
  left_spills_.clear();
  spills_recovered_ = true;
  return {};
}

Status StoreWriter::dropStored(std::vector<Record>& recs) {
  // The mark is written after the commit: records past it may be stored already, and if so in
  // the newest segments, none older than the oldest spilled record.
  int64_t since = recs.front().ts_us;
  std::unordered_set<std::string> left;
  for (const Record& r : recs) {
    since = std::min(since, r.ts_us);
    left.insert(spillKey(r));
  }
  ScanQuery q;
  q.replica_id = opts_.replica_id;
  q.since_us = since;
  std::unordered_set<std::string> stored;
  Status st = store_->scan(q, [&](const Record& r) {
    if (std::string key = spillKey(r); left.count(key)) stored.insert(std::move(key));
    return true;
  });
  if (!st.ok()) return st;
  std::erase_if(recs, [&](const Record& r) { return stored.count(spillKey(r)) > 0; });
  return {};
}

void StoreWriter::markSpills(const std::vector<Pending>& batch) {
  // Per worker the records arrive in the order they were spilled: the last one's end is the mark.
  std::vector<std::pair<SpillFile*, uint64_t>> ends;
  for (const Pending& p : batch) {
    if (!p.spill) continue;
    auto it = std::find_if(ends.begin(), ends.end(), [&](const auto& e) { return e.first == p.spill; });
    if (it == ends.end()) it = ends.insert(ends.end(), {p.spill, 0});
    it->second = std::max(it->second, p.spill_end);
  }
  for (auto [spill, end] : ends) spill->committed(end);
}

void StoreWriter::removeEmptySpills() {
  if (!spills_recovered_) return;  // they may hold what a predecessor left
  for (auto& s : spills_)
    if (s->pendingBytes() == 0) s->removeFile();
}

}  // namespace regiongate::audit
