#include "routing/prefix_policy.h"

#include "routing/kv_event_index.h"

namespace regiongate::routing {

PrefixPolicyBase::PrefixPolicyBase(const PolicyOptions& options)
    : options_(options),
      indexes_(options.index_capacity_blocks,
               static_cast<int64_t>(options.index_ttl_ms) * 1'000'000) {}

void PrefixPolicyBase::onRouted(const RouteRequest& req, uint32_t endpoint) {
  if (req.blocks.empty()) return;
  indexes_.get(req.jurisdiction, req.model).insert(req.blocks, endpoint, req.now_nanos);
}

void PrefixPolicyBase::learnPeerRoute(const RouteRequest& req, uint32_t endpoint) {
  if (req.blocks.empty()) return;
  indexes_.get(req.jurisdiction, req.model).insert(req.blocks, endpoint, req.now_nanos);
}

void PrefixPolicyBase::computeDepths(const RouteRequest& req, std::span<const Candidate> c) {
  endpoints_.resize(c.size());
  depths_.assign(c.size(), 0);
  for (size_t i = 0; i < c.size(); ++i) endpoints_[i] = c[i].endpoint;
  if (const PrefixIndex* idx = indexes_.find(req.jurisdiction, req.model); idx && !req.blocks.empty())
    idx->matchDepths(req.blocks, endpoints_, req.now_nanos, depths_);
  precise_.assign(c.size(), 0);
  if (options_.kv_events && !req.token_blocks.empty())
    options_.kv_events->matchDepths(req.token_blocks, endpoints_, precise_);
}

}  // namespace regiongate::routing
