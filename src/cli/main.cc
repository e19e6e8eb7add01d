// regiongate: one binary, one subcommand per job. See `regiongate --help`.
#include <cstdio>
#include <utility>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"

int main(int argc, char** argv) {
  using namespace regiongate::cli;
  // Logs go to stderr; stdout carries command output (reports, JSON, the `listening` line).
  spdlog::set_default_logger(spdlog::stderr_color_mt("regiongate"));
  CLI::App app{"regiongate: a jurisdiction-locked, cost-aware gateway for multi-region LLM inference"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "regiongate 0.1.0");
  std::vector<std::pair<CLI::App*, Run>> commands;
  auto add = [&](Run (*reg)(CLI::App&)) {
    size_t before = app.get_subcommands({}).size();
    Run run = reg(app);
    auto subs = app.get_subcommands({});
    if (subs.size() > before) commands.emplace_back(subs.back(), std::move(run));
  };
  add(addServeCommand);
  add(addCheckCommand);
  add(addDemoCommand);
  add(addMockBackendCommand);
  add(addAuditCommand);
  add(addPlanCommand);
  add(addParityCommand);
  add(addRolloutCommand);
  add(addPlanValidateCommand);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;  // usage errors exit 2 (commands.h)
  }
  for (auto& [sub, run] : commands)
    if (sub->parsed()) return run();
  return 2;
}
