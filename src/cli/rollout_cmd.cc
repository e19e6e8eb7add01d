// Placeholder until the 'rollout' subcommand lands.
#include <cstdio>

#include "cli/commands.h"

namespace regiongate::cli {

Run addRolloutCommand(CLI::App& app) {
  app.add_subcommand("rollout", "rollout (not built yet)");
  return [] {
    std::fprintf(stderr, "regiongate rollout: not built yet\n");
    return 2;
  };
}

}  // namespace regiongate::cli
