// regiongate demo: wires the command line to demo::runDemo (src/demo/scenario.h).
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <cstdio>

#include "cli/commands.h"
#include "demo/scenario.h"

namespace regiongate::cli {

namespace {
std::atomic<bool> g_interrupted{false};
}  // namespace

Run addDemoCommand(CLI::App& app) {
  auto opts = std::make_shared<demo::DemoOptions>();
  auto* sub = app.add_subcommand(
      "demo",
      "Run everything in one process: mock backends in two jurisdictions (EU: eu-central-1 x2,\n"
      "eu-west-1; US: us-east-1, us-west-2) with a calibrated GPU latency model, the gateway, and\n"
      "a chat workload from a large US and a smaller EU user pool. A model update rolls out to\n"
      "eu-central-1, then eu-west-1; then one EU region fails, then every EU endpoint, then all\n"
      "is restored. Prints a report per jurisdiction and region (requests,\n"
      "KV-cache hit rate, TTFT, fallbacks, typed 503s, violations), the cache-isolation penalty,\n"
      "the rollout's warm-up, the budget, and verifies the audit chains.");
  sub->add_option("--seconds", opts->seconds, "workload duration")->check(CLI::Range(4, 3600))
      ->capture_default_str();
  sub->add_flag("--keep-running", opts->keep_running,
                "afterwards keep the demo's gateway, backends and audit up with a light "
                "background workload and print the dashboard URL (Ctrl-C to stop)");
  sub->add_option("--clients", opts->us_clients, "client threads of the US user pool")
      ->check(CLI::Range(1, 64))->capture_default_str();
  sub->add_option("--eu-clients", opts->eu_clients, "client threads of the (smaller) EU user pool")
      ->check(CLI::Range(1, 64))->capture_default_str();
  sub->add_option("--dir", opts->dir, "where the audit stores go (default: a new temp dir)");
  sub->add_option("--time-scale", opts->time_scale,
                  "mock latency scale (1 = the calibrated GPU timings in real time)")
      ->check(CLI::Range(0.001, 10.0))->capture_default_str();
  sub->add_option("--port", opts->port, "gateway data port (default: any free port)");
  return [opts]() -> int {
    spdlog::set_level(spdlog::level::warn);
    std::signal(SIGINT, [](int) { g_interrupted = true; });
    std::signal(SIGTERM, [](int) { g_interrupted = true; });
    return demo::runDemo(*opts, g_interrupted, stdout);
  };
}

}  // namespace regiongate::cli
