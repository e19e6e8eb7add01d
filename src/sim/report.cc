#include "sim/report.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace regiongate::sim {

namespace {

constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                   "#8c564b", "#e377c2", "#17becf"};
const char* color(size_t i) { return kColors[i % 8]; }

constexpr double W = 720, H = 300, L = 60, R = 160, T = 20, B = 40;

// x_max <= 0: a category axis; the chart writes its own labels under the x axis.
std::string axes(double x_max, double y_max, const std::string& x_label,
                 const std::string& y_label, const std::string& y_fmt) {
  std::string s;
  s += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#333\"/>", L, H - B,
                   W - R, H - B);
  s += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#333\"/>", L, T, L,
                   H - B);
  for (int k = 0; k <= 4; ++k) {
    double y = H - B - (H - B - T) * k / 4.0;
    double v = y_max * k / 4.0;
    s += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#eee\"/>", L,
                     y, W - R, y);
    s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"end\">{}</text>",
                     L - 4, y + 3, fmt::format(fmt::runtime(y_fmt), v));
    if (x_max <= 0) continue;
    double x = L + (W - R - L) * k / 4.0;
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{:.0f}"
                     "</text>",
                     x, H - B + 14, x_max * k / 4.0);
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
                   (L + W - R) / 2, H - 6, htmlEscape(x_label));
  s += fmt::format("<text x=\"12\" y=\"{}\" font-size=\"11\" transform=\"rotate(-90 12 {})\" "
                   "text-anchor=\"middle\">{}</text>",
                   (T + H - B) / 2, (T + H - B) / 2, htmlEscape(y_label));
  return s;
}

std::string legend(size_t i, const std::string& label) {
  double y = T + 10 + 16 * double(i);
  return fmt::format("<rect x=\"{}\" y=\"{:.0f}\" width=\"10\" height=\"10\" fill=\"{}\"/>"
                     "<text x=\"{}\" y=\"{:.0f}\" font-size=\"11\">{}</text>",
                     W - R + 10, y - 9, color(i), W - R + 24, y, htmlEscape(label));
}

std::string svgOpen(const std::string& id, const std::string& title) {
  return fmt::format("<svg id=\"{}\" width=\"{}\" "
                     "height=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\"><title>{}</title>",
                     id, W, H, W, H, htmlEscape(title));
}

std::string hitRateChart(const PlanReport& r) {
  std::string s = svgOpen("chart-hit-rate", "KV-cache hit rate over time per region");
  s += axes(r.span_s, 100, "time (s)", "hit rate (%)", "{:.0f}");
  for (size_t i = 0; i < r.regions.size(); ++i) {
    const auto& series = r.regions[i].hit_series;
    std::string pts;
    for (size_t b = 0; b < series.size(); ++b) {
      if (series[b] < 0) continue;
      double x = L + (W - R - L) * std::min(1.0, (double(b) + 0.5) * r.bucket_s / std::max(1.0, r.span_s));
      double y = H - B - (H - B - T) * series[b];
      pts += fmt::format("{:.1f},{:.1f} ", x, y);
    }
    if (!pts.empty())
      s += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"{}\"/>",
                       color(i), pts);
    s += legend(i, r.regions[i].name);
  }
  for (const auto& w : r.warmups) {
    double x = L + (W - R - L) * std::min(1.0, w.at_s / std::max(1.0, r.span_s));
    s += fmt::format("<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" stroke=\"#999\" "
                     "stroke-dasharray=\"4 3\"/>",
                     x, T, x, H - B);
  }
  return s + "</svg>";
}

std::string costChart(const PlanReport& r) {
  std::string s = svgOpen("chart-cost", "Cost per region (USD)");
  double max_cost = 1e-9;
  for (const auto& g : r.regions) max_cost = std::max(max_cost, g.cost_usd);
  s += axes(0, max_cost * 1.1, "region", "USD", "{:.1f}");
  double slot = (W - R - L) / std::max<size_t>(1, r.regions.size());
  for (size_t i = 0; i < r.regions.size(); ++i) {
    double h = (H - B - T) * r.regions[i].cost_usd / (max_cost * 1.1);
    double x = L + slot * double(i) + slot * 0.2;
    s += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
                     "fill=\"{}\"/>",
                     x, H - B - h, slot * 0.6, h, color(i));
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"middle\">"
                     "{:.2f}</text>",
                     x + slot * 0.3, H - B - h - 3, r.regions[i].cost_usd);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{}"
                     "</text>",
                     x + slot * 0.3, H - B + 14, htmlEscape(r.regions[i].name));
    s += legend(i, r.regions[i].name);
  }
  return s + "</svg>";
}

std::string ttftChart(const PlanReport& r) {
  std::string s = svgOpen("chart-ttft", "TTFT distribution per region (CDF)");
  double max_ms = 1e-9;
  for (const auto& g : r.regions)
    if (!g.ttft_quantiles.empty()) max_ms = std::max(max_ms, g.ttft_quantiles.back());
  s += axes(max_ms, 100, "TTFT (ms, up to p99)", "percentile", "{:.0f}");
  for (size_t i = 0; i < r.regions.size(); ++i) {
    std::string pts;
    const auto& q = r.regions[i].ttft_quantiles;
    for (size_t k = 0; k < q.size(); ++k) {
      double x = L + (W - R - L) * q[k] / max_ms;
      double y = H - B - (H - B - T) * double(k + 1) / 100.0;
      pts += fmt::format("{:.1f},{:.1f} ", x, y);
    }
    if (!pts.empty())
      s += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"{}\"/>",
                       color(i), pts);
    s += legend(i, r.regions[i].name);
  }
  return s + "</svg>";
}

}  // namespace

std::string htmlEscape(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (char c : in) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string renderHtmlReport(const PlanReport& r) {
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += fmt::format("<title>regiongate plan: {}</title>\n", htmlEscape(r.deployment));
  h += "<style>body{font-family:sans-serif;max-width:1000px;margin:1em auto;color:#222}"
       "table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ccc;padding:3px 7px;"
       "text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}"
       ".ok{color:#080}.bad{color:#b00}pre{background:#f8f8f8;padding:8px;overflow-x:auto;"
       "font-size:11px}</style>\n</head>\n<body>\n";
  h += fmt::format("<h1>regiongate plan: {}</h1>\n", htmlEscape(r.deployment));
  if (!r.description.empty()) h += fmt::format("<p>{}</p>\n", htmlEscape(r.description));
  h += fmt::format("<p>Deployment file <code>{}</code>; routing policy <code>{}</code>; workload "
                   "<code>{}</code>, {} requests over {:.0f} simulated seconds.</p>\n",
                   htmlEscape(r.file), htmlEscape(r.policy), htmlEscape(r.workload), r.requests,
                   r.span_s);
  const auto& b = r.budget;
  h += "<h2>Budget</h2>\n<p>(infrastructure cost &times; regions) + (cache penalty &times; EU "
       "traffic) + (operational overhead of per-region rollout gates) + (warm-up latency)</p>\n";
  h += fmt::format("<p><b>= {:.2f} USD + {:.2f} USD + {:.2f} USD + {:.1f} request-seconds = "
                   "{:.2f} USD</b> for {:.2f} h of traffic, plus {:.1f} request-seconds of added "
                   "TTFT.</p>\n",
                   b.infrastructure_usd, b.cache_penalty_usd, b.rollout_ops_usd,
                   b.warmup_request_s, b.total_usd, r.span_s / 3600, b.warmup_request_s);
  h += fmt::format("<h2>Residency</h2>\n<p class=\"{}\">{} ({} errors, {} warnings)</p>\n"
                   "<details><summary>proof</summary><pre>{}</pre></details>\n",
                   r.residency_ok ? "ok" : "bad", r.residency_ok ? "PROVEN" : "FAILED",
                   r.residency_errors, r.residency_warnings, htmlEscape(r.residency_table));
  h += "<h2>Regions</h2>\n<table>\n<tr><th>region</th><th>country</th><th>serves</th>"
       "<th>instances</th><th>hit rate</th><th>TTFT p50 ms</th><th>TTFT p99 ms</th>"
       "<th>utilisation</th><th>GPU-hours</th><th>cost USD</th><th>USD / 1M in</th>"
       "<th>USD / 1M out</th></tr>\n";
  for (const auto& g : r.regions) {
    std::string serves;
    for (const auto& j : g.jurisdictions) serves += (serves.empty() ? "" : ", ") + j;
    h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1f}%</td>"
                     "<td>{:.0f}</td><td>{:.0f}</td><td>{:.2f}</td><td>{:.2f}</td><td>{:.2f}</td>"
                     "<td>{:.3f}</td><td>{:.3f}</td></tr>\n",
                     htmlEscape(g.name), htmlEscape(g.country), htmlEscape(serves), g.instances,
                     100 * g.summary.tokenHitRate(), g.summary.ttft_p50, g.summary.ttft_p99,
                     g.utilisation, g.gpu_hours, g.cost_usd, g.cost_per_m_input,
                     g.cost_per_m_output);
  }
  h += "</table>\n<h2>Jurisdictions: isolated vs one global pool</h2>\n<table>\n<tr>"
       "<th>jurisdiction</th><th>traffic</th><th>hit rate</th><th>pooled hit rate</th>"
       "<th>TTFT p50 ms</th><th>pooled p50</th><th>TTFT p99 ms</th><th>pooled p99</th>"
       "<th>availability</th><th>503s</th><th>extra prefill GPU-h</th><th>penalty USD</th>"
       "<th>penalty points</th><th>penalty USD/1M in</th></tr>\n";
  for (const auto& j : r.jurisdictions)
    h += fmt::format("<tr><td>{}</td><td>{:.0f}%</td><td>{:.1f}%</td><td>{:.1f}%</td>"
                     "<td>{:.0f}</td><td>{:.0f}</td><td>{:.0f}</td><td>{:.0f}</td>"
                     "<td>{:.3f}%</td><td>{}</td><td>{:.3f}</td><td>{:.2f}</td><td>{:+.1f}</td>"
                     "<td>{:.4f}</td></tr>\n",
                     htmlEscape(j.name), 100 * j.traffic_share, 100 * j.isolated.tokenHitRate(),
                     100 * j.pooled.tokenHitRate(), j.isolated.ttft_p50, j.pooled.ttft_p50,
                     j.isolated.ttft_p99, j.pooled.ttft_p99, 100 * j.isolated.availability(),
                     j.rejected, j.extra_prefill_gpu_hours, j.penalty_usd, j.penaltyPoints(),
                     j.penaltyPerMInput());
  h += "</table>\n";
  for (const auto& j : r.jurisdictions)
    if (j.penalty_usd < 0)
      h += fmt::format("<p>{}: negative penalty. Isolated, its requests found more of their "
                       "prefixes cached than in one global pool: isolation also partitions the "
                       "caches, so little shared across jurisdictions and small caches can make "
                       "it cheaper (see docs/planner.md).</p>\n",
                       htmlEscape(j.name));
  if (!r.warmups.empty()) {
    h += "<h2>Warm-up after rollouts</h2>\n<table>\n<tr><th>rollout</th><th>at s</th>"
         "<th>steady hit rate</th><th>time to 90% s</th><th>warm-up TTFT mean ms</th>"
         "<th>steady TTFT mean ms</th><th>added request-s</th></tr>\n";
    for (const auto& w : r.warmups)
      h += fmt::format("<tr><td>{}@{}</td><td>{:.0f}</td><td>{:.1f}%</td><td>{}</td>"
                       "<td>{:.0f}</td><td>{:.0f}</td><td>{:.1f}</td></tr>\n",
                       htmlEscape(w.region), htmlEscape(w.version), w.at_s,
                       100 * w.steady_hit,
                       w.time_to_90_s < 0 ? std::string("not reached")
                                          : fmt::format("{:.0f}", w.time_to_90_s),
                       w.warm_ttft_ms, w.steady_ttft_ms, w.added_request_s);
    h += "</table>\n";
  }
  h += "<h2>Hit rate over time per region</h2>\n" + hitRateChart(r) + "\n";
  h += "<p>Dashed lines: rollouts (cache flush).</p>\n";
  h += "<h2>Cost per region</h2>\n" + costChart(r) + "\n";
  h += "<h2>TTFT distribution per region</h2>\n" + ttftChart(r) + "\n";
  h += "<p>Generated by <code>regiongate plan</code>; definitions in docs/planner.md.</p>\n";
  h += "</body>\n</html>\n";
  return h;
}

}  // namespace regiongate::sim
