#pragma once
// round_robin: the candidates in turn (a per-instance counter modulo the candidate count).
#include "routing/policy.h"

namespace regiongate::routing {

class RoundRobinPolicy final : public Policy {
public:
  std::string_view name() const override { return "round_robin"; }
  size_t pick(const RouteRequest& req, std::span<const Candidate> candidates) override {
    return static_cast<size_t>(next_++ % candidates.size());
  }

private:
  uint64_t next_ = 0;
};

}  // namespace regiongate::routing
