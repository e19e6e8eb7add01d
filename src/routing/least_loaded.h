#pragma once
// least_loaded: fewest in-flight requests; ties go to the higher weight, then the earlier
// candidate.
#include "routing/policy.h"

namespace regiongate::routing {

// Shared helper (also the fallback of other policies).
size_t leastLoadedIndex(std::span<const Candidate> candidates);

class LeastLoadedPolicy final : public Policy {
public:
  std::string_view name() const override { return "least_loaded"; }
  size_t pick(const RouteRequest& req, std::span<const Candidate> candidates) override {
    return leastLoadedIndex(candidates);
  }
};

}  // namespace regiongate::routing
