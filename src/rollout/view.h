#pragma once
// The data plane's immutable view of model versions and rollouts (an immutable snapshot): built by
// the control plane (RolloutManager) whenever a rollout moves, a version is discovered or the
// config changes, published through an atomic shared_ptr, and read by workers without a lock.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace regiongate::rollout {

struct ViewEntry {
  std::string region, model, blue, green;
  uint32_t green_permille = 0;  // 0 = blue only, 1000 = green only
  bool observing = false;       // a rollout is shifting: the gateway feeds gate observations
};

struct RolloutView {
  const Config* config = nullptr;  // the config the endpoint indices refer to (identity only)
  // by endpoint index: the effective (model, version) list: discovered where known, else
  // configured
  std::vector<std::vector<ModelRef>> versions;
  std::vector<std::string> region_of_endpoint;
  std::vector<ViewEntry> entries;
  bool any_override = false;  // some discovered version differs from the configured one

  const std::string& versionOf(uint32_t endpoint, std::string_view model) const;
  const ViewEntry* entry(std::string_view region, std::string_view model) const;

  // Filters `members` (endpoint indices) to the version each region serves this request: in a
  // region with a rollout of `model`, green when `draw % 1000 < green_permille`, else blue. Then,
  // unless `allow_mixed`, keeps one version for the whole request (green when the draw chose it
  // somewhere in the pool), so a retry never silently changes the model version. Returns false
  // (members untouched) when no rollout or discovered version concerns `model`.
  bool pin(std::string_view model, bool allow_mixed, uint64_t draw, std::vector<uint32_t>& members,
           std::string& pool_version) const;
};

using RolloutViewPtr = std::shared_ptr<const RolloutView>;

}  // namespace regiongate::rollout
