#include "routing/policy.h"

#include <array>

#include "routing/cache_aware.h"
#include "routing/consistent_hash.h"
#include "routing/least_loaded.h"
#include "routing/prefix_tree.h"
#include "routing/round_robin.h"

namespace regiongate::routing {

std::unique_ptr<Policy> makePolicy(std::string_view name, const PolicyOptions& options,
                                   const Clock& clock) {
  (void)clock;  // policies take time from RouteRequest::now_nanos (simulated or real)
  if (name == "round_robin") return std::make_unique<RoundRobinPolicy>();
  if (name == "least_loaded") return std::make_unique<LeastLoadedPolicy>();
  if (name == "consistent_hash") return std::make_unique<ConsistentHashPolicy>(options);
  if (name == "prefix_tree") return std::make_unique<PrefixTreePolicy>(options);
  if (name == "cache_aware") return std::make_unique<CacheAwarePolicy>(options);
  return nullptr;
}

std::span<const std::string_view> policyNames() {
  static constexpr std::array<std::string_view, 5> kNames = {
      "round_robin", "least_loaded", "consistent_hash", "prefix_tree", "cache_aware"};
  return kNames;
}

}  // namespace regiongate::routing
