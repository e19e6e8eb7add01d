#pragma once
// The body of POST /admin/rollouts, parsed and checked on its own (no config, no state), so the
// admin API and the fuzz target run the same code. What needs the config (the region exists,
// green endpoints serve the model there, the blue version) is checked by RolloutManager.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace regiongate::rollout {

struct StartRequest {
  std::string region, model, to_version, from_version;  // from: "" = what the region serves
  std::optional<std::vector<std::string>> green_endpoints;
  std::optional<std::vector<uint32_t>> steps;  // increasing percentages ending at 100
  std::optional<uint32_t> step_ms, step_max_ms, min_requests, max_ttft_p99_ms;
  std::optional<double> max_error_rate, max_error_rate_increase, max_ttft_p99_ratio;
};

// Errors (source Downstream): invalid_json, missing_field, invalid_version (a version outside
// common/peer_string.h's kVersionString), invalid_steps. Messages quote values escaped.
Result<StartRequest> parseStartRequest(std::string_view body);

}  // namespace regiongate::rollout
