// Placeholder until the 'serve' subcommand lands.
#include <cstdio>

#include "cli/commands.h"

namespace regiongate::cli {

Run addServeCommand(CLI::App& app) {
  app.add_subcommand("serve", "serve (not built yet)");
  return [] {
    std::fprintf(stderr, "regiongate serve: not built yet\n");
    return 2;
  };
}

}  // namespace regiongate::cli
