#pragma once
// What watches requests without steering them: metrics and rollouts observe each finished attempt
// and each finished request through this one interface, in the order the gateway registered them.
// (The audit record is not an observer: a response may wait for its record to be durable, so the
// finish phase hands it over and awaits it.) Observers run on the request's worker thread, must
// not block, and read the context only.
#include <string_view>

#include "config/config.h"

namespace regiongate::metrics {
struct GatewayMetrics;
}

namespace regiongate::gateway {

struct RequestContext;
class RolloutHooks;

class RequestObserver {
public:
  virtual ~RequestObserver() = default;
  // One try on `ep` ended with `outcome` ("ok", "connect_failed", "status_503", ...).
  virtual void onAttempt(const RequestContext& ctx, const EndpointConfig& ep,
                         std::string_view outcome) = 0;
  // The request has its final status; `ctx.chosen` is UINT32_MAX when no endpoint served it.
  virtual void onFinished(const RequestContext& ctx) = 0;
};

// The gateway's metric families (docs/metrics.md).
class MetricsObserver final : public RequestObserver {
public:
  explicit MetricsObserver(metrics::GatewayMetrics& m) : m_(m) {}
  void onAttempt(const RequestContext& ctx, const EndpointConfig& ep, std::string_view outcome) override;
  void onFinished(const RequestContext& ctx) override;

private:
  metrics::GatewayMetrics& m_;
};

// Rollout gates (per-version outcomes and TTFT) and the pre-warm prompt sample.
class RolloutObserver final : public RequestObserver {
public:
  explicit RolloutObserver(RolloutHooks& hooks) : hooks_(hooks) {}
  void onAttempt(const RequestContext&, const EndpointConfig&, std::string_view) override {}
  void onFinished(const RequestContext& ctx) override;

private:
  RolloutHooks& hooks_;
};

}  // namespace regiongate::gateway
