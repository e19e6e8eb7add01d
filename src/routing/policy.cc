#include "routing/policy.h"

#include <array>

#include "routing/consistent_hash.h"
#include "routing/estimated_ttft.h"
#include "routing/least_loaded.h"
#include "routing/round_robin.h"
#include "routing/sglang_cache_aware.h"

namespace regiongate::routing {

namespace {
constexpr std::array<std::string_view, 5> kNames = {
    "round_robin", "least_loaded", "consistent_hash", "sglang_cache_aware", "estimated_ttft"};
}  // namespace

std::string_view policyName(PolicyKind kind) { return kNames[static_cast<size_t>(kind)]; }

std::optional<ParsedPolicyName> parsePolicyName(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i)
    if (name == kNames[i]) return ParsedPolicyName{static_cast<PolicyKind>(i), false};
  if (name == "prefix_tree") return ParsedPolicyName{PolicyKind::SglangCacheAware, true};
  if (name == "cache_aware") return ParsedPolicyName{PolicyKind::EstimatedTtft, true};
  return std::nullopt;
}

std::unique_ptr<Policy> makePolicy(PolicyKind kind, const PolicyOptions& options,
                                   const Clock& clock) {
  (void)clock;  // policies take time from RouteRequest::now_nanos (simulated or real)
  switch (kind) {
    case PolicyKind::RoundRobin:
      return std::make_unique<RoundRobinPolicy>();
    case PolicyKind::LeastLoaded:
      return std::make_unique<LeastLoadedPolicy>();
    case PolicyKind::ConsistentHash:
      return std::make_unique<ConsistentHashPolicy>(options);
    case PolicyKind::SglangCacheAware:
      return std::make_unique<SglangCacheAwarePolicy>(options);
    case PolicyKind::EstimatedTtft:
      return std::make_unique<EstimatedTtftPolicy>(options);
  }
  return nullptr;
}

std::unique_ptr<Policy> makePolicy(std::string_view name, const PolicyOptions& options,
                                   const Clock& clock) {
  auto parsed = parsePolicyName(name);
  return parsed ? makePolicy(parsed->kind, options, clock) : nullptr;
}

std::span<const std::string_view> policyNames() { return kNames; }

}  // namespace regiongate::routing
