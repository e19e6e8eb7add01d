#pragma once
// Model parity (docs/parity.md): the same suite of prompts, at temperature 0 with a fixed seed,
// sent N times to each group of endpoints (a group = one region serving one model version), then
// compared: exact-match rate, normalised edit distance, and a one-sided Mann-Whitney U test of
// whether the distances ACROSS two groups exceed the distances WITHIN each group (run-to-run
// noise). Used by `regiongate parity` and by the rollout's parity gate.
//
// Residency: a suite prompt carries a jurisdiction; planParity() only pairs it with endpoints
// whose region's country is inside that jurisdiction, so a jurisdiction's suite never leaves it.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "rollout/gate.h"

namespace regiongate::http {
struct ClientTls;  // http/tls_client.h (kept out of this header: the parity fuzz build)
}  // namespace regiongate::http

namespace regiongate::rollout {

struct SuitePrompt {
  std::string id;
  std::string jurisdiction;
  std::string model;
  std::string messages_json;  // raw JSON array (chat) or "" when `prompt` is used
  std::string prompt;         // text completion
  uint32_t max_tokens = 64;
};

// One JSON object per line: {"id","jurisdiction","model","messages":[..]|"prompt":"..",
// "max_tokens"}. Blank lines and lines starting with '#' are skipped. `bound_jurisdiction`
// ("" = none) fills missing jurisdictions and refuses lines naming another one.
Result<std::vector<SuitePrompt>> parseSuite(std::string_view text, const std::string& bound_jurisdiction);
Result<std::vector<SuitePrompt>> loadSuite(const std::string& path, const std::string& bound_jurisdiction);

// The request body sent for a prompt (temperature 0, fixed seed, non-streaming).
std::string parityRequestBody(const SuitePrompt& p, uint64_t seed);

// Levenshtein distance over characters / max(len), in [0, 1]; inputs capped at 4096 chars.
double normalizedEditDistance(std::string_view a, std::string_view b);
// One-sided Mann-Whitney U test (normal approximation with tie correction and continuity
// correction): the p-value of "values in `y` tend to be larger than values in `x`". 1 when either
// sample is empty or every value is tied.
double mannWhitneyGreaterP(const std::vector<double>& x, const std::vector<double>& y);

struct ParityEndpoint {
  std::string name, region, version, host, base_path, credential;
  uint16_t port = 0;
  // An https:// endpoint is only ever called over TLS, with `tls` (null: its files could not
  // be used, and the fetch refuses).
  bool https = false;
  std::shared_ptr<http::ClientTls> tls;
};
// The parity view of a configured endpoint serving `version` (builds its TLS context: control
// plane only; parity_fetch.cc).
ParityEndpoint parityEndpoint(const EndpointConfig& ep, std::string version);

struct ParityGroup {
  std::string region, model, version;
  std::vector<ParityEndpoint> endpoints;
  // outputs[prompt index][run]; a missing answer (error) is marked in ok[prompt][run] = false
  std::vector<std::vector<std::string>> outputs;
  std::vector<std::vector<bool>> ok;
  uint64_t answered = 0, errors = 0;
  std::string key() const { return region + "/" + model + "@" + version; }
};

struct ParityOptions {
  uint32_t runs = 3;
  uint64_t seed = 42;
  double alpha = 0.01;
  double min_effect = 0.05;
  uint32_t timeout_ms = 30000;
  uint32_t min_pairs = 5;  // fewer comparable answer pairs: Inconclusive
};

struct PairComparison {
  std::string a, b;                // group keys
  uint64_t across_pairs = 0, within_pairs = 0;
  double exact_match_rate = 0;     // across pairs with identical text
  double mean_edit_across = 0, mean_edit_within = 0;
  double p_value = 1;
  GateResult result;
};

struct ParityReport {
  std::vector<ParityGroup> groups;
  std::vector<PairComparison> pairs;
  GateOutcome verdict = GateOutcome::Inconclusive;
  std::string verdict_detail;
  std::string toText() const;
  std::string toJson() const;
};

// Sends one request; returns the answer text (choices[0].message.content or choices[0].text).
using ParityFetch = std::function<Result<std::string>(const ParityEndpoint&, const std::string& body)>;
ParityFetch httpParityFetch(uint32_t timeout_ms);
// Extracts choices[0].message.content / choices[0].text from an OpenAI response body.
Result<std::string> completionText(std::string_view body);

// Runs every prompt `runs` times against each group (round-robin over the group's endpoints),
// only for prompts whose jurisdiction contains the group's region country (per `cfg`).
void runGroups(const Config& cfg, const std::vector<SuitePrompt>& prompts,
               std::vector<ParityGroup>& groups, const ParityOptions& o, const ParityFetch& fetch);
PairComparison compareGroups(const ParityGroup& a, const ParityGroup& b,
                             const std::vector<SuitePrompt>& prompts, const ParityOptions& o);
// Every pair of groups serving the same model; verdict = Failed if any pair failed, else
// Inconclusive if any pair was, else Successful.
ParityReport buildReport(std::vector<ParityGroup> groups, const std::vector<SuitePrompt>& prompts,
                         const ParityOptions& o);

// Entries of a /v1/models answer left out because a model id or version failed validation.
struct RefusedModelEntries {
  uint64_t count = 0;
  std::vector<std::string> examples;  // the first few, as checkPeerString messages (escaped)
};

// GET /v1/models body -> model name -> version (data[].version, or "NAME@V" in id or root).
// An upstream's strings are checked (common/peer_string.h: kModelIdString, kVersionString)
// before use: an entry with an invalid id or version is refused, never returned; `refused`
// (optional) counts them and keeps the first few messages.
std::map<std::string, std::string> parseModelVersions(std::string_view body,
                                                      RefusedModelEntries* refused = nullptr);

// True when the prompt's jurisdiction contains `region`'s country under `cfg`.
bool promptAllowedIn(const Config& cfg, const SuitePrompt& p, const std::string& region);

}  // namespace regiongate::rollout
