#pragma once
// An in-memory Store test double with failure knobs (the sink seam of src/audit/store.h).
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "audit/store.h"

namespace regiongate::audit::testing {

class FakeStore final : public Store {
public:
  struct Shared {
    std::mutex mu;
    std::map<std::pair<std::string, int64_t>, Record> rows;
    std::vector<Checkpoint> cps;
    std::atomic<bool> failing{false};
    // Commit the transaction but report failure (a lost COMMIT acknowledgement), once.
    std::atomic<bool> lose_next_ack{false};
    std::atomic<int> appends{0};
    std::atomic<int> failed_appends{0};
    std::atomic<int> failed_opens{0};
    // What the writer did, in order ("append", "maintain"), and whether it deferred maintenance;
    // tests add their own entries (e.g. "durable") under `mu` to check the order.
    std::vector<std::string> events;
    std::atomic<bool> deferred{false};
  };
  explicit FakeStore(std::shared_ptr<Shared> s) : s_(std::move(s)) {}

  std::string kind() const override { return "fake"; }
  std::string name() const override { return "fake"; }
  Status open() override {
    if (s_->failing) {
      ++s_->failed_opens;
      return down();
    }
    return {};
  }
  Result<ChainHead> chainHead(const std::string& replica_id) override {
    if (s_->failing) return down();
    std::lock_guard lk(s_->mu);
    ChainHead h;
    for (auto& [k, r] : s_->rows)
      if (k.first == replica_id && r.seq > h.seq) h = ChainHead{r.seq, r.hash};
    return h;
  }
  void setDeferredMaintenance(bool on) override { s_->deferred = on; }
  void maintain() override {
    std::lock_guard lk(s_->mu);
    s_->events.push_back("maintain");
  }
  Status append(const std::vector<Record>& batch, const Checkpoint* cp) override {
    ++s_->appends;
    {
      std::lock_guard lk(s_->mu);
      s_->events.push_back("append");
    }
    if (s_->failing) {
      ++s_->failed_appends;
      return down();
    }
    std::lock_guard lk(s_->mu);
    for (const auto& r : batch)
      if (s_->rows.count({r.replica_id, r.seq}))
        return Error{ErrorSource::Internal, "dup", "duplicate seq " + std::to_string(r.seq), true};
    for (const auto& r : batch) s_->rows[{r.replica_id, r.seq}] = r;
    if (cp) s_->cps.push_back(*cp);
    if (s_->lose_next_ack.exchange(false)) return down();
    return {};
  }
  Result<std::vector<std::string>> replicas() override {
    std::lock_guard lk(s_->mu);
    std::vector<std::string> out;
    for (auto& [k, r] : s_->rows)
      if (out.empty() || out.back() != k.first) out.push_back(k.first);
    return out;
  }
  Status scan(const ScanQuery& q, const std::function<bool(const Record&)>& fn) override {
    std::lock_guard lk(s_->mu);
    for (auto& [k, r] : s_->rows) {
      if (q.replica_id && *q.replica_id != k.first) continue;
      if (!fn(r)) break;
    }
    return {};
  }
  Result<std::vector<Checkpoint>> checkpoints(const std::string& replica_id) override {
    std::lock_guard lk(s_->mu);
    std::vector<Checkpoint> out;
    for (auto& c : s_->cps)
      if (c.replica_id == replica_id) out.push_back(c);
    return out;
  }

private:
  static Error down() { return Error{ErrorSource::Internal, "down", "fake store down", true}; }
  std::shared_ptr<Shared> s_;
};

}  // namespace regiongate::audit::testing
