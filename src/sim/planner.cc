#include "sim/planner.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "common/quantile.h"
#include "legal/date.h"
#include "residency/proof.h"
#include "routing/policy.h"
#include "sim/warmup.h"

namespace regiongate::sim {

namespace {

// Requests in the rolling window of a rollout's warm-up (sim/warmup.h).
constexpr size_t kWarmupWindow = 50;

struct Layout {
  SimConfig configured;
  SimConfig pooled;
  std::vector<uint32_t> region_of_instance;
  std::vector<std::vector<uint32_t>> region_instances;
  std::vector<std::vector<std::string>> region_jurisdictions;
};

Result<Layout> buildLayout(const Deployment& d, const Config& cfg) {
  Layout l;
  l.region_instances.resize(d.regions.size());
  l.region_jurisdictions.resize(d.regions.size());
  for (uint32_t r = 0; r < d.regions.size(); ++r) {
    for (uint32_t i = 0; i < d.regions[r].instances; ++i) {
      uint32_t id = uint32_t(l.configured.instances.size());
      l.configured.instances.push_back(
          InstanceSpec{fmt::format("{}-{}", d.regions[r].name, i), d.regions[r].name,
                       d.regions[r].params});
      l.region_of_instance.push_back(r);
      l.region_instances[r].push_back(id);
    }
  }
  l.configured.model = d.model;
  for (const auto& j : d.jurisdictions) {
    const JurisdictionConfig* jc = cfg.jurisdiction(j.name);
    if (!jc) return Error::config("jurisdiction '" + j.name + "' missing from the config");
    PoolSpec pool;
    pool.jurisdiction = j.name;
    for (uint32_t r = 0; r < d.regions.size(); ++r) {
      if (!jc->resolved.count(d.regions[r].country)) continue;
      l.region_jurisdictions[r].push_back(j.name);
      for (uint32_t id : l.region_instances[r]) pool.instances.push_back(id);
    }
    l.configured.pools.push_back(pool);
  }
  for (const auto& ro : d.rollouts) {
    for (uint32_t r = 0; r < d.regions.size(); ++r)
      if (d.regions[r].name == ro.region)
        l.configured.flushes.push_back(
            CacheFlush{ro.at_s * 1000.0, l.region_instances[r], ro.region + "@" + ro.version});
  }
  for (const auto& f : d.failures) {
    for (uint32_t r = 0; r < d.regions.size(); ++r) {
      if (d.regions[r].name != f.region) continue;
      Outage o{f.from_s * 1000.0, f.to_s * 1000.0, {}, f.region};
      if (f.instance < 0) o.instances = l.region_instances[r];
      else if (size_t(f.instance) < l.region_instances[r].size())
        o.instances.push_back(l.region_instances[r][size_t(f.instance)]);
      else
        return Error::config(fmt::format("failure: region {} has no instance {}", f.region,
                                         f.instance));
      l.configured.outages.push_back(o);
    }
  }
  l.pooled = l.configured;
  l.pooled.pools.clear();
  PoolSpec all;
  all.jurisdiction = "global";
  for (uint32_t i = 0; i < l.configured.instances.size(); ++i) all.instances.push_back(i);
  l.pooled.pools.push_back(all);
  return l;
}

routing::PolicyOptions planPolicyOptions(const Deployment& d, const Config& cfg, const Trace& t) {
  // The gateway's options, from the same config structure the gateway reads.
  routing::PolicyOptions po = policyOptions(cfg.routing);
  if (d.candidate_info == "gateway") return po;
  // The index remembers about as many blocks as the instances can hold (docs/planner.md).
  uint64_t blocks = 0;
  for (const auto& r : d.regions) blocks += uint64_t(r.instances) * (r.params.kv_tokens / t.tokens_per_block);
  po.index_capacity_blocks = std::max<size_t>(1, size_t(blocks));
  return po;
}

}  // namespace

Result<PlanReport> runPlan(const Deployment& d, const Trace& original, const ProgressFn& progress) {
  auto cfg = deploymentConfig(d);
  if (!cfg) return cfg.error();
  auto layout = buildLayout(d, **cfg);
  if (!layout) return layout.error();
  Layout& l = *layout;
  if (d.candidate_info == "gateway") {
    l.configured.expose_queue = false;
    l.pooled.expose_queue = false;
    l.configured.learn_at_first_token = true;
    l.pooled.learn_at_first_token = true;
  }
  ManualClock policy_clock;
  const routing::PolicyKind kind = (*cfg)->routing.policy;

  Trace trace = original;
  scaleArrivals(trace, d.time_scale);
  std::vector<double> cumulative;
  double total_share = 0;
  for (const auto& j : d.jurisdictions) total_share += j.traffic_share;
  double acc = 0;
  for (const auto& j : d.jurisdictions) cumulative.push_back((acc += j.traffic_share) / total_share);
  std::vector<uint32_t> pool_of(trace.requests.size());
  for (size_t i = 0; i < trace.requests.size(); ++i)
    pool_of[i] = jurisdictionOf(trace.requests[i].conversation, cumulative);
  std::vector<uint32_t> zeros(trace.requests.size(), 0);

  const auto po = planPolicyOptions(d, **cfg, trace);
  auto policy = routing::makePolicy(kind, po, policy_clock);
  SimResult iso = runSimulation(l.configured, trace, pool_of, *policy, progress);
  auto pooled_policy = routing::makePolicy(kind, po, policy_clock);
  SimResult pooled = runSimulation(l.pooled, trace, zeros, *pooled_policy, progress);

  PlanReport rep;
  rep.deployment = d.name;
  rep.description = d.description;
  rep.file = d.file;
  rep.policy = std::string(routing::policyName(kind));
  rep.workload = trace.source;
  rep.requests = trace.requests.size();
  double start_ms = trace.requests.empty() ? 0 : trace.requests.front().arrival_ms;
  double span_ms = std::max(1.0, std::max(iso.end_ms, pooled.end_ms) - start_ms);
  rep.span_s = span_ms / 1000.0;
  rep.bucket_s = std::max(1.0, std::ceil(rep.span_s / 60.0));
  const size_t buckets = size_t(std::ceil(rep.span_s / rep.bucket_s));
  const double hours = span_ms / 3.6e6;
  rep.total = summarise(iso, {});
  rep.outcomes = iso.outcomes;
  for (const auto& inst : l.configured.instances) rep.instance_names.push_back(inst.name);
  rep.pooled_total = summarise(pooled, {});

  // Regions.
  for (uint32_t r = 0; r < d.regions.size(); ++r) {
    const DeployRegion& dr = d.regions[r];
    RegionReport rr;
    rr.name = dr.name;
    rr.country = dr.country;
    rr.jurisdictions = l.region_jurisdictions[r];
    rr.instances = dr.instances;
    rr.gpu_price_per_hour = dr.gpu_price_per_hour;
    auto in_region = [&](const RequestOutcome& o) {
      return o.instance != kNoInstance && l.region_of_instance[o.instance] == r;
    };
    rr.summary = summarise(iso, in_region);
    rr.gpu_hours = double(dr.instances) * hours;
    rr.cost_usd = rr.gpu_hours * dr.gpu_price_per_hour;
    double prefill_ms = 0, decode_gpu_ms = 0;
    for (uint32_t id : l.region_instances[r]) {
      prefill_ms += iso.instances[id].prefill_busy_ms;
      decode_gpu_ms += iso.instances[id].decode_ms / std::max(1u, dr.params.batch_slots);
    }
    rr.utilisation = dr.instances ? prefill_ms / double(dr.instances) / span_ms : 0;
    double gpu_ms = prefill_ms + decode_gpu_ms;
    double share_in = gpu_ms > 0 ? prefill_ms / gpu_ms : 0.5;
    if (rr.summary.input_tokens)
      rr.cost_per_m_input = rr.cost_usd * share_in / double(rr.summary.input_tokens) * 1e6;
    if (rr.summary.output_tokens)
      rr.cost_per_m_output = rr.cost_usd * (1 - share_in) / double(rr.summary.output_tokens) * 1e6;
    std::vector<uint64_t> in(buckets, 0), cached(buckets, 0);
    std::vector<double> ttft;
    for (const auto& o : iso.outcomes) {
      if (!in_region(o)) continue;
      size_t b = std::min(buckets - 1, size_t((o.arrival_ms - start_ms) / 1000.0 / rep.bucket_s));
      in[b] += o.input_tokens;
      cached[b] += o.cached_tokens;
      ttft.push_back(o.ttft_ms);
    }
    for (size_t b = 0; b < buckets; ++b)
      rr.hit_series.push_back(in[b] ? double(cached[b]) / double(in[b]) : -1);
    std::sort(ttft.begin(), ttft.end());
    for (int q = 1; q <= 99 && !ttft.empty(); ++q)
      rr.ttft_quantiles.push_back(quantileSorted(ttft, q / 100.0));
    rep.budget.infrastructure_usd += rr.cost_usd;
    rep.regions.push_back(std::move(rr));
  }

  // Jurisdictions: isolated vs pooled, the same requests.
  for (uint32_t j = 0; j < d.jurisdictions.size(); ++j) {
    JurisdictionReport jr;
    jr.name = d.jurisdictions[j].name;
    jr.traffic_share = d.jurisdictions[j].traffic_share / total_share;
    for (uint32_t r = 0; r < d.regions.size(); ++r)
      for (const auto& name : l.region_jurisdictions[r])
        if (name == jr.name) jr.regions.push_back(d.regions[r].name);
    std::vector<bool> mine(trace.requests.size());
    for (size_t i = 0; i < mine.size(); ++i) mine[i] = pool_of[i] == j;
    size_t idx = 0;
    jr.isolated = summarise(iso, [&](const RequestOutcome& o) { return o.pool == j; });
    idx = 0;
    jr.pooled = summarise(pooled, [&](const RequestOutcome&) { return mine[idx++]; });
    jr.rejected = jr.isolated.requests - jr.isolated.served;
    double extra_ms = 0, extra_usd = 0;
    for (size_t i = 0; i < trace.requests.size(); ++i) {
      if (!mine[i]) continue;
      const auto& a = iso.outcomes[i];
      const auto& b = pooled.outcomes[i];
      if (a.instance == kNoInstance || b.instance == kNoInstance) continue;
      double delta_tokens = double(b.cached_tokens) - double(a.cached_tokens);
      const DeployRegion& dr = d.regions[l.region_of_instance[a.instance]];
      double ms = delta_tokens * dr.params.prefill_ms_per_token;
      extra_ms += ms;
      extra_usd += ms / 3.6e6 * dr.gpu_price_per_hour;
    }
    jr.extra_prefill_gpu_hours = extra_ms / 3.6e6;
    jr.penalty_usd = extra_usd;
    rep.budget.cache_penalty_usd += extra_usd;
    rep.jurisdictions.push_back(std::move(jr));
  }

  // Warm-up after each rollout (sim/warmup.h; rolling window of kWarmupWindow requests).
  for (const auto& ro : d.rollouts) {
    WarmupReport w;
    w.region = ro.region;
    w.version = ro.version;
    w.at_s = ro.at_s;
    uint32_t r = 0;
    while (r < d.regions.size() && d.regions[r].name != ro.region) ++r;
    std::vector<WarmupSample> before, after;
    for (const auto& o : iso.outcomes) {
      if (o.instance == kNoInstance || l.region_of_instance[o.instance] != r) continue;
      const double at_s = (o.arrival_ms - start_ms) / 1000.0;
      (at_s < ro.at_s ? before : after)
          .push_back({at_s, o.input_tokens, o.cached_tokens, o.ttft_ms});
    }
    static_cast<WarmupFigures&>(w) = measureWarmup(before, after, ro.at_s, kWarmupWindow);
    rep.budget.warmup_request_s += w.added_request_s;
    rep.warmups.push_back(w);
  }
  rep.budget.rollout_ops_usd = double(d.rollouts.size()) * d.rollout_gate_cost_usd;
  rep.budget.total_usd =
      rep.budget.infrastructure_usd + rep.budget.cache_penalty_usd + rep.budget.rollout_ops_usd;

  // Residency verdict over the implied gateway config.
  legal::Date today = legal::dateFromWallMicros(SystemClock::instance().wallMicros());
  if (!d.proof_date.empty()) {
    auto parsed = legal::parseDate(d.proof_date);
    if (!parsed) return Error::config("proof_date: not YYYY-MM-DD");
    today = *parsed;
  }
  auto proof = residency::proveResidency(**cfg, today);
  rep.residency_ok = proof.ok();
  rep.residency_errors = proof.errors.size();
  rep.residency_warnings = proof.warnings.size();
  rep.residency_table = proof.table();
  return rep;
}

std::string formatPlanSummary(const PlanReport& r) {
  std::string s;
  s += fmt::format("plan: {} — policy {}, workload {} ({} requests, {:.0f} s simulated)\n\n",
                   r.deployment, r.policy, r.workload, r.requests, r.span_s);
  s += "| region | country | inst | hit rate | TTFT p50 ms | TTFT p99 ms | util | GPU-h | cost USD "
       "| USD/1M in | USD/1M out |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& g : r.regions)
    s += fmt::format("| {} | {} | {} | {:.1f}% | {:.0f} | {:.0f} | {:.2f} | {:.2f} | {:.2f} | "
                     "{:.3f} | {:.3f} |\n",
                     g.name, g.country, g.instances, 100 * g.summary.tokenHitRate(),
                     g.summary.ttft_p50, g.summary.ttft_p99, g.utilisation, g.gpu_hours,
                     g.cost_usd, g.cost_per_m_input, g.cost_per_m_output);
  s += "\n| jurisdiction | share | regions | hit rate (pooled) | TTFT p50 ms (pooled) | TTFT p99 ms "
       "(pooled) | availability | 503s | isolation penalty USD | points | USD/1M in |\n"
       "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& j : r.jurisdictions) {
    std::string regions;
    for (const auto& x : j.regions) regions += (regions.empty() ? "" : " ") + x;
    s += fmt::format("| {} | {:.0f}% | {} | {:.1f}% ({:.1f}%) | {:.0f} ({:.0f}) | {:.0f} ({:.0f}) | "
                     "{:.3f}% | {} | {:.2f} | {:+.1f} | {:.4f} |\n",
                     j.name, 100 * j.traffic_share, regions.empty() ? "(none)" : regions,
                     100 * j.isolated.tokenHitRate(), 100 * j.pooled.tokenHitRate(),
                     j.isolated.ttft_p50, j.pooled.ttft_p50, j.isolated.ttft_p99,
                     j.pooled.ttft_p99, 100 * j.isolated.availability(), j.rejected,
                     j.penalty_usd, j.penaltyPoints(), j.penaltyPerMInput());
  }
  for (const auto& j : r.jurisdictions)
    if (j.penalty_usd < 0)
      s += fmt::format("\nnote: {}'s isolation penalty is negative: isolated, its requests found "
                       "more of their prefixes cached than in the single global pool. Isolation "
                       "also partitions the caches, so a jurisdiction whose prefixes are not "
                       "shared with the others is not evicted by their traffic; it comes out "
                       "cheaper when little is shared across jurisdictions and caches are small "
                       "(docs/planner.md, \"When isolation comes out cheaper\").\n",
                       j.name);
  if (!r.warmups.empty()) {
    s += "\n| rollout | at s | steady hit | time to 90% s | warm-up TTFT mean ms (steady) | added "
         "request-s |\n|---|---|---|---|---|---|\n";
    for (const auto& w : r.warmups)
      s += fmt::format("| {}@{} | {:.0f} | {:.1f}% | {} | {:.0f} ({:.0f}) | {:.1f} |\n", w.region,
                       w.version, w.at_s, 100 * w.steady_hit,
                       w.time_to_90_s < 0 ? std::string("not reached")
                                          : fmt::format("{:.0f}", w.time_to_90_s),
                       w.warm_ttft_ms, w.steady_ttft_ms, w.added_request_s);
  }
  const auto& b = r.budget;
  s += fmt::format(
      "\nbudget = (infrastructure cost x regions) + (cache penalty x EU traffic) + (operational "
      "overhead of per-region rollout gates) + (warm-up latency)\n"
      "       = {:.2f} USD + {:.2f} USD + {:.2f} USD + {:.1f} request-seconds of added TTFT\n"
      "       = {:.2f} USD for {:.2f} h, plus {:.1f} request-seconds\n",
      b.infrastructure_usd, b.cache_penalty_usd, b.rollout_ops_usd, b.warmup_request_s,
      b.total_usd, r.span_s / 3600.0, b.warmup_request_s);
  s += fmt::format("\nresidency: {} ({} errors, {} warnings) — `regiongate check` over the implied "
                   "config\n",
                   r.residency_ok ? "PROVEN" : "FAILED", r.residency_errors, r.residency_warnings);
  return s;
}

}  // namespace regiongate::sim
