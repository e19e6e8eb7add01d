// Placeholder until the 'plan' subcommand lands.
#include <cstdio>

#include "cli/commands.h"

namespace regiongate::cli {

Run addPlanCommand(CLI::App& app) {
  app.add_subcommand("plan", "plan (not built yet)");
  return [] {
    std::fprintf(stderr, "regiongate plan: not built yet\n");
    return 2;
  };
}

}  // namespace regiongate::cli
