// Placeholder until the 'check' subcommand lands.
#include <cstdio>

#include "cli/commands.h"

namespace regiongate::cli {

Run addCheckCommand(CLI::App& app) {
  app.add_subcommand("check", "check (not built yet)");
  return [] {
    std::fprintf(stderr, "regiongate check: not built yet\n");
    return 2;
  };
}

}  // namespace regiongate::cli
