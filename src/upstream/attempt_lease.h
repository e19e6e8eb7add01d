#pragma once
// One attempt's hold on an endpoint: the in-flight count (routing's load signal), the half-open
// probe slot if the attempt is the probe, and the passive-health outcome. Taken when the pick
// chooses the endpoint; the attempt ends it with one of the outcomes below. A lease dropped
// without an outcome (the request was torn down, e.g. the client left during shutdown) only
// gives back the count and the probe slot: it says nothing about the endpoint's health.
// Thread: the worker that runs the request; the health words it touches are relaxed atomics.
#include <cstdint>

#include "config/config.h"
#include "upstream/health.h"

namespace regiongate::upstream {

class AttemptLease {
public:
  AttemptLease() = default;
  AttemptLease(EndpointHealth& health, bool probe) : health_(&health), probe_(probe) {
    health_->in_flight.fetch_add(1, std::memory_order_relaxed);
  }
  AttemptLease(AttemptLease&& o) noexcept : health_(o.health_), probe_(o.probe_) {
    o.health_ = nullptr;
  }
  AttemptLease& operator=(AttemptLease&& o) noexcept {
    if (this != &o) {
      release();
      health_ = o.health_;
      probe_ = o.probe_;
      o.health_ = nullptr;
    }
    return *this;
  }
  AttemptLease(const AttemptLease&) = delete;
  AttemptLease& operator=(const AttemptLease&) = delete;
  ~AttemptLease() { release(); }

  bool active() const { return health_ != nullptr; }
  bool probe() const { return probe_; }

  // The endpoint served the request: closes a half-open circuit, resets the failure count.
  void succeeded() {
    if (!health_) return;
    health_->onSuccess(probe_);
    end();
  }
  // The endpoint failed (connect error, timeout, 5xx, TLS): counts towards ejection.
  void failed(int64_t now_nanos, const HealthConfig& cfg) {
    if (!health_) return;
    health_->onFailure(now_nanos, cfg, probe_);
    end();
  }
  // The endpoint pushed back (429): not a health failure, but the probe slot goes back.
  void throttled() { release(); }

private:
  void end() {
    health_->in_flight.fetch_sub(1, std::memory_order_relaxed);
    health_ = nullptr;
  }
  void release() {
    if (!health_) return;
    if (probe_) health_->releaseProbe();
    end();
  }

  EndpointHealth* health_ = nullptr;
  bool probe_ = false;
};

}  // namespace regiongate::upstream
