// Placeholder until the 'demo' subcommand lands.
#include <cstdio>

#include "cli/commands.h"

namespace regiongate::cli {

Run addDemoCommand(CLI::App& app) {
  app.add_subcommand("demo", "demo (not built yet)");
  return [] {
    std::fprintf(stderr, "regiongate demo: not built yet\n");
    return 2;
  };
}

}  // namespace regiongate::cli
