#include "mock/request_parser.h"

#include <simdjson.h>

#include <vector>

#include "inference/tokenizer.h"

namespace regiongate::mock {
namespace {

Error bad(std::string message) {
  return Error{ErrorSource::Downstream, "invalid_request_error", std::move(message), false};
}

// Text of a chat `content`: a string, null, or an array of parts with `text`.
bool contentText(simdjson::dom::element content, std::string& out) {
  if (content.is_null()) return true;
  std::string_view s;
  if (content.get_string().get(s) == simdjson::SUCCESS) {
    out.append(s);
    return true;
  }
  simdjson::dom::array parts;
  if (content.get_array().get(parts) != simdjson::SUCCESS) return false;
  for (simdjson::dom::element part : parts) {
    std::string_view text;
    if (part["text"].get_string().get(text) == simdjson::SUCCESS) out.append(text);
  }
  return true;
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

  if (kind == ApiKind::Chat) {
    simdjson::dom::array messages;
    if (obj["messages"].get_array().get(messages) != simdjson::SUCCESS)
      return bad("'messages' is required and must be an array");
    std::vector<inference::ChatMessage> msgs;
    size_t i = 0;
    for (simdjson::dom::element m : messages) {
      inference::ChatMessage cm;
      std::string_view role;
      if (m["role"].get_string().get(role) != simdjson::SUCCESS)
        return bad("'messages[" + std::to_string(i) + "].role' must be a string");
      cm.role = std::string(role);
      simdjson::dom::element content;
      if (m["content"].get(content) == simdjson::SUCCESS && !contentText(content, cm.content))
        return bad("'messages[" + std::to_string(i) + "].content' must be a string or parts");
      msgs.push_back(std::move(cm));
      ++i;
    }
    if (msgs.empty()) return bad("'messages' must not be empty");
    req.prompt_text = inference::chatPromptText(msgs);
  } else {
    if (obj["prompt"].get(el) != simdjson::SUCCESS) return bad("'prompt' is required");
    std::string_view s;
    simdjson::dom::array arr;
    if (el.get_string().get(s) == simdjson::SUCCESS) {
      req.prompt_text = std::string(s);
    } else if (el.get_array().get(arr) == simdjson::SUCCESS) {
      bool first = true;
      for (simdjson::dom::element p : arr) {
        if (p.get_string().get(s) != simdjson::SUCCESS)
          return bad("'prompt' array items must be strings");
        if (!first) req.prompt_text.push_back('\n');
        req.prompt_text.append(s);
        first = false;
      }
    } else {
      return bad("'prompt' must be a string or an array of strings");
    }
  }
  return req;
}

}  // namespace regiongate::mock
