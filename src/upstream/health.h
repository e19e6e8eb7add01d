#pragma once
// Passive and active health of one endpoint, shared by all workers through relaxed atomics (no
// lock; each worker reads and updates the same few words). Passive: `consecutive_failures`
// failures in a row eject the endpoint for base_ejection_ms * 2^(ejections-1), capped at
// max_ejection_ms. When the ejection expires the endpoint is half-open: exactly one request (the
// probe) may go; success closes the circuit, failure ejects it again for longer.
// Active: a checker thread GETs the health path; a failing check takes the endpoint out until a
// check passes.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "config/config.h"

namespace regiongate::upstream {

class EndpointHealth {
public:
  enum class Admit { Yes, Probe, No };

  Admit admit(int64_t now_nanos);
  void onSuccess(bool was_probe);
  void onFailure(int64_t now_nanos, const HealthConfig& cfg, bool was_probe);
  void onActiveCheck(bool ok) { active_down_.store(!ok, std::memory_order_relaxed); }
  // Healthy = not ejected (or half-open) and the last active check passed.
  bool healthy(int64_t now_nanos) const;
  bool ejected(int64_t now_nanos) const {
    return ejected_until_.load(std::memory_order_relaxed) > now_nanos;
  }
  // Nanoseconds until the endpoint may be probed again (0 if available now).
  int64_t retryAfterNanos(int64_t now_nanos) const;
  uint32_t ejections() const { return ejections_.load(std::memory_order_relaxed); }
  uint32_t consecutiveFailures() const { return consecutive_.load(std::memory_order_relaxed); }
  bool activeDown() const { return active_down_.load(std::memory_order_relaxed); }
  // Gives back a half-open probe slot that admit() handed out but the caller did not use.
  void releaseProbe() { probing_.store(false, std::memory_order_release); }

  // Requests in flight on this endpoint across all workers (load signal for routing).
  std::atomic<uint32_t> in_flight{0};

private:
  std::atomic<uint32_t> consecutive_{0};
  std::atomic<int64_t> ejected_until_{0};  // 0 = circuit closed
  std::atomic<uint32_t> ejections_{0};
  std::atomic<bool> probing_{false};
  std::atomic<bool> active_down_{false};
};

// Health state by endpoint name; survives config reloads so a reload does not forget an outage.
// The mutex is taken only when a snapshot is built (control plane).
class HealthRegistry {
public:
  std::shared_ptr<EndpointHealth> get(const std::string& endpoint_name);

private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<EndpointHealth>> by_name_;
};

}  // namespace regiongate::upstream
