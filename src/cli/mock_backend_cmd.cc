// Placeholder until the 'mock-backend' subcommand lands.
#include <cstdio>

#include "cli/commands.h"

namespace regiongate::cli {

Run addMockBackendCommand(CLI::App& app) {
  app.add_subcommand("mock-backend", "mock-backend (not built yet)");
  return [] {
    std::fprintf(stderr, "regiongate mock-backend: not built yet\n");
    return 2;
  };
}

}  // namespace regiongate::cli
