#pragma once
// Base of the policies that learn prefixes (sglang_cache_aware, estimated_ttft): owns the
// per-jurisdiction indexes, learns in onRouted (and from peers in learnPeerRoute), and exposes them for tests / the admin status page.
#include <vector>

#include "routing/policy.h"
#include "routing/scoped_indexes.h"

namespace regiongate::routing {

class PrefixPolicyBase : public Policy {
public:
  explicit PrefixPolicyBase(const PolicyOptions& options);
  void onRouted(const RouteRequest& req, uint32_t endpoint) override;
  void learnPeerRoute(const RouteRequest& req, uint32_t endpoint) override;

  // Introspection: null if this (jurisdiction, model) has never been routed.
  const PrefixIndex* index(std::string_view jurisdiction, std::string_view model) const {
    return indexes_.find(jurisdiction, model);
  }
  std::vector<std::string> jurisdictions() const { return indexes_.jurisdictions(); }

protected:
  // Approximate match depth (blocks) of each candidate, into depths_ (scratch, reused).
  void computeDepths(const RouteRequest& req, std::span<const Candidate> candidates);

  PolicyOptions options_;
  ScopedIndexes indexes_;
  std::vector<uint32_t> endpoints_;  // scratch
  std::vector<uint32_t> depths_;     // scratch: approximate depth per candidate
  std::vector<uint32_t> precise_;    // scratch: precise (token-block) depth per candidate
};

}  // namespace regiongate::routing
