#pragma once
// The concrete adapters behind providerAdapter() (provider_adapter.h). Private to src/upstream: the
// request path and the tests reach them through providerAdapter(api).
#include "upstream/provider_adapter.h"

namespace regiongate::upstream {

// The four OpenAI routes: chat, completions, responses, embeddings.
inline bool isOpenAiRoute(std::string_view route) {
  return route == "/v1/chat/completions" || route == "/v1/completions" ||
         route == "/v1/responses" || route == "/v1/embeddings";
}

// openai_compatible (vLLM, SGLang, llama.cpp) and openai: the client's route under the
// endpoint's base path; the credential (if any) as Authorization: Bearer.
class OpenAiAdapter final : public ProviderAdapter {
 public:
  explicit OpenAiAdapter(UpstreamApi api) : api_(api) {}
  UpstreamApi api() const override { return api_; }
  bool servesRoute(std::string_view route) const override;
  Result<UpstreamRequest> buildRequest(const EndpointConfig& ep,
                                       const AttemptInput& in) const override;

 private:
  UpstreamApi api_;
};

// Azure OpenAI: the v1 path (/openai/v1/...) or the deployment path
// (/openai/deployments/NAME/...?api-version=V); the key in the api-key header.
class AzureOpenAiAdapter final : public ProviderAdapter {
 public:
  UpstreamApi api() const override { return UpstreamApi::AzureOpenAi; }
  bool servesRoute(std::string_view route) const override;
  Result<UpstreamRequest> buildRequest(const EndpointConfig& ep,
                                       const AttemptInput& in) const override;
};

// Anthropic Messages: POST /v1/messages with x-api-key and anthropic-version; inference_geo
// injected from the tenant's jurisdiction; usage (input/output tokens) and usage.inference_geo
// read from whole messages and from message_start / message_delta events.
class AnthropicAdapter final : public ProviderAdapter {
 public:
  UpstreamApi api() const override { return UpstreamApi::Anthropic; }
  bool servesRoute(std::string_view route) const override;
  Result<UpstreamRequest> buildRequest(const EndpointConfig& ep,
                                       const AttemptInput& in) const override;
  void readJson(std::string_view json, const std::vector<std::string>& evidence_path,
                ProviderReadout& out) const override;
};

// Bedrock runtime's OpenAI-compatible API: every attempt signed with SigV4 (service "bedrock"),
// or a Bedrock API key as a bearer token.
class BedrockAdapter final : public ProviderAdapter {
 public:
  UpstreamApi api() const override { return UpstreamApi::Bedrock; }
  bool servesRoute(std::string_view route) const override;
  Result<UpstreamRequest> buildRequest(const EndpointConfig& ep,
                                       const AttemptInput& in) const override;
};

}  // namespace regiongate::upstream
