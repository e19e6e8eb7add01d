// `regiongate parity`: send a prompt suite to every region (and every version) and compare
// (docs/parity.md).
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "config/loader.h"
#include "http/client.h"
#include "rollout/endpoint_tls.h"
#include "rollout/parity.h"

namespace regiongate::cli {

namespace {

struct ParityArgs {
  std::string config, suite, format = "text", jurisdiction;
  std::vector<std::string> regions;
  rollout::ParityOptions o;
  bool no_discover = false;
};

constexpr const char* kDescription =
    R"(Send a suite of prompts (temperature 0, a fixed seed) N times to each group of endpoints
-- one group per region and model version, so both versions appear during a rollout -- and
compare every pair of groups serving the same model: exact-match rate, normalised edit distance,
and a one-sided Mann-Whitney U test of whether the distances across the two groups exceed the
run-to-run distances within them. Each suite line names its jurisdiction (or bind the whole
suite with --jurisdiction); a prompt is only sent to endpoints in regions inside it.

Exit codes: 0 verdict successful, 1 failed or inconclusive, 2 usage, config or suite error.)";

}  // namespace

Run addParityCommand(CLI::App& app) {
  auto a = std::make_shared<ParityArgs>();
  auto* cmd = app.add_subcommand("parity", "Compare model outputs across regions and versions");
  cmd->description(kDescription);
  cmd->add_option("--config,-c", a->config, "Gateway config file (YAML)")->required();
  cmd->add_option("--suite", a->suite, "Prompt suite, JSON lines (docs/parity.md)")->required();
  cmd->add_option("--runs", a->o.runs, "Times each prompt is sent to each group (>= 2)")
      ->capture_default_str()->check(CLI::Range(2, 100));
  cmd->add_option("--region", a->regions, "Only these regions (repeat); default all");
  cmd->add_option("--jurisdiction", a->jurisdiction,
                  "Bind the suite to one jurisdiction (lines naming another are refused)");
  cmd->add_option("--format", a->format, "text | json")->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_option("--seed", a->o.seed, "Seed sent with every request")->capture_default_str();
  cmd->add_option("--alpha", a->o.alpha, "Significance level of the test")->capture_default_str();
  cmd->add_option("--min-effect", a->o.min_effect,
                  "Mean edit-distance gap (across - within) below which groups count as equal")
      ->capture_default_str();
  cmd->add_option("--timeout-ms", a->o.timeout_ms, "Per-request timeout")->capture_default_str();
  cmd->add_flag("--no-discover", a->no_discover,
                "Use configured versions only (do not ask each endpoint's /v1/models)");
  cmd->footer("Example:\n  regiongate parity --config gw.yaml --suite examples/parity-suite.jsonl "
              "--runs 3 --format json");
  return [a]() -> int {
    auto loaded = loadConfigFile(a->config);
    if (!loaded) {
      std::fprintf(stderr, "regiongate parity: config error: %s\n", loaded.error().message.c_str());
      return 2;
    }
    const Config& cfg = **loaded;
    if (!a->jurisdiction.empty() && !cfg.jurisdiction(a->jurisdiction)) {
      std::fprintf(stderr, "regiongate parity: unknown jurisdiction '%s'\n", a->jurisdiction.c_str());
      return 2;
    }
    for (const auto& r : a->regions)
      if (!cfg.region(r)) {
        std::fprintf(stderr, "regiongate parity: unknown region '%s'\n", r.c_str());
        return 2;
      }
    auto suite = rollout::loadSuite(a->suite, a->jurisdiction);
    if (!suite) {
      std::fprintf(stderr, "regiongate parity: %s\n", suite.error().message.c_str());
      return 2;
    }
    for (const auto& p : *suite)
      if (!cfg.jurisdiction(p.jurisdiction)) {
        std::fprintf(stderr, "regiongate parity: prompt '%s': unknown jurisdiction '%s'\n",
                     p.id.c_str(), p.jurisdiction.c_str());
        return 2;
      }
    std::set<std::string> models;
    for (const auto& p : *suite) models.insert(p.model);
    // Group endpoints by (region, model, version); versions discovered unless --no-discover.
    std::map<std::string, rollout::ParityGroup> groups;
    for (const auto& ep : cfg.endpoints) {
      if (!a->regions.empty() &&
          std::find(a->regions.begin(), a->regions.end(), ep.region) == a->regions.end())
        continue;
      // Residency: only endpoints some suite prompt may reach.
      bool reachable = false;
      for (const auto& p : *suite) reachable = reachable || rollout::promptAllowedIn(cfg, p, ep.region);
      if (!reachable) continue;
      std::map<std::string, std::string> discovered;
      if (!a->no_discover) {
        std::vector<std::pair<std::string, std::string>> h;
        if (!ep.credential.empty()) h.emplace_back("authorization", ep.credential);
        auto tls = rollout::endpointClientTls(ep);
        // Files that cannot be used: no discovery (the parity calls report the error).
        if (tls) {
          http::ClientRequest req{"GET", ep.base_path + "/v1/models", "", h, 2000};
          req.tls = std::move(tls.value());
          auto r = http::call(ep.host, ep.port, std::move(req));
          if (r && r->status == 200) discovered = rollout::parseModelVersions(r->body);
        }
      }
      for (const auto& m : ep.models) {
        if (!models.count(m.name)) continue;
        std::string version = m.version;
        if (auto it = discovered.find(m.name); it != discovered.end()) version = it->second;
        auto& g = groups[ep.region + "/" + m.name + "@" + version];
        g.region = ep.region;
        g.model = m.name;
        g.version = version;
        g.endpoints.push_back(rollout::parityEndpoint(ep, version));
      }
    }
    std::vector<rollout::ParityGroup> list;
    for (auto& [k, g] : groups) list.push_back(std::move(g));
    rollout::runGroups(cfg, *suite, list, a->o, rollout::httpParityFetch(a->o.timeout_ms));
    auto report = rollout::buildReport(std::move(list), *suite, a->o);
    std::string out = a->format == "json" ? report.toJson() + "\n" : report.toText();
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    return report.verdict == rollout::GateOutcome::Successful ? 0 : 1;
  };
}

}  // namespace regiongate::cli
