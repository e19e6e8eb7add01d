#include "sim/event_engine.h"

#include <algorithm>

namespace regiongate::sim {

void EventEngine::at(int64_t t_nanos, Callback cb) {
  heap_.push_back(Event{std::max(t_nanos, now()), next_seq_++, std::move(cb)});
  std::push_heap(heap_.begin(), heap_.end(), Later{});
}

bool EventEngine::step() {
  if (heap_.empty()) return false;
  std::pop_heap(heap_.begin(), heap_.end(), Later{});
  Event ev = std::move(heap_.back());
  heap_.pop_back();
  clock_.set(ev.t);
  ++executed_;
  ev.cb();
  return true;
}

uint64_t EventEngine::run(int64_t until_nanos) {
  uint64_t n = 0;
  while (!heap_.empty() && heap_.front().t <= until_nanos) {
    step();
    ++n;
  }
  return n;
}

}  // namespace regiongate::sim
