#pragma once
// The static residency proof behind `regiongate check` (and the gate `serve` applies at start
// and on every reload): for each tenant and model, every endpoint any request could reach
// (first pick, each retry and failover, every rollout state, every value of the narrowing
// header) and where the request is decrypted (gateway.region), each with its region, country
// and the legal basis that allows that country. docs/residency.md lists every error and warning
// and what the proof cannot see.
//
// Control plane only (allocates freely). Deterministic: same Config and date, same report.
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "legal/date.h"

namespace regiongate::residency {

using legal::Date;

// One reachable place for one tenant and model.
struct ProofPath {
  std::string tenant;
  std::string jurisdiction;
  std::string model;     // "(ingress)" for the gateway's own location
  std::string endpoint;  // "(gateway)" for ingress
  std::string region;
  std::string country;
  std::string via;    // "pool" | "rollout REGION green MODEL@TO" | "ingress"
  std::string basis;  // why this country is allowed
};

// An error or warning. Fields that do not apply are "".
struct ProofFinding {
  std::string code;  // stable, e.g. "ingress_outside_jurisdiction" (docs/residency.md)
  std::string tenant;
  std::string jurisdiction;
  std::string model;
  std::string endpoint;
  std::string region;
  std::string country;
  std::string message;  // one line naming all of the above that apply
};

// What the narrowing header (x-regiongate-region) can do for one tenant: every configured
// region, sorted into accepted (inside the jurisdiction) and refused (403).
struct NarrowingSummary {
  std::string tenant;
  std::vector<std::string> accepted;
  std::vector<std::string> refused;
};

struct ProofReport {
  std::string config_file;
  Date today;
  std::vector<ProofPath> paths;
  std::vector<NarrowingSummary> narrowing;
  std::vector<ProofFinding> errors;
  std::vector<ProofFinding> warnings;

  bool ok() const { return errors.empty(); }
  std::string table() const;  // human-readable: paths table, narrowing, errors, warnings
  std::string json() const;   // {"config","today","ok","paths","narrowing","errors","warnings"}
};

ProofReport proveResidency(const Config& config, Date today);

// The gate for serve/reload: ok, or Error{Config, "residency_proof_failed", message} whose
// message lists every error (one per line), prefixed with the config file name.
Status requireResidencyProof(const Config& config, Date today);

// "localhost", 127.0.0.0/8 or ::1: traffic that never leaves the machine.
bool isLoopbackHost(const std::string& host);

}  // namespace regiongate::residency
