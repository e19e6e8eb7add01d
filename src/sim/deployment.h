#pragma once
// Deployment: the input of `regiongate plan --deployment F` (YAML; docs/planner.md lists every
// key). Control plane only: loading throws nothing (yaml-cpp exceptions become Errors).
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "sim/instance.h"

namespace regiongate::sim {

struct DeployJurisdiction {
  std::string name;
  std::string preset;                  // EEA | EU | EEA+adequacy | ""
  std::vector<std::string> countries;  // extra / custom ISO codes
  double traffic_share = 0;            // share of conversations (normalised over all)
};

struct DeployRegion {
  std::string name;
  std::string country;
  uint32_t instances = 1;
  double gpu_price_per_hour = 0;  // USD per instance-hour
  InstanceParams params;
};

struct DeployRollout {
  std::string region;
  double at_s = 0;
  std::string version;
};

struct DeployFailure {
  std::string region;
  int instance = -1;  // -1 = the whole region
  double from_s = 0;
  double to_s = 0;
};

struct Deployment {
  std::string file;
  std::string name;
  std::string description;
  std::string model = "llama-3.1-8b";
  std::string policy = "estimated_ttft";  // a routing::policyNames() name (old names accepted)
  // What the policy is told about each candidate (routing.candidate_info). "simulator" (default):
  // the instance's queue estimate and prefill rate (Candidate::queue_ms, queue_known) and a prefix
  // index as large as the instances' KV caches. "gateway": what the gateway's proxy gives it today
  // -- in-flight counts only -- and the gateway's default PolicyOptions (prefix index of 65536
  // blocks), so the plan routes as the running gateway does (`regiongate plan-validate`).
  std::string candidate_info = "simulator";
  std::string gateway_region;  // where the gateway decrypts requests ("" = not stated)
  double time_scale = 1.0;     // trace arrivals multiplied by this
  double rollout_gate_cost_usd = 0;  // operational cost of one per-region rollout gate
  std::string proof_date;            // YYYY-MM-DD for the residency proof ("" = today)
  std::vector<DeployJurisdiction> jurisdictions;
  std::vector<DeployRegion> regions;
  std::vector<DeployRollout> rollouts;
  std::vector<DeployFailure> failures;
};

Result<Deployment> parseDeployment(std::string_view yaml, std::string filename = "<string>");
Result<Deployment> loadDeploymentFile(const std::string& path);

// The gateway Config this deployment implies (one endpoint per instance, one tenant per
// jurisdiction), loaded through the real config loader so the residency proof sees what `check`
// would see.
Result<ConfigPtr> deploymentConfig(const Deployment& d);

// The jurisdiction of a conversation: xxh3(conversation key) mapped to [0,1) and walked over the
// cumulative traffic shares in file order. Every turn of one conversation has the same key, so a
// conversation never changes jurisdiction.
uint32_t jurisdictionOf(uint64_t conversation_key, const std::vector<double>& cumulative_shares);

}  // namespace regiongate::sim
