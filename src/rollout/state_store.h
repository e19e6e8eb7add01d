#pragma once
// Persists rollout records as one JSON document (docs/rollouts.md "State file"), written to a
// temporary file and renamed, so a crash leaves the old or the new state, never half of one.
// Control plane only.
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "rollout/state_machine.h"

namespace regiongate::rollout {

std::string recordsToJson(const std::vector<RolloutRecord>& records);
Result<std::vector<RolloutRecord>> recordsFromJson(std::string_view json);

Status saveRecords(const std::string& path, const std::vector<RolloutRecord>& records);
// A missing file is an empty list; an unreadable or corrupt one is an error.
Result<std::vector<RolloutRecord>> loadRecords(const std::string& path);

}  // namespace regiongate::rollout
