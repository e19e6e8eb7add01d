#include "upstream/provider_adapter.h"

#include <simdjson.h>

#include "upstream/provider_adapters_impl.h"

namespace regiongate::upstream {

std::string checkedEvidence(std::string_view raw) {
  while (!raw.empty() && (raw.front() == ' ' || raw.front() == '\t')) raw.remove_prefix(1);
  while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t')) raw.remove_suffix(1);
  if (raw.empty() || raw.size() > 64) return "";
  for (unsigned char c : raw)
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') return "";
  return std::string(raw);
}

void ProviderAdapter::readHead(const EndpointConfig& ep, const boost::beast::http::fields& head,
                               ProviderReadout& out) const {
  if (ep.evidence.kind != EvidenceSpec::Kind::Header) return;
  auto it = head.find(ep.evidence.header);
  if (it != head.end()) out.evidence = checkedEvidence(it->value());
}

void ProviderAdapter::readJson(std::string_view json, const std::vector<std::string>& evidence_path,
                               ProviderReadout& out) const {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json.data(), json.size()).get(doc) != simdjson::SUCCESS) return;
  simdjson::dom::object usage;
  if (doc["usage"].get_object().get(usage) == simdjson::SUCCESS) {
    out.has_usage = true;
    int64_t v = 0;
    if (usage["prompt_tokens"].get_int64().get(v) == simdjson::SUCCESS) out.prompt_tokens = v;
    if (usage["completion_tokens"].get_int64().get(v) == simdjson::SUCCESS) out.completion_tokens = v;
    if (usage["prompt_tokens_details"]["cached_tokens"].get_int64().get(v) == simdjson::SUCCESS)
      out.cached_tokens = v;
  }
  if (evidence_path.empty()) return;
  simdjson::dom::element cur = doc;
  for (const auto& key : evidence_path)
    if (cur[key].get(cur) != simdjson::SUCCESS) return;
  std::string_view s;
  if (cur.get_string().get(s) == simdjson::SUCCESS) out.evidence = checkedEvidence(s);
}

const ProviderAdapter& providerAdapter(UpstreamApi api) {
  static const OpenAiAdapter openai_compatible(UpstreamApi::OpenAiCompatible);
  static const OpenAiAdapter openai(UpstreamApi::OpenAi);
  static const AzureOpenAiAdapter azure;
  static const AnthropicAdapter anthropic;
  static const BedrockAdapter bedrock;
  switch (api) {
    case UpstreamApi::OpenAiCompatible:
      return openai_compatible;
    case UpstreamApi::OpenAi:
      return openai;
    case UpstreamApi::AzureOpenAi:
      return azure;
    case UpstreamApi::Anthropic:
      return anthropic;
    case UpstreamApi::Bedrock:
      return bedrock;
  }
  return openai_compatible;
}

}  // namespace regiongate::upstream
