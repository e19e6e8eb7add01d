#pragma once
// Rollout gates (docs/rollouts.md "Gates"): each judges green against blue and ends Successful
// (continue), Failed (roll back) or Inconclusive (pause for a person). Pure functions over the
// observations they are given, so tests and the simulator call them with made-up numbers.
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

struct GateThresholds {
  uint32_t min_requests = 20;
  double max_error_rate = 0.05;
  double max_error_rate_increase = 0.02;
  double max_ttft_p99_ratio = 1.5;
  uint32_t max_ttft_p99_ms = 0;
  static GateThresholds fromSettings(const RolloutSettings& s);
};

// `enough_time`: the step's maximum duration passed (too few samples then -> Inconclusive;
// before it, too few samples is not judged at all: the caller waits).
GateResult errorRateGate(const VersionObservations& green, const VersionObservations& blue,
                         const GateThresholds& t);
GateResult ttftGate(const VersionObservations& green, const VersionObservations& blue,
                    const GateThresholds& t);

}  // namespace regiongate::rollout
