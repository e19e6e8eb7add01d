// Placeholder until the 'audit' subcommand lands.
#include <cstdio>

#include "cli/commands.h"

namespace regiongate::cli {

Run addAuditCommand(CLI::App& app) {
  app.add_subcommand("audit", "audit (not built yet)");
  return [] {
    std::fprintf(stderr, "regiongate audit: not built yet\n");
    return 2;
  };
}

}  // namespace regiongate::cli
