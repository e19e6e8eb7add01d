#pragma once
// Every metric family the gateway exports (docs/metrics.md), registered once with the exact
// names and labels of the external contract. The gateway keeps one GatewayMetrics for the
// process and calls e.g. `m.requests.with({jurisdiction, region, model, "200"}).inc()`.
// regiongate_audit_records_total / regiongate_audit_queue_depth are rendered by the audit log
// through Registry::addCollector, not here.
#include "metrics/registry.h"

namespace regiongate::metrics {

struct GatewayMetrics {
  explicit GatewayMetrics(Registry& registry);

  // {jurisdiction,region,model,code}
  CounterFamily& requests;
  // {jurisdiction,region,model}
  HistogramFamily& ttft;
  // {jurisdiction,region}
  HistogramFamily& request_duration;
  // no labels: time spent inside the gateway (total minus upstream)
  Histogram& gateway_overhead;
  // {jurisdiction,region,model}
  CounterFamily& prompt_tokens;
  // {jurisdiction,region,model}
  CounterFamily& cached_prompt_tokens;
  // {jurisdiction,region,endpoint,outcome}
  CounterFamily& upstream_attempts;
  // {jurisdiction,from_region,to_region}
  CounterFamily& fallbacks;
  // {jurisdiction,model}
  CounterFamily& pool_exhausted;
  // {jurisdiction,actual_region,kind}
  CounterFamily& residency_violations;
  // regiongate_model_version_info{region,endpoint,model,version} is rendered by the gateway's
  // rollout hooks (the versions served now; a retired version's series disappears).
  // {region,endpoint}, 1 healthy / 0 ejected
  GaugeFamily& endpoint_healthy;
  // {kind}: body_size, header_size, read_timeout, connections, ...
  CounterFamily& limit_rejections;
  // {type}: the OpenAI error `type` returned to clients
  CounterFamily& errors;
  // {result}: ok | error
  CounterFamily& config_reloads;
  // {reason}: admin requests refused (missing_admin_token, invalid_admin_token,
  // insufficient_scope, admin_mutations_disabled)
  CounterFamily& admin_denied;
  // {kind}: strings from peers refused by common/peer_string.h (model_version, ...)
  CounterFamily& peer_strings_refused;
};

// Bucket bounds of regiongate_gateway_overhead_seconds: 10 us .. 100 ms.
std::vector<double> overheadBuckets();

}  // namespace regiongate::metrics
