#include "demo/report.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/quantile.h"
#include "sim/simulation.h"
#include "sim/warmup.h"

namespace regiongate::demo {

namespace {

std::string jurisdictionOfRegion(const ReportInputs& in, const std::string& region) {
  for (const auto& r : in.regions)
    if (r.name == region) return r.jurisdiction;
  return "";
}

double priceOf(const ReportInputs& in, const std::string& jurisdiction) {
  double sum = 0, n = 0;
  for (const auto& r : in.regions)
    if (r.jurisdiction == jurisdiction) {
      sum += r.price_per_hour * r.instances;
      n += r.instances;
    }
  return n > 0 ? sum / n : 0;
}

// Prefill GPU cost of 1M input tokens at hit rate `hit`: uncached tokens x ms per token, priced.
double usdPerMInput(double hit, double prefill_ms_per_token, double price_per_hour) {
  return (1.0 - hit) * 1e6 * prefill_ms_per_token / 3.6e6 * price_per_hour;
}

std::vector<RegionRow> regionRows(const std::vector<Sample>& samples,
                                  const std::vector<PromSample>& metrics, double time_scale) {
  std::map<std::pair<std::string, std::string>, std::vector<const Sample*>> by;
  for (const auto& s : samples)
    by[{s.jurisdiction, s.status == 200 ? s.region : "(none)"}].push_back(&s);
  std::vector<RegionRow> rows;
  for (const auto& [key, v] : by) {
    RegionRow row;
    row.jurisdiction = key.first;
    row.region = key.second;
    row.requests = v.size();
    std::vector<double> ttft;
    for (const Sample* s : v) {
      if (s->status == 503) ++row.typed_503;
      if (s->status != 200) continue;
      ++row.ok;
      row.prompt_tokens += s->prompt_tokens;
      row.cached_tokens += s->cached_tokens;
      if (s->ttft_wall_ms >= 0) ttft.push_back(s->ttft_wall_ms / time_scale);
    }
    row.ttft_p50_ms = quantile(ttft, 0.5);
    row.ttft_p99_ms = quantile(ttft, 0.99);
    if (row.region != "(none)") {
      row.fallbacks_in = promSum(metrics, "regiongate_fallbacks_total",
                                 {{"jurisdiction", row.jurisdiction}, {"to_region", row.region}});
      row.violations =
          promSum(metrics, "regiongate_residency_violations_total",
                  {{"jurisdiction", row.jurisdiction}, {"actual_region", row.region}});
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

Warmup computeWarmup(const std::vector<Sample>& samples, const ReportInputs::Rollout& ro,
                     double time_scale, size_t window) {
  Warmup w;
  w.region = ro.region;
  w.from = ro.from;
  w.to = ro.to;
  w.at_s = ro.at_s;
  std::vector<const Sample*> before, after;
  for (const auto& s : samples) {
    if (s.status != 200 || s.region != ro.region) continue;
    (s.at_s < ro.at_s ? before : after).push_back(&s);
  }
  auto byTime = [](const Sample* a, const Sample* b) { return a->at_s < b->at_s; };
  std::sort(before.begin(), before.end(), byTime);
  std::sort(after.begin(), after.end(), byTime);
  // Model time, as the planner measures it.
  auto toWarmup = [&](const std::vector<const Sample*>& v) {
    std::vector<sim::WarmupSample> out;
    out.reserve(v.size());
    for (const Sample* s : v)
      out.push_back({s->at_s, static_cast<uint64_t>(std::max<int64_t>(0, s->prompt_tokens)),
                     static_cast<uint64_t>(std::max<int64_t>(0, s->cached_tokens)),
                     s->ttft_wall_ms / time_scale});
    return out;
  };
  static_cast<sim::WarmupFigures&>(w) =
      sim::measureWarmup(toWarmup(before), toWarmup(after), ro.at_s, window);
  for (size_t k = 0; k < w.warm_requests; ++k)
    ++w.versions_served[after[k]->version.empty() ? "?" : after[k]->version];
  return w;
}

DemoReport computeReport(const std::vector<Sample>& samples, const std::vector<PromSample>& metrics,
                         const ReportInputs& in) {
  DemoReport r;
  r.rows = regionRows(samples, metrics, in.time_scale);
  for (const auto& s : samples) {
    if (s.status != 200) continue;
    auto& j = r.jurisdictions[s.jurisdiction];
    ++j.ok;
    j.prompt_tokens += s.prompt_tokens;
    j.cached_tokens += s.cached_tokens;
    if (jurisdictionOfRegion(in, s.region) != s.jurisdiction) ++r.served_outside;
  }
  r.violations = promSum(metrics, "regiongate_residency_violations_total");

  Penalty& p = r.penalty;
  p.eu_hit = r.jurisdictions["EU"].hitRate();
  p.us_hit = r.jurisdictions["US"].hitRate();
  p.points = 100.0 * (p.us_hit - p.eu_hit);
  const double eu_price = priceOf(in, "EU");
  p.eu_usd_per_m_input = usdPerMInput(p.eu_hit, in.prefill_ms_per_token, eu_price);
  p.us_usd_per_m_input = usdPerMInput(p.us_hit, in.prefill_ms_per_token, eu_price);
  p.extra_usd_per_m_input = p.eu_usd_per_m_input - p.us_usd_per_m_input;

  for (const auto& ro : in.rollouts)
    r.warmups.push_back(computeWarmup(samples, ro, in.time_scale, in.warmup_window));

  Budget& b = r.budget;
  b.model_hours = in.wall_seconds / in.time_scale / 3600.0;
  for (const auto& g : in.regions) b.infrastructure_usd += g.instances * g.price_per_hour * b.model_hours;
  const double eu_tokens = double(r.jurisdictions["EU"].prompt_tokens);
  b.cache_penalty_usd = eu_tokens / 1e6 * p.extra_usd_per_m_input;
  b.rollout_ops_usd = double(in.rollouts.size()) * in.rollout_gate_cost_usd;
  for (const auto& w : r.warmups) b.warmup_request_s += w.added_request_s;
  b.total_usd = b.infrastructure_usd + b.cache_penalty_usd + b.rollout_ops_usd;
  return r;
}

std::string formatReport(const DemoReport& r, const ReportInputs& in) {
  std::string s = fmt::format("\n{:<4} {:<13} {:>8} {:>8} {:>9} {:>10} {:>10} {:>9} {:>9} {:>10}\n",
                              "jur", "region", "requests", "ok", "kv-hit", "ttft-p50", "ttft-p99",
                              "fallback", "typed503", "violations");
  for (const auto& row : r.rows)
    s += fmt::format("{:<4} {:<13} {:>8} {:>8} {:>8.1f}% {:>8.0f}ms {:>8.0f}ms {:>9.0f} {:>9} "
                     "{:>10.0f}\n",
                     row.jurisdiction, row.region, row.requests, row.ok, 100 * row.hitRate(),
                     row.ttft_p50_ms, row.ttft_p99_ms, row.fallbacks_in, row.typed_503,
                     row.violations);
  s += fmt::format("(TTFT in model time: wall / {:g}; the gateway's and loopback's own time is "
                   "scaled up with it)\n",
                   in.time_scale);

  const Penalty& p = r.penalty;
  s += fmt::format(
      "\nKV-cache isolation penalty: EU hit rate {:.1f} % vs US baseline {:.1f} % = {:.1f} points; "
      "prefill GPU cost per 1M input tokens {:.4f} USD in the EU vs {:.4f} USD at the US hit "
      "rate: +{:.4f} USD per 1M EU input tokens\n",
      100 * p.eu_hit, 100 * p.us_hit, p.points, p.eu_usd_per_m_input, p.us_usd_per_m_input,
      p.extra_usd_per_m_input);
  s += "  (same assistants' system prompts in both jurisdictions; the EU's smaller user pool "
       "reuses each less often, its caches cannot use the US's, and its rollout emptied them)\n";

  for (const auto& w : r.warmups) {
    if (w.steady_requests == 0) {
      s += fmt::format("\nrollout {} {} -> {} at {:.1f}s: the region took no traffic before it, "
                       "so there is no steady state to warm back up to\n",
                       w.region, w.from, w.to, w.at_s);
      continue;
    }
    std::string versions;
    for (const auto& [v, n] : w.versions_served) versions += fmt::format(" {}:{}", v, n);
    s += fmt::format(
        "\nrollout {} {} -> {} at {:.1f}s: steady hit rate {:.1f} %, first {} requests after "
        "{:.1f} % (cold cache); warm-up time to 90 % of steady: {}; mean TTFT {:.0f} ms during "
        "the warm-up vs {:.0f} ms steady = {:.1f} request-seconds added; responses by version "
        "there meanwhile:{}\n",
        w.region, w.from, w.to, w.at_s, 100 * w.steady_hit, in.warmup_window, 100 * w.dip_hit,
        w.time_to_90_s < 0 ? std::string("not reached")
                           : fmt::format("{:.1f} s wall ({:.0f} s model time, {} requests)",
                                         w.time_to_90_s, w.time_to_90_s / in.time_scale,
                                         w.warm_requests),
        w.warm_ttft_ms, w.steady_ttft_ms, w.added_request_s, versions);
  }

  const Budget& b = r.budget;
  s += fmt::format(
      "\nbudget for this demo's traffic ({:.3f} h of model time), planner definitions:\n"
      "  (infrastructure cost x regions) + (cache penalty x EU traffic) + (rollout gates) + "
      "(warm-up latency)\n"
      "  = {:.4f} USD + {:.6f} USD + {:.2f} USD + {:.1f} request-seconds of added TTFT\n"
      "  = {:.2f} USD, plus {:.1f} request-seconds\n",
      b.model_hours, b.infrastructure_usd, b.cache_penalty_usd, b.rollout_ops_usd,
      b.warmup_request_s, b.total_usd, b.warmup_request_s);
  s += fmt::format("\nresidency: {:.0f} violations counted by the gateway; {} responses served "
                   "outside their tenant's jurisdiction (must be 0)\n",
                   r.violations, r.served_outside);
  return s;
}

}  // namespace regiongate::demo
