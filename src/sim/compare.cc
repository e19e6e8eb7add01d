#include "sim/compare.h"

#include <algorithm>

#include <fmt/format.h>

namespace regiongate::sim {

namespace {

struct OneRun {
  SimResult result;
  PolicyRow row;
};

OneRun runPolicy(const Trace& trace, const std::string& policy_name, uint32_t n,
                 const CompareOptions& o, const ProgressFn& progress) {
  SimConfig cfg;
  PoolSpec pool;
  pool.jurisdiction = "pool";
  for (uint32_t i = 0; i < n; ++i) {
    cfg.instances.push_back(InstanceSpec{"i" + std::to_string(i), "region", o.params});
    pool.instances.push_back(i);
  }
  cfg.pools.push_back(pool);
  ManualClock clock;
  auto policy = routing::makePolicy(policy_name, comparePolicyOptions(o, n, trace.tokens_per_block),
                                    clock);
  OneRun out;
  out.result = runSimulation(cfg, trace, {}, *policy, progress);
  out.row.policy = policy_name;
  out.row.summary = summarise(out.result, {});
  uint64_t max_req = 0, total = 0;
  double busy = 0, busy_max = 0;
  for (const auto& it : out.result.instances) {
    max_req = std::max(max_req, it.requests);
    total += it.requests;
    busy += it.prefill_busy_ms;
    busy_max = std::max(busy_max, it.prefill_busy_ms);
  }
  double mean = double(total) / double(n);
  out.row.imbalance = mean > 0 ? double(max_req) / mean : 0;
  double span = std::max(1.0, trace.durationMs());
  out.row.utilisation = busy / double(n) / span;
  out.row.utilisation_max = busy_max / span;
  return out;
}

}  // namespace

routing::PolicyOptions comparePolicyOptions(const CompareOptions& o, uint32_t instances,
                                            uint32_t tokens_per_block) {
  routing::PolicyOptions po = o.policy_options;
  if (o.index_matches_kv && tokens_per_block > 0)
    po.index_capacity_blocks =
        std::max<size_t>(1, size_t(instances) * (o.params.kv_tokens / tokens_per_block));
  return po;
}

CompareResult comparePolicies(const Trace& original, const CompareOptions& o,
                              const ProgressFn& progress) {
  CompareResult res;
  res.trace = original.source;
  res.requests = original.requests.size();
  std::vector<std::string> names = o.policies;
  if (names.empty())
    for (auto n : routing::policyNames()) names.emplace_back(n);
  for (uint32_t n : o.instance_counts) {
    CompareBlock blk;
    blk.instances = n;
    // Fit the arrival scale: utilisation is proportional to 1/scale for a fixed amount of work,
    // so two pilot passes (all policies, mean utilisation) converge closely.
    double scale = o.time_scale > 0 ? o.time_scale : 1.0;
    if (o.time_scale <= 0) {
      for (int iter = 0; iter < 2; ++iter) {
        Trace t = original;
        scaleArrivals(t, scale);
        double util_sum = 0;
        for (const auto& name : names) util_sum += runPolicy(t, name, n, o, {}).row.utilisation;
        double util = util_sum / double(names.size());
        if (util > 0) scale *= util / o.utilisation;
      }
    }
    blk.time_scale = scale;
    Trace t = original;
    scaleArrivals(t, scale);
    blk.span_s = t.durationMs() / 1000.0;
    blk.ceiling = sharedCacheCeiling(t, 0);
    blk.shared_finite = sharedCacheCeiling(t, uint64_t(n) * o.params.kv_tokens);
    for (const auto& name : names) {
      if (progress) progress(0, 0);
      blk.rows.push_back(runPolicy(t, name, n, o, {}).row);
    }
    res.blocks.push_back(std::move(blk));
  }
  return res;
}

std::string formatCompare(const CompareResult& r) {
  std::string s;
  s += fmt::format("trace: {} ({} requests)\n", r.trace, r.requests);
  for (const auto& b : r.blocks) {
    s += fmt::format(
        "\n### {} instances (arrivals x{:.3f}, span {:.0f} s)\n"
        "ceiling: one unbounded shared cache {:.1f}% blocks ({:.1f}% tokens); one shared LRU "
        "cache of {} x KV {:.1f}% blocks\n\n",
        b.instances, b.time_scale, b.span_s, 100 * b.ceiling.block_hit_rate,
        100 * b.ceiling.token_hit_rate, b.instances, 100 * b.shared_finite.block_hit_rate);
    s += "| policy | hit rate (blocks) | hit rate (tokens) | TTFT mean ms | p50 ms | p99 ms | "
         "imbalance | util mean | util max |\n";
    s += "|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& row : b.rows) {
      s += fmt::format("| {} | {:.1f}% | {:.1f}% | {:.0f} | {:.0f} | {:.0f} | {:.3f} | {:.2f} | "
                       "{:.2f} |\n",
                       row.policy, 100 * row.summary.blockHitRate(),
                       100 * row.summary.tokenHitRate(), row.summary.ttft_mean,
                       row.summary.ttft_p50, row.summary.ttft_p99, row.imbalance, row.utilisation,
                       row.utilisation_max);
    }
  }
  return s;
}

}  // namespace regiongate::sim
