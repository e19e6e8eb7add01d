#include "gateway/request_body.h"

#include <simdjson.h>

#include "openai/prompt.h"

namespace regiongate::gateway {

namespace {

Error bad(std::string code, std::string message) {
  return Error{ErrorSource::Downstream, std::move(code), std::move(message), false};
}

}  // namespace

Result<ParsedBody> parseRequestBody(std::string_view body, ApiKind kind) {
  // One parser per thread: simdjson parsers are not thread-safe and reuse their buffers.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(body.data(), body.size()).get(doc); err != simdjson::SUCCESS)
    return bad("invalid_json", std::string("request body is not valid JSON: ") +
                                   simdjson::error_message(err));
  simdjson::dom::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS)
    return bad("invalid_body", "request body must be a JSON object");

  ParsedBody out;
  simdjson::dom::element model;
  if (obj["model"].get(model) != simdjson::SUCCESS) return bad("missing_model", "'model' is required");
  std::string_view model_sv;
  if (model.get_string().get(model_sv) != simdjson::SUCCESS || model_sv.empty() ||
      model_sv.size() > 256)
    return bad("invalid_model", "'model' must be a non-empty string of at most 256 characters");
  out.model.assign(model_sv);

  simdjson::dom::element stream;
  if (obj["stream"].get(stream) == simdjson::SUCCESS && !stream.is_null()) {
    if (stream.get_bool().get(out.stream) != simdjson::SUCCESS)
      return bad("invalid_stream", "'stream' must be a boolean");
  }
  bool include_usage = false;
  if (obj["stream_options"]["include_usage"].get_bool().get(include_usage) == simdjson::SUCCESS)
    out.include_usage = include_usage;

  if (auto st = openai::appendCanonicalPrompt(obj, kind, out.canonical_text); !st.ok())
    return st.error();
  out.approx_prompt_tokens = out.canonical_text.size() / 4 + 1;
  return out;
}

}  // namespace regiongate::gateway
