#pragma once
// The demo's report, computed from what its clients saw (samples) and what its gateway counted
// (/metrics), with the planner's definitions (docs/planner.md, "The report"):
//   hit rate            cached prompt tokens / prompt tokens of the requests served there
//   TTFT                client send -> first content event, in model time (wall / time_scale)
//   isolation penalty   the gap between the EU's hit rate and the US baseline, in points, and
//                       the extra prefill GPU time it costs: uncached tokens x prefill ms per
//                       token, priced at the region's instance-hour
//   warm-up             steady hit rate = the region's last 20 % (>= window) requests before the
//                       rollout; time to 90 % = from the rollout until the rolling hit rate of
//                       the region's next `window` requests reaches 0.9 x steady; added latency =
//                       (mean TTFT during the warm-up - steady mean) x warm-up requests
//   budget              (infrastructure cost x regions) + (cache penalty x EU traffic) +
//                       (rollout gates) + (warm-up latency, in request-seconds)
// Pure functions over plain data: unit-testable without a gateway.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "demo/client.h"
#include "demo/prom.h"
#include "sim/warmup.h"

namespace regiongate::demo {

struct RegionCosting {
  std::string name;
  std::string jurisdiction;
  uint32_t instances = 0;
  double price_per_hour = 0;  // USD per instance-hour
};

struct ReportInputs {
  double time_scale = 1;            // mock latency scale: model ms = wall ms / time_scale
  double prefill_ms_per_token = 0;  // the latency model's, in model time
  double wall_seconds = 0;          // the workload's duration
  double rollout_gate_cost_usd = 0;
  std::vector<RegionCosting> regions;
  struct Rollout {
    std::string region, from, to;
    double at_s = 0;  // wall seconds since the workload started
  };
  std::vector<Rollout> rollouts;
  size_t warmup_window = 20;
};

struct RegionRow {
  std::string jurisdiction, region;  // region "(none)" = not served
  size_t requests = 0, ok = 0, typed_503 = 0;
  int64_t prompt_tokens = 0, cached_tokens = 0;
  double ttft_p50_ms = 0, ttft_p99_ms = 0;  // model time
  double fallbacks_in = 0, violations = 0;
  double hitRate() const { return prompt_tokens ? double(cached_tokens) / double(prompt_tokens) : 0; }
};

struct JurisdictionTotals {
  size_t ok = 0;
  int64_t prompt_tokens = 0, cached_tokens = 0;
  double hitRate() const { return prompt_tokens ? double(cached_tokens) / double(prompt_tokens) : 0; }
};

struct Penalty {
  double eu_hit = 0, us_hit = 0;
  double points = 0;                 // (US - EU) x 100
  double eu_usd_per_m_input = 0;     // prefill GPU cost per 1M input tokens at the EU hit rate
  double us_usd_per_m_input = 0;     // the same at the US baseline, at the EU's price
  double extra_usd_per_m_input = 0;  // EU - US
};

// A rollout's warm-up in the demo's traffic, with the planner's definitions (sim/warmup.h);
// times are wall seconds, TTFTs model time.
struct Warmup : sim::WarmupFigures {
  std::string region, from, to;
  double at_s = 0;
  std::map<std::string, size_t> versions_served;  // region's responses by version, until warm
};

struct Budget {
  double infrastructure_usd = 0, cache_penalty_usd = 0, rollout_ops_usd = 0, total_usd = 0;
  double warmup_request_s = 0;
  double model_hours = 0;
};

struct DemoReport {
  std::vector<RegionRow> rows;
  std::map<std::string, JurisdictionTotals> jurisdictions;
  Penalty penalty;
  std::vector<Warmup> warmups;
  Budget budget;
  double violations = 0;
  size_t served_outside = 0;  // 200s whose region is outside the tenant's jurisdiction
};

// `region_jurisdiction`: every region's jurisdiction (regions are never shared in the demo).
DemoReport computeReport(const std::vector<Sample>& samples, const std::vector<PromSample>& metrics,
                         const ReportInputs& in);
Warmup computeWarmup(const std::vector<Sample>& samples, const ReportInputs::Rollout& rollout,
                     double time_scale, size_t window);

std::string formatReport(const DemoReport& r, const ReportInputs& in);

}  // namespace regiongate::demo
