#pragma once
// Upstream adapters: one per `api:` (openai_compatible, openai, azure_openai, anthropic,
// bedrock). An adapter builds each attempt's request for an endpoint (target, provider headers
// with the credential, and the body when the provider needs it changed) and reads back what the
// provider says: usage and the evidence of where inference ran, from the response head, a whole
// JSON body or one SSE event. The request path owns sockets, retries and streaming; adapters
// only translate, so they are pure, allocation-light and safe to share across workers.
//
// Thread affinity: adapters are stateless singletons (providerAdapter); the EndpointConfig they read
// lives in the immutable config snapshot of the request that calls them.
#include <boost/beast/http/fields.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "config/config.h"

namespace regiongate::upstream {

// What the request path knows about one attempt.
struct AttemptInput {
  std::string_view route;         // the client's path: "/v1/chat/completions", "/v1/messages", ...
  std::string_view body;          // the client's JSON body
  std::string_view jurisdiction;  // the tenant's jurisdiction name
  std::string_view host_header;   // the Host header value the request path sends
  bool stream = false;            // the client asked for SSE
  int64_t unix_seconds = 0;       // wall clock, for request signing
};

// One attempt's request, besides Host, Content-Type, Content-Length, Accept and
// x-regiongate-request-id, which the request path always writes.
struct UpstreamRequest {
  std::string target;  // request-target: base path + provider path [+ ?query]
  std::vector<std::pair<std::string, std::string>> headers;  // provider headers (credential, ...)
  std::optional<std::string> body;  // nullopt: send the client's body unchanged
};

// What an adapter reads from a response. Fields found overwrite earlier ones, so a stream's last
// usage wins.
struct ProviderReadout {
  std::optional<std::string> evidence;  // where the provider says inference ran (checked text)
  bool has_content = false;             // generated text seen (a stream's first token)
  bool has_usage = false;
  int64_t prompt_tokens = 0, completion_tokens = 0, cached_tokens = 0;
};

class ProviderAdapter {
 public:
  virtual ~ProviderAdapter() = default;
  virtual UpstreamApi api() const = 0;
  // Whether the client route passes through this API (others answer 404 before any attempt).
  virtual bool servesRoute(std::string_view route) const = 0;
  // The request for one attempt. Errors are typed and never retried on another endpoint of the
  // same api: Policy "provider_geography_unavailable" (Anthropic: no inference_geo inside the
  // jurisdiction; refused before the request leaves), Downstream "invalid_request_body",
  // Internal "sigv4_*".
  virtual Result<UpstreamRequest> buildRequest(const EndpointConfig& endpoint,
                                               const AttemptInput& in) const = 0;
  // Evidence from the response head (e.g. Azure's x-ms-region, or the endpoint's header:NAME).
  virtual void readHead(const EndpointConfig& endpoint, const boost::beast::http::fields& head,
                        ProviderReadout& out) const;
  // Usage and body evidence from one JSON object: a whole response or one SSE event's data.
  // `evidence_path` is the endpoint's body evidence path (empty: no body evidence).
  virtual void readJson(std::string_view json, const std::vector<std::string>& evidence_path,
                        ProviderReadout& out) const;
};

const ProviderAdapter& providerAdapter(UpstreamApi api);

// An evidence value as received, if it is short printable ASCII (at most 64 bytes, no control
// characters); otherwise "" so it judges as unknown_region and never reaches a header or label.
std::string checkedEvidence(std::string_view raw);

}  // namespace regiongate::upstream
