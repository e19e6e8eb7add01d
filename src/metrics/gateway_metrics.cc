#include "metrics/gateway_metrics.h"

namespace regiongate::metrics {

std::vector<double> overheadBuckets() {
  return {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
          0.0025,  0.005,    0.01,    0.025,  0.05,    0.1};
}

GatewayMetrics::GatewayMetrics(Registry& r)
    : requests(r.counter("regiongate_requests_total", "Requests answered, by final status code.",
                         {"jurisdiction", "region", "model", "code"})),
      ttft(r.histogram("regiongate_ttft_seconds",
                       "Time from request accepted to first response byte from upstream.",
                       {"jurisdiction", "region", "model"})),
      request_duration(r.histogram("regiongate_request_duration_seconds",
                                   "Whole request duration as seen by the gateway.",
                                   {"jurisdiction", "region"})),
      gateway_overhead(r.histogram("regiongate_gateway_overhead_seconds",
                                   "Time spent in the gateway itself (duration minus upstream).",
                                   {}, overheadBuckets())
                           .with(std::span<const std::string_view>{})),
      prompt_tokens(r.counter("regiongate_prompt_tokens_total",
                              "Prompt tokens reported by upstream usage.",
                              {"jurisdiction", "region", "model"})),
      cached_prompt_tokens(r.counter("regiongate_cached_prompt_tokens_total",
                                     "Prompt tokens served from the upstream KV cache.",
                                     {"jurisdiction", "region", "model"})),
      upstream_attempts(r.counter("regiongate_upstream_attempts_total",
                                  "Upstream attempts by endpoint and outcome.",
                                  {"jurisdiction", "region", "endpoint", "outcome"})),
      fallbacks(r.counter("regiongate_fallbacks_total",
                          "Retries that moved to another region inside the pool.",
                          {"jurisdiction", "from_region", "to_region"})),
      pool_exhausted(r.counter("regiongate_pool_exhausted_total",
                               "Requests refused because no allowed endpoint could serve them.",
                               {"jurisdiction", "model"})),
      residency_violations(r.counter("regiongate_residency_violations_total",
                                     "Responses whose evidence was outside the jurisdiction or "
                                     "missing.",
                                     {"jurisdiction", "actual_region", "kind"})),
      endpoint_healthy(r.gauge("regiongate_endpoint_healthy",
                               "1 if the endpoint is in rotation, 0 if ejected.",
                               {"region", "endpoint"})),
      limit_rejections(r.counter("regiongate_limit_rejections_total",
                                 "Requests rejected by a configured limit.", {"kind"})),
      errors(r.counter("regiongate_errors_total", "Error responses by error type.", {"type"})),
      config_reloads(r.counter("regiongate_config_reloads_total", "Config reload attempts.",
                               {"result"})),
      admin_denied(r.counter("regiongate_admin_denied_total",
                             "Admin listener requests refused for want of a valid token or scope.",
                             {"reason"})),
      peer_strings_refused(r.counter("regiongate_peer_strings_refused_total",
                                     "Strings from peers refused by validation (never used).",
                                     {"kind"})) {}

}  // namespace regiongate::metrics
