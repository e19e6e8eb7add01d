// regiongate plan-validate: wires the arguments to validate::runPlanValidate
// (src/validate/plan_validate.h explains the method) and prints its report.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "validate/plan_validate.h"

namespace regiongate::cli {

Run addPlanValidateCommand(CLI::App& app) {
  auto o = std::make_shared<validate::PlanValidateOptions>();
  auto* sub = app.add_subcommand(
      "plan-validate",
      "Check the planner against the real gateway: replay a slice of a Mooncake trace through the\n"
      "in-process gateway and mock backends built from the deployment file, run the planner on\n"
      "the same requests, and compare per-region hit rate and TTFT p50 (docs/planner.md).\n"
      "Exit 0 when every region agrees within the tolerances, 1 when not, 2 on errors, 3 when the\n"
      "harness is saturated (its own delays exceed the TTFT tolerance: a larger --compress).");
  sub->add_option("--deployment", o->deployment, "deployment YAML (as for `plan`)")->required();
  sub->add_option("--trace", o->trace, "Mooncake JSONL trace")->required();
  sub->add_option("--limit", o->limit, "requests to replay")->capture_default_str();
  sub->add_option("--skip", o->skip, "requests to skip at the start of the trace")
      ->capture_default_str();
  sub->add_option("--compress", o->compress,
                  "wall-clock seconds per simulated second (mock time_scale; arrivals too)")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 10.0));
  sub->add_option("--clients", o->clients, "client threads (open loop; late sends are counted)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  sub->add_option("--hit-points", o->hit_points, "hit-rate tolerance, percentage points")
      ->capture_default_str();
  sub->add_option("--ttft-percent", o->ttft_percent, "TTFT p50 tolerance, percent of planner")
      ->capture_default_str();
  sub->add_option("--spread-ms", o->spread_ms,
                  "simulated ms between requests that share a trace timestamp (both runs)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10000.0));
  sub->add_option("--candidate-info", o->candidate_info,
                  "routing.candidate_info of the planner run (the deployment's is ignored); "
                  "gateway = what the real gateway's policy sees")
      ->capture_default_str()
      ->check(CLI::IsMember({"simulator", "gateway"}));
  sub->add_option("--stream-write-ms", o->stream_write_ms,
                  "the mocks write a stream's tokens in groups at least this many wall ms apart "
                  "(first and last token on time); 0 = one write per token")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1000.0));
  sub->add_flag("--parallel-prefill", o->parallel_prefill,
                "run the mocks' default parallel-prefill model, not the planner's serial one");
  sub->add_flag("--quiet", o->quiet, "no progress on stderr");
  sub->add_option("--dump", o->dump,
                  "write one CSV line per request (planner vs measured instance, cached tokens, "
                  "TTFT) to FILE");
  return [o]() -> int {
    spdlog::set_level(spdlog::level::warn);
    auto report = validate::runPlanValidate(*o);
    if (!report) {
      std::fprintf(stderr, "plan-validate: %s\n", report.error().message.c_str());
      return 2;
    }
    std::fputs(report->text().c_str(), stdout);
    return validate::exitCode(report->outcome());
  };
}

}  // namespace regiongate::cli
