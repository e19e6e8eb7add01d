#pragma once
// runPlan: `regiongate plan --deployment F`. Runs the deployment as configured (one pool per
// jurisdiction, caches and the routing index isolated per jurisdiction, failover only inside the
// pool) and the counterfactual single global pool, then derives the budget report.
// docs/planner.md defines every number.
#include <string>
#include <vector>

#include "common/result.h"
#include "sim/deployment.h"
#include "sim/warmup.h"
#include "sim/simulation.h"
#include "sim/warmup.h"
#include "sim/trace.h"

namespace regiongate::sim {

struct RegionReport {
  std::string name;
  std::string country;
  std::vector<std::string> jurisdictions;  // pools this region serves
  uint32_t instances = 0;
  double gpu_price_per_hour = 0;
  Summary summary;
  double gpu_hours = 0;
  double cost_usd = 0;
  double cost_per_m_input = 0;   // USD per 1M input tokens (GPU-time share of prefill)
  double cost_per_m_output = 0;  // USD per 1M output tokens (GPU-time share of decode)
  double utilisation = 0;        // prefill busy / span, mean over instances
  std::vector<double> hit_series;  // token hit rate per time bucket (-1 = no traffic)
  std::vector<double> ttft_quantiles;  // TTFT at 1%, 2%, ... 99%
};

struct JurisdictionReport {
  std::string name;
  double traffic_share = 0;
  std::vector<std::string> regions;
  Summary isolated;  // as configured
  Summary pooled;    // counterfactual: one global pool
  uint64_t rejected = 0;  // typed 503s (no live instance in the pool)
  double extra_prefill_gpu_hours = 0;  // recomputation isolation costs vs pooled
  double penalty_usd = 0;
  // Pooled minus isolated token hit rate, in percentage points (> 0: isolation caches less).
  double penaltyPoints() const {
    return 100.0 * (pooled.tokenHitRate() - isolated.tokenHitRate());
  }
  // The penalty per 1M input tokens the jurisdiction served.
  double penaltyPerMInput() const {
    return isolated.input_tokens ? penalty_usd / double(isolated.input_tokens) * 1e6 : 0;
  }
};

// A rollout's warm-up in the planner's run (sim/warmup.h has the figures' definitions).
struct WarmupReport : WarmupFigures {
  std::string region;
  std::string version;
  double at_s = 0;
};

struct BudgetReport {
  double infrastructure_usd = 0;   // sum over regions of instances x price x hours
  double cache_penalty_usd = 0;    // sum over jurisdictions of penalty_usd
  double rollout_ops_usd = 0;      // rollout gates x ops.rollout_gate_cost_usd
  double warmup_request_s = 0;     // latency lost while caches warm after rollouts
  double total_usd = 0;            // the three USD terms
};

struct PlanReport {
  std::string deployment;
  std::string description;
  std::string file;
  std::string policy;
  std::string workload;
  size_t requests = 0;
  double span_s = 0;
  double bucket_s = 60;
  std::vector<RegionReport> regions;
  std::vector<JurisdictionReport> jurisdictions;
  std::vector<WarmupReport> warmups;
  Summary total;
  Summary pooled_total;
  BudgetReport budget;
  bool residency_ok = false;
  size_t residency_errors = 0;
  size_t residency_warnings = 0;
  std::string residency_table;
  // Per request, as configured, in trace order (instance = index in `instance_names`).
  std::vector<RequestOutcome> outcomes;
  std::vector<std::string> instance_names;  // "<region>-<i>", regions in file order
};

Result<PlanReport> runPlan(const Deployment& deployment, const Trace& trace,
                           const ProgressFn& progress = {});
std::string formatPlanSummary(const PlanReport& report);

}  // namespace regiongate::sim
