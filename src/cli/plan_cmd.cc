// regiongate plan: the discrete-event planner (docs/planner.md).
//   plan --compare-policies --trace F [--instances 4,8] [--utilisation 0.8] [--kv-tokens N]
//        [--policies a,b]
//   plan --deployment F (--trace F | --synthetic N) [--report out.html]
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "sim/compare.h"
#include "sim/planner.h"
#include "sim/report.h"
#include "sim/trace.h"

namespace regiongate::cli {

namespace {

struct PlanArgs {
  bool compare = false;
  std::string trace;
  std::string deployment;
  std::string report;
  std::string instances = "4,8";
  std::string policies;
  double utilisation = 0.8;
  double time_scale = 0;
  uint64_t kv_tokens = 450'000;
  size_t limit = 0;
  size_t synthetic = 0;
  uint64_t seed = 1;
  bool bursty = false;
  double rate = 5.0;
  uint32_t tenants = 8;
  uint32_t system_blocks = 4;
  double tenant_skew = 0;
  std::string write_trace;
  bool quiet = false;
  double miss_weight = -1;
};

std::vector<std::string> splitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

Result<sim::Trace> loadWorkload(const PlanArgs& a) {
  if (!a.trace.empty()) return sim::readMooncakeTrace(a.trace, a.limit);
  if (a.synthetic > 0) {
    sim::SyntheticOptions so;
    so.requests = a.synthetic;
    so.seed = a.seed;
    so.bursty = a.bursty;
    so.rate_per_s = a.rate;
    so.tenants = a.tenants;
    so.system_prompt_blocks = a.system_blocks;
    so.tenant_skew = a.tenant_skew;
    return sim::generateSynthetic(so);
  }
  return Error::config("plan: give --trace F or --synthetic N");
}

int writeWorkload(const PlanArgs& a) {
  auto trace = loadWorkload(a);
  if (!trace) {
    std::fprintf(stderr, "regiongate plan: %s\n", trace.error().message.c_str());
    return 2;
  }
  std::FILE* f = std::fopen(a.write_trace.c_str(), "w");
  const std::string text = sim::writeMooncakeTrace(*trace);
  bool ok = f && std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (f && std::fclose(f) != 0) ok = false;
  if (!ok) {
    std::fprintf(stderr, "regiongate plan: cannot write %s\n", a.write_trace.c_str());
    return 2;
  }
  std::fprintf(stderr, "wrote %zu requests to %s\n", trace->requests.size(), a.write_trace.c_str());
  return 0;
}

void progressLine(size_t done, size_t total) {
  if (total == 0) return;
  std::fprintf(stderr, "\r  simulated %zu/%zu requests", done, total);
  if (done == total) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

int runCompare(const PlanArgs& a) {
  auto trace = loadWorkload(a);
  if (!trace) {
    std::fprintf(stderr, "regiongate plan: %s\n", trace.error().message.c_str());
    return 2;
  }
  sim::CompareOptions o;
  o.instance_counts.clear();
  for (const auto& s : splitList(a.instances)) {
    char* end = nullptr;
    unsigned long v = std::strtoul(s.c_str(), &end, 10);
    if (*end != '\0' || v == 0 || v > 4096) {
      std::fprintf(stderr, "regiongate plan: --instances: bad count '%s'\n", s.c_str());
      return 2;
    }
    o.instance_counts.push_back(uint32_t(v));
  }
  if (o.instance_counts.empty()) {
    std::fprintf(stderr, "regiongate plan: --instances is empty\n");
    return 2;
  }
  o.utilisation = a.utilisation;
  o.time_scale = a.time_scale;
  o.params.kv_tokens = a.kv_tokens;
  o.policies = splitList(a.policies);
  if (a.miss_weight > 0) o.policy_options.miss_weight = a.miss_weight;
  ManualClock clock;
  for (const auto& p : o.policies) {
    if (!routing::makePolicy(p, {}, clock)) {
      std::fprintf(stderr, "regiongate plan: unknown policy '%s'\n", p.c_str());
      return 2;
    }
  }
  std::fprintf(stderr, "plan: %zu requests, comparing policies...\n", trace->requests.size());
  auto res = sim::comparePolicies(*trace, o);
  std::fputs(sim::formatCompare(res).c_str(), stdout);
  return 0;
}

int runDeployment(const PlanArgs& a) {
  auto dep = sim::loadDeploymentFile(a.deployment);
  if (!dep) {
    std::fprintf(stderr, "regiongate plan: %s\n", dep.error().message.c_str());
    return 2;
  }
  auto trace = loadWorkload(a);
  if (!trace) {
    std::fprintf(stderr, "regiongate plan: %s\n", trace.error().message.c_str());
    return 2;
  }
  sim::ProgressFn progress;
  if (!a.quiet) progress = progressLine;
  auto report = sim::runPlan(*dep, *trace, progress);
  if (!report) {
    std::fprintf(stderr, "regiongate plan: %s\n", report.error().message.c_str());
    return 2;
  }
  std::fputs(sim::formatPlanSummary(*report).c_str(), stdout);
  if (!a.report.empty()) {
    std::ofstream out(a.report, std::ios::binary);
    out << sim::renderHtmlReport(*report);
    if (!out) {
      std::fprintf(stderr, "regiongate plan: cannot write '%s'\n", a.report.c_str());
      return 2;
    }
    std::fprintf(stderr, "plan: wrote %s\n", a.report.c_str());
  }
  return report->residency_ok ? 0 : 1;
}

}  // namespace

Run addPlanCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "plan", "Simulate a deployment (budget report) or compare routing policies on a trace");
  auto a = std::make_shared<PlanArgs>();
  cmd->add_flag("--compare-policies", a->compare,
                "Replay the trace over N instances with every routing policy");
  cmd->add_option("--trace", a->trace, "Workload in the Mooncake JSONL format");
  cmd->add_option("--synthetic", a->synthetic, "Generate N synthetic requests instead of a trace");
  cmd->add_option("--seed", a->seed, "Synthetic workload seed (default 1)");
  cmd->add_flag("--bursty", a->bursty, "Synthetic: bursty (MMPP) arrivals instead of Poisson");
  cmd->add_option("--rate", a->rate, "Synthetic: mean arrivals per second (default 5)");
  cmd->add_option("--tenants", a->tenants, "Synthetic: tenants, each with its own system prompt (8)")
      ->check(CLI::Range(1, 1'000'000));
  cmd->add_option("--system-blocks", a->system_blocks,
                  "Synthetic: blocks of 512 tokens in each tenant's system prompt (4)")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--tenant-skew", a->tenant_skew,
                  "Synthetic: Zipf exponent of tenant popularity (0 = all equally popular)")
      ->check(CLI::Range(0.0, 4.0));
  cmd->add_option("--write-trace", a->write_trace,
                  "Write the workload as Mooncake JSONL (with session ids) to FILE and exit");
  cmd->add_option("--limit", a->limit, "Use only the first N requests of the trace");
  cmd->add_option("--deployment", a->deployment, "Deployment file (YAML, docs/planner.md)");
  cmd->add_option("--report", a->report, "Write a self-contained HTML report here");
  cmd->add_option("--instances", a->instances, "compare: instance counts, e.g. 4,8");
  cmd->add_option("--utilisation", a->utilisation,
                  "compare: target mean utilisation the arrival scale is fitted to (0.8)");
  cmd->add_option("--time-scale", a->time_scale,
                  "compare: multiply arrival times by this instead of fitting");
  cmd->add_option("--kv-tokens", a->kv_tokens, "compare: KV cache per instance, tokens (450000)");
  cmd->add_option("--policies", a->policies, "compare: comma-separated policies (default all)");
  cmd->add_option("--miss-weight", a->miss_weight,
                  "compare: estimated_ttft miss_weight (default: PolicyOptions default)");
  cmd->add_flag("--quiet", a->quiet, "No progress on stderr");
  return [a] {
    if (!a->write_trace.empty()) return writeWorkload(*a);
    if (a->compare) return runCompare(*a);
    if (!a->deployment.empty()) return runDeployment(*a);
    std::fprintf(stderr, "regiongate plan: give --compare-policies or --deployment F\n");
    return 2;
  };
}

}  // namespace regiongate::cli
