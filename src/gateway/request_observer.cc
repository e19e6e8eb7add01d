#include "gateway/request_observer.h"

#include <algorithm>

#include "gateway/request_context.h"
#include "gateway/rollout_hooks.h"
#include "metrics/gateway_metrics.h"

namespace regiongate::gateway {

void MetricsObserver::onAttempt(const RequestContext& ctx, const EndpointConfig& ep,
                                std::string_view outcome) {
  m_.upstream_attempts.with({ctx.jur->name, ep.region, ep.name, outcome}).inc();
}

void MetricsObserver::onFinished(const RequestContext& ctx) {
  const std::string& jur = ctx.jur->name;
  const std::string& model = ctx.body.model;
  if (!ctx.endpoint) {
    m_.pool_exhausted.with({jur, model}).inc();
    m_.requests.with({jur, "none", model, std::to_string(ctx.client_status)}).inc();
    return;
  }
  const std::string& region = ctx.actual_region;
  if (const std::string& first = ctx.cfg.endpoints[ctx.tried.front()].region;
      first != ctx.endpoint->region)
    m_.fallbacks.with({jur, first, ctx.endpoint->region}).inc();
  if (!ctx.verdict.ok() && ctx.upstream_status < 400)
    m_.residency_violations.with({jur, region, residency::evidenceKindName(ctx.verdict.kind)}).inc();
  m_.requests.with({jur, region, model, std::to_string(ctx.client_status)}).inc();
  if (ctx.info.has_usage) {
    m_.prompt_tokens.with({jur, region, model}).inc(static_cast<double>(ctx.info.prompt_tokens));
    m_.cached_prompt_tokens.with({jur, region, model})
        .inc(static_cast<double>(ctx.info.cached_tokens));
  }
  if (ctx.ttft_ms >= 0 && ctx.upstream_status < 400)
    m_.ttft.with({jur, region, model}).observe(ctx.ttft_ms / 1000);
  const double total_s = ctx.total_ms / 1000;
  m_.request_duration.with({jur, region}).observe(total_s);
  // Overhead: the request's time not spent waiting on an upstream (parsing, routing, audit
  // commit, writing to the client).
  const double upstream_ms = static_cast<double>(ctx.upstream_wait_ns) / 1e6 + ctx.attempts_ms;
  m_.gateway_overhead.observe(std::max(0.0, total_s - upstream_ms / 1000));
}

void RolloutObserver::onFinished(const RequestContext& ctx) {
  if (!ctx.endpoint) return;
  hooks_.onCompleted(ctx.snap, ctx.jur->name, ctx.chosen, ctx.body.model, ctx.version,
                     ctx.upstream_status, ctx.upstream_ok, ctx.ttft_ms, ctx.body.canonical_text,
                     ctx.cfg.routing.block_chars, ctx.client_body);
}

}  // namespace regiongate::gateway
