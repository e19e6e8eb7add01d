#pragma once
// renderHtmlReport: the `plan --report out.html` page. One self-contained HTML document: inline
// CSS and inline SVG charts, no scripts, no external URLs, so it opens offline. Chart element ids
// (stable, tested): chart-hit-rate, chart-cost, chart-ttft.
#include <string>

#include "sim/planner.h"

namespace regiongate::sim {

std::string renderHtmlReport(const PlanReport& report);
std::string htmlEscape(std::string_view s);

}  // namespace regiongate::sim
