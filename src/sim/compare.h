#pragma once
// comparePolicies: `regiongate plan --compare-policies`. Replays one trace over N instances of
// one pool with each routing policy and reports hit rate, TTFT, load imbalance and utilisation
// next to the single-shared-cache ceiling. docs/planner.md "Comparing policies" has the method.
#include <string>
#include <vector>

#include "routing/policy.h"
#include "sim/simulation.h"
#include "sim/trace.h"

namespace regiongate::sim {

struct CompareOptions {
  std::vector<uint32_t> instance_counts = {4, 8};
  double utilisation = 0.8;   // target mean prefill utilisation (the time scale is fitted to it)
  double time_scale = 0;      // > 0: use this arrival scale instead of fitting one
  InstanceParams params;      // per instance (kv_tokens etc.)
  std::vector<std::string> policies;  // empty = all of routing::policyNames()
  routing::PolicyOptions policy_options;
  bool index_matches_kv = true;  // prefix index capacity = the pool's total KV blocks
};

struct PolicyRow {
  std::string policy;
  Summary summary;
  double imbalance = 0;  // max / mean requests per instance
  double utilisation = 0;      // mean over instances of prefill busy / span
  double utilisation_max = 0;
};

struct CompareBlock {
  uint32_t instances = 0;
  double time_scale = 1;  // arrivals multiplied by this
  double span_s = 0;
  CeilingResult ceiling;         // one unbounded shared cache
  CeilingResult shared_finite;   // one shared LRU cache of instances x kv_tokens
  std::vector<PolicyRow> rows;
};

struct CompareResult {
  std::string trace;
  size_t requests = 0;
  std::vector<CompareBlock> blocks;
};

routing::PolicyOptions comparePolicyOptions(const CompareOptions& o, uint32_t instances,
                                            uint32_t tokens_per_block);
CompareResult comparePolicies(const Trace& trace, const CompareOptions& options,
                              const ProgressFn& progress = {});
std::string formatCompare(const CompareResult& result);  // the terminal table (markdown)

}  // namespace regiongate::sim
