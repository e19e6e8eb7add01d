#pragma once
// The upstream adapter seam: how one kind of upstream API is spoken. The attempt phase asks the
// endpoint's adapter to serialize the request for that endpoint (target, host, credential, any
// provider headers, signatures, or a rewritten body), and the relay phase asks it to read usage,
// content and body evidence out of the response. Everything else on the request path (pool,
// retries, evidence judgement, audit) is the same for every adapter.
//
// Adapters are stateless and shared by all workers (const methods, no mutable state).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "gateway/request_body.h"
#include "gateway/response_info.h"

namespace regiongate::gateway {

// What one attempt sends, before it is shaped for the endpoint's API.
struct UpstreamCall {
  const EndpointConfig& endpoint;
  std::string_view method;        // the client's method
  std::string_view path;          // the client's path, query removed ("/v1/chat/completions")
  ApiKind api = ApiKind::Chat;    // which client API the path is
  bool stream = false;
  std::string_view request_id;    // sent upstream for correlation
  std::string_view jurisdiction;  // the tenant's jurisdiction name
  std::string_view body;          // the client's body, unchanged
  int64_t wall_micros = 0;        // the attempt's wall-clock time (request signatures)
};

class UpstreamAdapter {
public:
  virtual ~UpstreamAdapter() = default;
  virtual std::string_view name() const = 0;
  // Whether this API can carry the client's API at all; endpoints that cannot are not in the
  // request's pool.
  virtual bool serves(ApiKind api) const = 0;
  // Serializes one attempt: `head` gets the request line, headers and the empty line (no Beast
  // fields on the hot path); `body` gets a rewritten body, or stays empty to send the client's
  // body unchanged. An Error refuses the attempt before any byte leaves (source Policy: the
  // request is answered with ErrorKind::ProviderRefused; never retried elsewhere).
  virtual Status prepare(const UpstreamCall& call, std::string& head, std::string& body) const = 0;
  // Reads one JSON object (a whole response, or one SSE event's data) into `info`.
  virtual void readInfo(std::string_view json, const std::vector<std::string>& evidence_path,
                        ResponseInfo& info) const {
    readResponseInfo(json, evidence_path, info);
  }
};

// vLLM, SGLang, llama.cpp and every other server speaking OpenAI's HTTP API: the client's path
// under the endpoint's base path, the endpoint's credential as Authorization.
class OpenAiCompatibleAdapter final : public UpstreamAdapter {
public:
  std::string_view name() const override { return "openai_compatible"; }
  bool serves(ApiKind api) const override;
  Status prepare(const UpstreamCall& call, std::string& head, std::string& body) const override;
};

// Appends the request line and the headers every adapter sends (Host, Content-Type, Accept,
// x-regiongate-request-id); the adapter adds its own, then endHead() closes the head.
// The target is `base` followed by `path` (an endpoint's base path and the API path).
void beginHead(const UpstreamCall& call, std::string_view base, std::string_view path,
               std::string& head);
void addHeader(std::string& head, std::string_view name, std::string_view value);
void endHead(std::string& head, size_t body_size);

// openai, azure_openai, anthropic and bedrock endpoints: the request for each attempt is built
// by the provider's upstream::ProviderAdapter (target, credential header, SigV4 signature,
// Anthropic's inference_geo), written after the headers every adapter sends; Anthropic's usage and
// usage.inference_geo are read from whole messages and from message_start / message_delta events.
class ProviderApiAdapter final : public UpstreamAdapter {
public:
  explicit ProviderApiAdapter(UpstreamApi api) : api_(api) {}
  std::string_view name() const override { return upstreamApiName(api_); }
  bool serves(ApiKind api) const override;
  Status prepare(const UpstreamCall& call, std::string& head, std::string& body) const override;
  void readInfo(std::string_view json, const std::vector<std::string>& evidence_path,
                ResponseInfo& info) const override;

private:
  UpstreamApi api_;
};

// The adapter for an endpoint (by its configured API). Valid for the life of the process.
const UpstreamAdapter& adapterFor(const EndpointConfig& endpoint);

}  // namespace regiongate::gateway
