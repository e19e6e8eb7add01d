#pragma once
// Rollout gates (docs/rollouts.md "Gates"): each judges green against blue and ends Successful
// (continue), Failed (roll back) or Inconclusive (keep collecting; pause for a person after the
// step's maximum duration). Pure functions over the observations they are given, so tests and the
// simulator call them with made-up numbers.
//
// A gate fails only on evidence: below `min_requests` samples it is Inconclusive, and above it a
// limit counts as exceeded only when a one-sided test says so at `gate_alpha` (a binomial test for
// the error rate and the TTFT tail, a Mann-Whitney U rank test of green's TTFT against blue's in
// the same window, as Kayenta compares canary and baseline). One slow or failed request among a
// few dozen therefore never rolls a rollout back.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace regiongate::rollout {

enum class GateOutcome { Successful, Failed, Inconclusive };
std::string_view gateOutcomeName(GateOutcome o);

struct GateResult {
  std::string gate;    // "error_rate" | "ttft_p99" | "parity"
  GateOutcome outcome = GateOutcome::Inconclusive;
  std::string detail;  // one line a person can act on
};

// What the gateway observed for one version of one (region, model) during a window.
struct VersionObservations {
  uint64_t requests = 0;
  uint64_t errors = 0;              // 5xx from upstream or broken responses (not 4xx)
  std::vector<double> ttft_ms;      // bounded sample (reservoir), successful responses only
  double errorRate() const { return requests ? static_cast<double>(errors) / requests : 0.0; }
};

// The limits come from the config's `rollout:` section (RolloutSettings is a GateThresholds).
using GateThresholds = regiongate::GateThresholds;

// P(X >= k) for X ~ Binomial(n, p): how likely `k` or more events are if the true rate were `p`.
double binomialUpperTail(uint64_t n, uint64_t k, double p);

GateResult errorRateGate(const VersionObservations& green, const VersionObservations& blue,
                         const GateThresholds& t);
// `blue_expected`: blue still takes part of the traffic (a step below 100 %), so a comparison
// with blue is owed: until blue has `min_requests` samples the gate is Inconclusive rather than
// judged against the absolute limit alone.
GateResult ttftGate(const VersionObservations& green, const VersionObservations& blue,
                    const GateThresholds& t, bool blue_expected = false);

}  // namespace regiongate::rollout
