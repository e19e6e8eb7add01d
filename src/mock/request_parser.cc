#include "mock/request_parser.h"

#include <simdjson.h>

#include "openai/prompt.h"

namespace regiongate::mock {
namespace {

Error bad(std::string message) {
  return Error{ErrorSource::Downstream, "invalid_request_error", std::move(message), false};
}

}  // namespace

Result<InferenceRequest> parseInferenceRequest(std::string_view body, ApiKind kind) {
  // One parser per thread: reused buffers, no allocation per request once warm.
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS) return bad("body is not valid JSON");
  simdjson::dom::object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) return bad("body is not a JSON object");

  InferenceRequest req;
  req.kind = kind;
  std::string_view model;
  if (obj["model"].get_string().get(model) != simdjson::SUCCESS)
    return bad("'model' is required and must be a string");
  req.model = std::string(model);

  simdjson::dom::element el;
  if (obj["stream"].get(el) == simdjson::SUCCESS && !el.is_null()) {
    bool b = false;
    if (el.get_bool().get(b) != simdjson::SUCCESS) return bad("'stream' must be a boolean");
    req.stream = b;
  }
  if (obj["stream_options"].get(el) == simdjson::SUCCESS && !el.is_null()) {
    simdjson::dom::element iu;
    bool b = false;
    if (el["include_usage"].get(iu) == simdjson::SUCCESS && !iu.is_null()) {
      if (iu.get_bool().get(b) != simdjson::SUCCESS)
        return bad("'stream_options.include_usage' must be a boolean");
      req.include_usage = b;
    }
  }
  for (const char* key : {"max_completion_tokens", "max_tokens"}) {
    if (obj[key].get(el) == simdjson::SUCCESS && !el.is_null()) {
      int64_t v = 0;
      if (el.get_int64().get(v) != simdjson::SUCCESS || v < 0 || v > 1'000'000)
        return bad(std::string("'") + key + "' must be an integer in [0, 1000000]");
      req.max_tokens = static_cast<uint32_t>(v);
      break;
    }
  }

  const auto prompt_kind =
      kind == ApiKind::Chat ? openai::ApiKind::Chat : openai::ApiKind::Completion;
  if (auto st = openai::appendCanonicalPrompt(obj, prompt_kind, req.prompt_text); !st.ok())
    return bad(st.error().message);
  return req;
}

}  // namespace regiongate::mock
