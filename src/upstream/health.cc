#include "upstream/health.h"

#include <algorithm>

namespace regiongate::upstream {

EndpointHealth::Admit EndpointHealth::admit(int64_t now) {
  if (active_down_.load(std::memory_order_relaxed)) return Admit::No;
  int64_t until = ejected_until_.load(std::memory_order_relaxed);
  if (until == 0) return Admit::Yes;
  if (now < until) return Admit::No;
  bool expected = false;
  if (probing_.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) return Admit::Probe;
  return Admit::No;  // someone else's probe is in flight
}

void EndpointHealth::onSuccess(bool was_probe) {
  consecutive_.store(0, std::memory_order_relaxed);
  if (was_probe || ejected_until_.load(std::memory_order_relaxed) != 0) {
    ejected_until_.store(0, std::memory_order_relaxed);
    probing_.store(false, std::memory_order_release);
  }
}

void EndpointHealth::onFailure(int64_t now, const HealthConfig& cfg, bool was_probe) {
  uint32_t c = consecutive_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (!was_probe && c < std::max<uint32_t>(1, cfg.consecutive_failures)) return;
  uint32_t n = ejections_.fetch_add(1, std::memory_order_relaxed) + 1;
  int64_t ms = cfg.base_ejection_ms;
  for (uint32_t i = 1; i < n && ms < cfg.max_ejection_ms; ++i) ms *= 2;
  ms = std::min<int64_t>(ms, cfg.max_ejection_ms);
  ejected_until_.store(now + ms * 1'000'000, std::memory_order_relaxed);
  consecutive_.store(0, std::memory_order_relaxed);
  probing_.store(false, std::memory_order_release);
}

bool EndpointHealth::healthy(int64_t now) const {
  if (active_down_.load(std::memory_order_relaxed)) return false;
  return ejected_until_.load(std::memory_order_relaxed) <= now;
}

int64_t EndpointHealth::retryAfterNanos(int64_t now) const {
  int64_t until = ejected_until_.load(std::memory_order_relaxed);
  return until > now ? until - now : 0;
}

std::shared_ptr<EndpointHealth> HealthRegistry::get(const std::string& name) {
  std::lock_guard lock(mu_);
  auto& slot = by_name_[name];
  if (!slot) slot = std::make_shared<EndpointHealth>();
  return slot;
}

}  // namespace regiongate::upstream
