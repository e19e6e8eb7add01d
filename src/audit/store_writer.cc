#include "audit/store_writer.h"

#include <spdlog/spdlog.h>

#include <pthread.h>

#include <algorithm>

#include "audit/segment.h"

namespace regiongate::audit {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Records per spill entry at most, as per segment: bounds one pwrite and what recovery decodes.
constexpr size_t kMaxSpillEntryRecords = kMaxRecordsPerSegment;

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
  if (spill_) {
    if (Status st = recoverSpill(); !st.ok()) {
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
  // A spill needs the chain head before the first record (prepare() loads it); without one the
  // writer commits itself, which reloads the head as it retries.
  if (spill_ && !head_loaded_) spill_.reset();
  if (spill_) {
    committed_head_ = head_;
    committer_ = std::thread([this] { runCommitter(); });
  }
  thread_ = std::thread([this] {
    run();
    stopCommitter();
  });
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
         (unannounced_ == 0 && expected_.load(std::memory_order_relaxed) <= 0);
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
    if (subs[i].expected.writer() == this) {
      subs[i].expected.release();
      ++arrived;
      p.announced = true;
    }
    if (stopping_ || depth_.load(std::memory_order_relaxed) >= opts_.queue_capacity) {
      rejected.push_back(std::move(p));
      continue;
    }
    if (!p.announced) ++unannounced_;
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
  }
  std::vector<Pending> lost(std::make_move_iterator(rest.begin()),
                            std::make_move_iterator(rest.end()));
  dropped_.fetch_add(lost.size(), std::memory_order_relaxed);
  depth_.fetch_sub(lost.size(), std::memory_order_relaxed);
  notify(lost, false);
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
  finish(batch, true);
  // After the notifications: requests waiting for these records (wait_durable) are answered
  // before the store's housekeeping (SQLite: telling its background checkpointer the WAL's size;
  // a checkpoint here only when the WAL reached its bound).
  store_->maintain();
  return true;
}

void StoreWriter::run() {
  // A normal (SCHED_OTHER) thread, not SCHED_BATCH: requests waiting for their record
  // (wait_durable) wait until the writer runs, and a batch thread is never woken preemptively,
  // so on a busy host each of its wake-ups waits for a scheduler tick (measured unpinned on the
  // shared VM: 5 ms median at one connection instead of 0.3 ms, and fewer req/s at saturation).
  // Named for top/perf and bench/audit_moderate.sh ("rg-audit-EU"; Linux allows 15 characters).
  pthread_setname_np(pthread_self(), ("rg-audit-" + jurisdiction_).substr(0, 15).c_str());
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
        // requests may still add to it (Expectation): with every expected record queued,
        // waiting longer would only delay them.
        if (!queue_.empty() && opts_.flush_interval_ms > 0 && !lingerOverLocked()) {
          writer_waits_ = Wait::FullBatch;
          cv_.wait_for(lk, milliseconds(opts_.flush_interval_ms),
                       [&] { return lingerOverLocked(); });
          writer_waits_ = Wait::No;
        }
        const size_t take = std::min(queue_.size(), opts_.batch_max);
        for (size_t i = 0; i < take; ++i) {
          if (!queue_.front().announced) --unannounced_;
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
        lk.unlock();
        if (!batch.empty())
          spdlog::error("audit store {} ({}): stop timed out, dropping {} records",
                        jurisdiction_, sink_, batch.size());
        dropped_.fetch_add(batch.size(), std::memory_order_relaxed);
        depth_.fetch_sub(batch.size(), std::memory_order_relaxed);
        finish(batch, false);
        return;
      }
    }
    if (spill_) {
      spillAndHandOff(batch);
      if (stopping && !more_queued) return;
      continue;
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

// --- The spill (spill.h): answer from tmpfs, commit behind. ---

Status StoreWriter::recoverSpill() {
  auto groups = spill_->recover();
  if (!groups.ok()) return groups.error();
  if (auto st = store_->open(); !st.ok()) return st;
  // Per chain: the records that continue the store's head, in order. The first record that
  // does not (an older entry left behind a restart at offset 0) ends the recovery.
  std::vector<std::pair<std::string, ChainHead>> heads;
  std::vector<Record> recovered;
  bool broken = false;
  for (auto& g : groups.value()) {
    for (auto& r : g.records) {
      auto it = std::find_if(heads.begin(), heads.end(),
                             [&](const auto& h) { return h.first == r.replica_id; });
      if (it == heads.end()) {
        auto head = store_->chainHead(r.replica_id);
        if (!head.ok()) return head.error();
        it = heads.insert(heads.end(), {r.replica_id, head.value()});
      }
      ChainHead& head = it->second;
      if (r.seq <= head.seq) continue;  // stored before the process ended
      if (r.seq != head.seq + 1 || r.prev_hash != head.hash || r.jurisdiction != jurisdiction_) {
        broken = true;
        break;
      }
      head = ChainHead{r.seq, r.hash};
      recovered.push_back(std::move(r));
    }
    if (broken) break;
  }
  // One append per chain (the store writes one chain per segment).
  for (size_t begin = 0; begin < recovered.size();) {
    size_t end = begin;
    while (end < recovered.size() && recovered[end].replica_id == recovered[begin].replica_id) ++end;
    std::vector<Record> run(std::make_move_iterator(recovered.begin() + begin),
                            std::make_move_iterator(recovered.begin() + end));
    if (Status st = store_->append(run, nullptr); !st.ok()) return st;
    begin = end;
  }
  if (!recovered.empty())
    spdlog::warn("audit store {} ({}): committed {} records answered by a previous process but "
                 "not yet stored when it ended (from {})",
                 jurisdiction_, sink_, recovered.size(), spill_->path());
  return spill_->clear();
}

void StoreWriter::spillAndHandOff(std::vector<Pending>& batch) {
  if (batch.empty()) return;
  chain(batch, head_);
  Handed h;
  h.recs.reserve(batch.size());
  for (auto& p : batch) h.recs.push_back(std::move(p.rec));
  // A group may be answered from the spill only if every group before it is in the spill or
  // stored: recovery takes records that continue the store's chain, so a group after a gap
  // would be lost with the process. Until the groups that missed the spill are stored, the
  // following ones wait for their commit too.
  bool spilled = unspilled_.load(std::memory_order_acquire) == 0;
  for (size_t begin = 0; begin < h.recs.size() && spilled; begin += kMaxSpillEntryRecords) {
    const size_t end = std::min(h.recs.size(), begin + kMaxSpillEntryRecords);
    const uint64_t pos = spill_->append(h.recs, begin, end);
    spilled = pos != 0;
    if (spilled) h.spill_end = pos;
  }
  // In the spill, the records survive this process: their requests may be answered now. Those
  // that did not fit wait for the store's commit.
  if (spilled) {
    finish(batch, true);
  } else {
    h.waiting = std::move(batch);
    h.unspilled = true;
    unspilled_.fetch_add(1, std::memory_order_acq_rel);
  }
  batch.clear();
  {
    std::lock_guard lk(handed_mu_);
    handed_.push_back(std::move(h));
  }
  handed_cv_.notify_one();
}

void StoreWriter::stopCommitter() {
  if (!committer_.joinable()) return;
  {
    std::lock_guard lk(mu_);
    std::lock_guard hlk(handed_mu_);
    committer_stop_ = true;
    committer_deadline_ = stop_deadline_;
  }
  handed_cv_.notify_all();
  committer_.join();
}

void StoreWriter::runCommitter() {
  pthread_setname_np(pthread_self(), ("rg-commit-" + jurisdiction_).substr(0, 15).c_str());
  std::vector<Handed> work;
  for (;;) {
    bool last = false;
    {
      std::unique_lock lk(handed_mu_);
      handed_cv_.wait(lk, [&] { return !handed_.empty() || committer_stop_; });
      if (handed_.empty()) break;
      for (auto& h : handed_) work.push_back(std::move(h));
      handed_.clear();
      last = committer_stop_;
    }
    const bool committed = commitHanded(work, last);
    settleHanded(work, committed);
    if (committed) continue;
    // Out of time while stopping: what was handed on is not stored (the spilled part stays in
    // the spill for the next writer).
    std::lock_guard lk(handed_mu_);
    for (auto& h : handed_) work.push_back(std::move(h));
    handed_.clear();
    settleHanded(work, false);
    return;
  }
  // Stopping: a last signed checkpoint, and the spill goes when nothing in it is left to commit.
  std::vector<Handed> none;
  if (commitHanded(none, true) && spill_->pendingBytes() == 0) spill_->removeFile();
}

bool StoreWriter::commitHanded(std::vector<Handed>& work, bool final_checkpoint) {
  std::vector<Record> recs;
  for (auto& h : work)
    for (auto& r : h.recs) recs.push_back(std::move(r));
  const ChainHead last = recs.empty() ? committed_head_ : ChainHead{recs.back().seq, recs.back().hash};
  std::optional<Checkpoint> cp = dueCheckpoint(last, final_checkpoint);
  if (recs.empty() && !cp) return true;
  int64_t backoff_ms = opts_.backoff_min_ms;
  for (;;) {
    Status st = store_->append(recs, cp ? &*cp : nullptr);
    if (!st.ok()) {
      fail(st.error().message);
      // A commit whose acknowledgement was lost: the store's head is already this batch's last.
      auto head = store_->chainHead(opts_.replica_id);
      if (head.ok() && head->seq == last.seq && head->hash == last.hash && !recs.empty()) st = {};
    }
    if (st.ok()) break;
    std::unique_lock lk(handed_mu_);
    auto until = SteadyClock::now() + milliseconds(backoff_ms);
    if (committer_stop_) {
      if (SteadyClock::now() >= committer_deadline_) {
        // The records stay in the spill, and the next writer on this store commits them.
        if (!recs.empty())
          spdlog::error("audit store {} ({}): stop timed out with records not yet stored; those "
                        "answered stay in {} for the next writer on this store",
                        jurisdiction_, sink_, spill_->path());
        for (size_t i = 0, k = 0; i < work.size(); ++i)
          for (auto& r : work[i].recs) r = std::move(recs[k++]);
        return false;
      }
      until = std::min(until, committer_deadline_);
    }
    const bool was_stopping = committer_stop_;
    handed_cv_.wait_until(lk, until, [&] { return committer_stop_ && !was_stopping; });
    backoff_ms = std::min(backoff_ms * 2, opts_.backoff_max_ms);
  }
  if (cp) noteCheckpoint(*cp);
  committed_head_ = last;
  if (!healthy_.exchange(true, std::memory_order_relaxed))
    spdlog::info("audit store {} ({}) recovered", jurisdiction_, sink_);
  if (!recs.empty()) commits_.fetch_add(1, std::memory_order_relaxed);
  written_.fetch_add(recs.size(), std::memory_order_relaxed);
  return true;
}

void StoreWriter::settleHanded(std::vector<Handed>& work, bool committed) {
  uint64_t spill_end = 0;
  size_t n = 0;
  for (auto& h : work) {
    n += h.recs.size();
    spill_end = std::max(spill_end, h.spill_end);
    if (committed && h.unspilled) unspilled_.fetch_sub(1, std::memory_order_acq_rel);
    if (!committed && !h.waiting.empty()) dropped_.fetch_add(h.waiting.size(), std::memory_order_relaxed);
    notify(h.waiting, committed);
  }
  depth_.fetch_sub(n, std::memory_order_relaxed);
  if (committed && spill_end) spill_->committed(spill_end);
  work.clear();
  if (committed) store_->maintain();
}

}  // namespace regiongate::audit
