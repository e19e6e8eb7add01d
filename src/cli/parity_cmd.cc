// Placeholder until the 'parity' subcommand lands.
#include <cstdio>

#include "cli/commands.h"

namespace regiongate::cli {

Run addParityCommand(CLI::App& app) {
  app.add_subcommand("parity", "parity (not built yet)");
  return [] {
    std::fprintf(stderr, "regiongate parity: not built yet\n");
    return 2;
  };
}

}  // namespace regiongate::cli
