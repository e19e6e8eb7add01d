#include "rollout/gate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/quantile.h"

namespace regiongate::rollout {

std::string_view gateOutcomeName(GateOutcome o) {
  switch (o) {
    case GateOutcome::Successful: return "successful";
    case GateOutcome::Failed: return "failed";
    case GateOutcome::Inconclusive: return "inconclusive";
  }
  return "inconclusive";
}

GateThresholds GateThresholds::fromSettings(const RolloutSettings& s) {
  GateThresholds t;
  t.min_requests = s.min_requests;
  t.max_error_rate = s.max_error_rate;
  t.max_error_rate_increase = s.max_error_rate_increase;
  t.max_ttft_p99_ratio = s.max_ttft_p99_ratio;
  t.max_ttft_p99_ms = s.max_ttft_p99_ms;
  return t;
}

GateResult errorRateGate(const VersionObservations& green, const VersionObservations& blue,
                         const GateThresholds& t) {
  GateResult r{"error_rate", GateOutcome::Inconclusive, ""};
  if (green.requests < t.min_requests) {
    r.detail = fmt::format("green served {} requests, the gate needs {}", green.requests,
                           t.min_requests);
    return r;
  }
  double g = green.errorRate();
  double limit = t.max_error_rate;
  if (blue.requests >= t.min_requests)
    limit = std::min(limit, blue.errorRate() + t.max_error_rate_increase);
  r.outcome = g <= limit ? GateOutcome::Successful : GateOutcome::Failed;
  r.detail = fmt::format("green error rate {:.4f} ({}/{}), blue {:.4f} ({}/{}), limit {:.4f}", g,
                         green.errors, green.requests, blue.errorRate(), blue.errors,
                         blue.requests, limit);
  return r;
}

GateResult ttftGate(const VersionObservations& green, const VersionObservations& blue,
                    const GateThresholds& t) {
  GateResult r{"ttft_p99", GateOutcome::Inconclusive, ""};
  if (green.ttft_ms.size() < t.min_requests) {
    r.detail = fmt::format("{} green TTFT samples, the gate needs {}", green.ttft_ms.size(),
                           t.min_requests);
    return r;
  }
  double g = quantile(green.ttft_ms, 0.99);
  if (blue.ttft_ms.size() >= t.min_requests) {
    double b = quantile(blue.ttft_ms, 0.99);
    // 1 ms of slack: at loopback speeds both p99s can be ~0 and a ratio means nothing.
    double limit = b * t.max_ttft_p99_ratio + 1.0;
    r.outcome = g <= limit ? GateOutcome::Successful : GateOutcome::Failed;
    r.detail = fmt::format("green TTFT p99 {:.1f} ms, blue {:.1f} ms, limit {:.1f} ms", g, b, limit);
    return r;
  }
  if (t.max_ttft_p99_ms > 0) {
    r.outcome = g <= t.max_ttft_p99_ms ? GateOutcome::Successful : GateOutcome::Failed;
    r.detail = fmt::format("green TTFT p99 {:.1f} ms, absolute limit {} ms (too few blue samples)",
                           g, t.max_ttft_p99_ms);
    return r;
  }
  r.outcome = GateOutcome::Successful;
  r.detail = fmt::format("green TTFT p99 {:.1f} ms; no blue baseline and no absolute limit", g);
  return r;
}

}  // namespace regiongate::rollout
