#pragma once
// EventEngine: the discrete-event core. A binary heap of (time, sequence) ordered events; run()
// pops the earliest, advances the injected ManualClock to its time and calls it. Events at the
// same time run in the order they were scheduled (the sequence number breaks ties), so a run is
// deterministic. No real time is read anywhere.
//
// Not thread-safe: one engine per simulation run, driven from one thread.
#include <cstdint>
#include <functional>
#include <vector>

#include "common/clock.h"

namespace regiongate::sim {

class EventEngine {
public:
  using Callback = std::function<void()>;

  explicit EventEngine(ManualClock& clock) : clock_(clock) {}

  int64_t now() const { return clock_.nowNanos(); }
  // Schedules `cb` at absolute time `t_nanos` (clamped to now: the past is not reachable).
  void at(int64_t t_nanos, Callback cb);
  void after(int64_t delay_nanos, Callback cb) { at(now() + delay_nanos, std::move(cb)); }
  void afterMs(double ms, Callback cb) { after(static_cast<int64_t>(ms * 1e6), std::move(cb)); }

  // Runs one event; false if none is pending.
  bool step();
  // Runs events with time <= until_nanos; returns how many ran. The clock ends at the last
  // event's time (not at until_nanos).
  uint64_t run(int64_t until_nanos = INT64_MAX);

  size_t pending() const { return heap_.size(); }
  uint64_t executed() const { return executed_; }
  const ManualClock& clock() const { return clock_; }

private:
  struct Event {
    int64_t t;
    uint64_t seq;
    Callback cb;
  };
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.t != b.t ? a.t > b.t : a.seq > b.seq;
    }
  };

  ManualClock& clock_;
  std::vector<Event> heap_;
  uint64_t next_seq_ = 0;
  uint64_t executed_ = 0;
};

}  // namespace regiongate::sim
