// regiongate check: load a config and print the static residency proof (docs/residency.md).
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "common/clock.h"
#include "config/loader.h"
#include "legal/date.h"
#include "residency/proof.h"

namespace regiongate::cli {

namespace {
constexpr const char* kDescription =
    R"(Prove, from the config alone, that no configured path leaves a tenant's jurisdiction.

For every tenant and model it lists each endpoint a request could reach (first pick, every
retry and failover, every rollout state, every value of the x-regiongate-region header) and
the gateway's own region (ingress), with region, country and the legal basis that allows that
country. Then errors (a path that leaves, or cannot be proven not to) and warnings (forwarding
providers, trusted-config evidence on third parties, single-region pools, parity gaps,
jurisdictions without endpoints, unproven ingress, expiring bases, qualifiers to confirm).

Exit codes: 0 proof holds (warnings allowed), 1 proof failed, 2 usage or config error
(the message names file, line and key). `serve` runs the same check at start and on reload.)";
}  // namespace

Run addCheckCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("check",
                                 "Prove statically that no configured path leaves a "
                                 "tenant's jurisdiction");
  cmd->description(kDescription);
  cmd->footer(
      "Examples:\n"
      "  regiongate check --config examples/gateway.yaml\n"
      "  regiongate check --config gw.yaml --format json | jq '.errors'\n"
      "  regiongate check --config gw.yaml --today 2031-11-01   # what expires in 90 days?\n"
      "Every error and warning code is explained in docs/residency.md.");
  auto config = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("table");
  auto today = std::make_shared<std::string>();
  cmd->add_option("--config,-c", *config, "Gateway config file (YAML)")->required();
  cmd->add_option("--format", *format, "Output: table (human) or json (machine)")
      ->check(CLI::IsMember({"table", "json"}));
  cmd->add_option("--today", *today,
                  "Date used for legal-basis expiry (YYYY-MM-DD, default: today in UTC)");
  return [config, format, today]() -> int {
    legal::Date date = legal::dateFromWallMicros(SystemClock::instance().wallMicros());
    if (!today->empty()) {
      auto d = legal::parseDate(*today);
      if (!d) {
        std::fprintf(stderr, "regiongate check: --today: expected YYYY-MM-DD, got '%s'\n",
                     today->c_str());
        return 2;
      }
      date = *d;
    }
    // The proof needs no secrets: credentials are named, not read (CI has no production keys).
    auto loaded = loadConfigFile(*config, LoadOptions{.read_secrets = false});
    if (!loaded.ok()) {
      std::fprintf(stderr, "regiongate check: config error: %s\n", loaded.error().message.c_str());
      return 2;
    }
    residency::ProofReport report = residency::proveResidency(**loaded, date);
    std::string out = *format == "json" ? report.json() : report.table();
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    return report.ok() ? 0 : 1;
  };
}

}  // namespace regiongate::cli
