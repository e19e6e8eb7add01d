#pragma once
// Time is injected, never read from a global: the gateway uses SystemClock, tests and the simulator
// a ManualClock they advance by hand. Both monotonic time (for durations) and wall time (for audit
// timestamps) come from the same interface so a test can control both.
#include <atomic>
#include <chrono>
#include <cstdint>

namespace regiongate {

using Nanos = std::chrono::nanoseconds;

class Clock {
public:
  virtual ~Clock() = default;
  // Monotonic nanoseconds since an arbitrary origin.
  virtual int64_t nowNanos() const = 0;
  // Wall clock, microseconds since the Unix epoch.
  virtual int64_t wallMicros() const = 0;
  double nowSeconds() const { return static_cast<double>(nowNanos()) / 1e9; }
};

class SystemClock final : public Clock {
public:
  int64_t nowNanos() const override {
    return std::chrono::duration_cast<Nanos>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  int64_t wallMicros() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  static SystemClock& instance() {
    static SystemClock clock;
    return clock;
  }
};

// Thread-safe manual clock for tests and the simulator.
class ManualClock final : public Clock {
public:
  explicit ManualClock(int64_t start_nanos = 0, int64_t wall_origin_micros = 1'700'000'000'000'000)
      : now_(start_nanos), wall_origin_(wall_origin_micros) {}
  int64_t nowNanos() const override { return now_.load(std::memory_order_relaxed); }
  int64_t wallMicros() const override { return wall_origin_ + nowNanos() / 1000; }
  void advance(Nanos d) { now_.fetch_add(d.count(), std::memory_order_relaxed); }
  void advanceMs(double ms) { now_.fetch_add(static_cast<int64_t>(ms * 1e6)); }
  void set(int64_t nanos) { now_.store(nanos, std::memory_order_relaxed); }

private:
  std::atomic<int64_t> now_;
  int64_t wall_origin_;
};

}  // namespace regiongate
