#include <simdjson.h>

#include "upstream/provider_adapters_impl.h"

namespace regiongate::upstream {

namespace {

Error refused(std::string message, std::string code) {
  return Error{ErrorSource::Policy, std::move(code), std::move(message), false};
}

// The body with `"inference_geo":"GEO"` as its first member. A client value equal to the
// gateway's is kept; any other value is refused (a client may not pick the geography: the
// jurisdiction does).
Result<std::optional<std::string>> withInferenceGeo(std::string_view body, const std::string& geo) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::object obj;
  if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(obj) != simdjson::SUCCESS)
    return Error{ErrorSource::Downstream, "invalid_request_body",
                 "the request body is not a JSON object", false};
  std::string_view given;
  auto field = obj["inference_geo"];
  if (field.error() == simdjson::SUCCESS) {
    if (field.get_string().get(given) == simdjson::SUCCESS && given == geo)
      return std::optional<std::string>();  // already what the jurisdiction allows
    return refused("inference_geo is set by the gateway from the tenant's jurisdiction ('" + geo +
                       "'); remove it from the request",
                   "inference_geo_not_allowed");
  }
  size_t brace = body.find('{');
  std::string out;
  out.reserve(body.size() + geo.size() + 20);
  out.append(body.substr(0, brace + 1));
  out.append("\"inference_geo\":\"").append(geo).append("\"");
  // A comma unless the object is empty.
  std::string_view rest = body.substr(brace + 1);
  size_t next = rest.find_first_not_of(" \t\r\n");
  if (next != std::string_view::npos && rest[next] != '}') out += ',';
  out.append(rest);
  return std::optional<std::string>(std::move(out));
}

void readUsage(bool body_evidence, simdjson::dom::object usage, ProviderReadout& out) {
  out.has_usage = true;
  int64_t v = 0;
  if (usage["input_tokens"].get_int64().get(v) == simdjson::SUCCESS) out.prompt_tokens = v;
  if (usage["output_tokens"].get_int64().get(v) == simdjson::SUCCESS) out.completion_tokens = v;
  if (usage["cache_read_input_tokens"].get_int64().get(v) == simdjson::SUCCESS) out.cached_tokens = v;
  std::string_view geo;
  if (body_evidence && usage["inference_geo"].get_string().get(geo) == simdjson::SUCCESS)
    out.evidence = checkedEvidence(geo);
}

}  // namespace

bool AnthropicAdapter::servesRoute(std::string_view route) const { return route == "/v1/messages"; }

Result<UpstreamRequest> AnthropicAdapter::buildRequest(const EndpointConfig& ep,
                                                       const AttemptInput& in) const {
  auto it = ep.anthropic.inference_geo.find(std::string(in.jurisdiction));
  if (it == ep.anthropic.inference_geo.end())
    return refused("no Anthropic inference_geo lies inside jurisdiction '" +
                       std::string(in.jurisdiction) + "' (endpoint '" + ep.name + "')",
                   "provider_geography_unavailable");
  auto body = withInferenceGeo(in.body, it->second);
  if (!body.ok()) return body.error();
  UpstreamRequest r;
  r.target = ep.base_path + "/v1/messages";
  r.headers.emplace_back("x-api-key", ep.secret.value);
  r.headers.emplace_back("anthropic-version", ep.anthropic.version);
  r.body = std::move(*body);
  return r;
}

// Whole message: usage at the top. Stream: message_start carries message.usage, message_delta
// carries usage; both may name inference_geo, the later one wins. The evidence is read when the
// endpoint's body evidence is usage.inference_geo (the default for api: anthropic).
void AnthropicAdapter::readJson(std::string_view json,
                                const std::vector<std::string>& evidence_path,
                                ProviderReadout& out) const {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json.data(), json.size()).get(doc) != simdjson::SUCCESS) return;
  const bool body_evidence = evidence_path.size() == 2 && evidence_path[0] == "usage" &&
                             evidence_path[1] == "inference_geo";
  simdjson::dom::object usage;
  if (doc["usage"].get_object().get(usage) == simdjson::SUCCESS)
    readUsage(body_evidence, usage, out);
  if (doc["message"]["usage"].get_object().get(usage) == simdjson::SUCCESS)
    readUsage(body_evidence, usage, out);
  std::string_view type, text;
  if (doc["type"].get_string().get(type) != simdjson::SUCCESS) return;
  if ((type == "content_block_delta" &&
       doc["delta"]["text"].get_string().get(text) == simdjson::SUCCESS && !text.empty()) ||
      type == "message")
    out.has_content = true;
}

}  // namespace regiongate::upstream
