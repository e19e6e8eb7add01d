#include "rollout/gate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/quantile.h"
#include "rollout/parity.h"

namespace regiongate::rollout {

namespace {

// The tail share a p99 limit allows.
constexpr double kTailShare = 0.01;
// At loopback speeds TTFTs are ~0 ms and ratios mean nothing: limits get 1 ms of slack.
constexpr double kSlackMs = 1.0;

double logBinomialTerm(uint64_t n, uint64_t i, double p) {
  const double dn = static_cast<double>(n), di = static_cast<double>(i);
  return std::lgamma(dn + 1) - std::lgamma(di + 1) - std::lgamma(dn - di + 1) + di * std::log(p) +
         (dn - di) * std::log1p(-p);
}

// TTFT samples above `limit_ms` and the p-value of "more than 1 % of green is above it".
struct TailTest {
  uint64_t above = 0;
  double p_value = 1;
};

TailTest tailTest(const std::vector<double>& ttft, double limit_ms) {
  TailTest t;
  for (double v : ttft)
    if (v > limit_ms) ++t.above;
  t.p_value = binomialUpperTail(ttft.size(), t.above, kTailShare);
  return t;
}

}  // namespace

std::string_view gateOutcomeName(GateOutcome o) {
  switch (o) {
    case GateOutcome::Successful: return "successful";
    case GateOutcome::Failed: return "failed";
    case GateOutcome::Inconclusive: return "inconclusive";
  }
  return "inconclusive";
}

double binomialUpperTail(uint64_t n, uint64_t k, double p) {
  if (k == 0) return 1;
  if (k > n || p <= 0) return 0;
  if (p >= 1) return 1;
  const auto mode = static_cast<uint64_t>(std::floor(static_cast<double>(n + 1) * p));
  double sum = 0;
  if (k > mode) {
    // Terms fall from k on: sum until they stop mattering.
    for (uint64_t i = k; i <= n; ++i) {
      double term = std::exp(logBinomialTerm(n, i, p));
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return std::min(1.0, sum);
  }
  for (uint64_t i = 0; i < k; ++i) sum += std::exp(logBinomialTerm(n, i, p));
  return std::clamp(1.0 - sum, 0.0, 1.0);
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
  std::string rates = fmt::format("green error rate {:.4f} ({}/{}), blue {:.4f} ({}/{}), limit {:.4f}",
                                  g, green.errors, green.requests, blue.errorRate(), blue.errors,
                                  blue.requests, limit);
  if (g <= limit) {
    r.outcome = GateOutcome::Successful;
    r.detail = rates;
    return r;
  }
  double p = binomialUpperTail(green.requests, green.errors, limit);
  r.outcome = p < t.gate_alpha ? GateOutcome::Failed : GateOutcome::Inconclusive;
  r.detail = fmt::format("{}; above the limit with p={:.3g} (alpha {}){}", rates, p, t.gate_alpha,
                         p < t.gate_alpha ? "" : ": not yet significant, collecting more");
  return r;
}

GateResult ttftGate(const VersionObservations& green, const VersionObservations& blue,
                    const GateThresholds& t, bool blue_expected) {
  GateResult r{"ttft_p99", GateOutcome::Inconclusive, ""};
  const size_t n = green.ttft_ms.size();
  if (n < t.min_requests) {
    r.detail = fmt::format("{} green TTFT samples, the gate needs {}", n, t.min_requests);
    return r;
  }
  const bool has_blue = blue.ttft_ms.size() >= t.min_requests;
  if (blue_expected && !has_blue) {
    r.detail = fmt::format("{} blue TTFT samples in this step, the comparison needs {}",
                           blue.ttft_ms.size(), t.min_requests);
    return r;
  }
  const double g99 = quantile(green.ttft_ms, 0.99);
  std::string detail = fmt::format("green TTFT p99 {:.1f} ms over {} samples", g99, n);
  bool failed = false;
  // The fixed limit: relative to blue's p99 when blue has a baseline, else the absolute ceiling.
  double limit = 0;
  if (has_blue) limit = quantile(blue.ttft_ms, 0.99) * t.max_ttft_p99_ratio + kSlackMs;
  else if (t.max_ttft_p99_ms > 0) limit = t.max_ttft_p99_ms;
  if (limit > 0) {
    TailTest tail = tailTest(green.ttft_ms, limit);
    bool over = tail.p_value < t.gate_alpha;
    failed = failed || over;
    detail += fmt::format("; {} above the {} limit {:.1f} ms (p={:.3g} that over 1% are){}",
                          tail.above, has_blue ? "blue-relative" : "absolute", limit,
                          tail.p_value, over ? " FAILED" : "");
  }
  if (has_blue) {
    const double gm = quantile(green.ttft_ms, 0.5), bm = quantile(blue.ttft_ms, 0.5);
    const double p = mannWhitneyGreaterP(blue.ttft_ms, green.ttft_ms);
    bool slower = p < t.gate_alpha && gm > bm * t.max_ttft_median_ratio + kSlackMs;
    failed = failed || slower;
    detail += fmt::format(
        "; rank test vs blue ({} samples): median {:.1f} vs {:.1f} ms, p={:.3g} that green is "
        "slower, tolerance x{}{}",
        blue.ttft_ms.size(), gm, bm, p, t.max_ttft_median_ratio, slower ? " FAILED" : "");
  } else if (limit == 0) {
    detail += "; no blue baseline and no absolute limit";
  }
  r.outcome = failed ? GateOutcome::Failed : GateOutcome::Successful;
  r.detail = std::move(detail);
  return r;
}

}  // namespace regiongate::rollout
