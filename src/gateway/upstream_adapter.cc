#include "gateway/upstream_adapter.h"

#include <charconv>

#include "upstream/provider_adapter.h"

namespace regiongate::gateway {

void beginHead(const UpstreamCall& call, std::string_view base, std::string_view path,
               std::string& head) {
  head.clear();
  head += call.method;
  head += ' ';
  head += base;
  head += path;
  head += " HTTP/1.1\r\nHost: ";
  head += call.endpoint.host;
  head += "\r\nContent-Type: application/json\r\nAccept: ";
  head += call.stream ? "text/event-stream" : "application/json";
  head += "\r\nx-regiongate-request-id: ";
  head += call.request_id;
  head += "\r\n";
}

void addHeader(std::string& head, std::string_view name, std::string_view value) {
  head += name;
  head += ": ";
  head += value;
  head += "\r\n";
}

void endHead(std::string& head, size_t body_size) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, body_size);
  head += "Content-Length: ";
  head.append(digits, end);
  head += "\r\n\r\n";
}

// vLLM and SGLang serve all four OpenAI APIs (a server without one answers 404 itself);
// Anthropic's Messages API needs an anthropic endpoint.
bool OpenAiCompatibleAdapter::serves(ApiKind api) const { return api != ApiKind::Messages; }

Status OpenAiCompatibleAdapter::prepare(const UpstreamCall& call, std::string& head,
                                        std::string& body) const {
  body.clear();
  const EndpointConfig& ep = call.endpoint;
  beginHead(call, ep.base_path, call.path, head);
  if (!ep.credential.empty()) addHeader(head, "Authorization", ep.credential);
  endHead(head, call.body.size());
  return {};
}

bool ProviderApiAdapter::serves(ApiKind api) const {
  return upstream::providerAdapter(api_).servesRoute(openai::apiPath(api));
}

Status ProviderApiAdapter::prepare(const UpstreamCall& call, std::string& head,
                                   std::string& body) const {
  body.clear();
  upstream::AttemptInput in{call.path,          call.body, call.jurisdiction, call.endpoint.host,
                            call.stream,        call.wall_micros / 1000000};
  auto req = upstream::providerAdapter(api_).buildRequest(call.endpoint, in);
  if (!req.ok()) return req.error();
  if (req->body) body = std::move(*req->body);
  beginHead(call, "", req->target, head);
  for (const auto& [name, value] : req->headers) addHeader(head, name, value);
  endHead(head, req->body ? body.size() : call.body.size());
  return {};
}

void ProviderApiAdapter::readInfo(std::string_view json,
                                  const std::vector<std::string>& evidence_path,
                                  ResponseInfo& info) const {
  if (api_ != UpstreamApi::Anthropic) {
    readResponseInfo(json, evidence_path, info);
    return;
  }
  // Start from what is known, so fields absent from this event keep their values.
  upstream::ProviderReadout r{info.body_evidence, info.has_content, info.has_usage,
                              info.prompt_tokens, info.completion_tokens, info.cached_tokens};
  upstream::providerAdapter(api_).readJson(json, evidence_path, r);
  info.body_evidence = std::move(r.evidence);
  info.has_content = r.has_content;
  info.has_usage = r.has_usage;
  info.prompt_tokens = r.prompt_tokens;
  info.completion_tokens = r.completion_tokens;
  info.cached_tokens = r.cached_tokens;
}

const UpstreamAdapter& adapterFor(const EndpointConfig& endpoint) {
  static const OpenAiCompatibleAdapter openai_compatible;
  // Indexed by UpstreamApi, in its declaration order.
  static const ProviderApiAdapter providers[] = {
      ProviderApiAdapter(UpstreamApi::OpenAiCompatible), ProviderApiAdapter(UpstreamApi::OpenAi),
      ProviderApiAdapter(UpstreamApi::AzureOpenAi), ProviderApiAdapter(UpstreamApi::Anthropic),
      ProviderApiAdapter(UpstreamApi::Bedrock)};
  if (endpoint.api == UpstreamApi::OpenAiCompatible) return openai_compatible;
  return providers[static_cast<size_t>(endpoint.api)];
}

}  // namespace regiongate::gateway
