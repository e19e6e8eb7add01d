#include "gateway/request_body.h"

#include <simdjson.h>

namespace regiongate::gateway {

namespace {

Error bad(std::string code, std::string message) {
  return Error{ErrorSource::Downstream, std::move(code), std::move(message), false};
}

// Appends the text of a message `content`: a string, or an array of parts whose "text" members
// are concatenated (image parts and others contribute their type only).
bool appendContent(simdjson::dom::element content, std::string& out) {
  std::string_view s;
  if (content.get_string().get(s) == simdjson::SUCCESS) {
    out.append(s);
    return true;
  }
  simdjson::dom::array parts;
  if (content.get_array().get(parts) != simdjson::SUCCESS) return content.is_null();
  for (auto part : parts) {
    std::string_view text;
    if (part["text"].get_string().get(text) == simdjson::SUCCESS) {
      out.append(text);
    } else if (part["type"].get_string().get(text) == simdjson::SUCCESS) {
      out.push_back('<');
      out.append(text);
      out.push_back('>');
    }
  }
  return true;
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

  if (kind == ApiKind::Chat) {
    simdjson::dom::element messages_el;
    if (obj["messages"].get(messages_el) != simdjson::SUCCESS)
      return bad("missing_messages", "'messages' is required for chat completions");
    simdjson::dom::array messages;
    if (messages_el.get_array().get(messages) != simdjson::SUCCESS)
      return bad("invalid_messages", "'messages' must be an array");
    size_t i = 0;
    for (auto m : messages) {
      simdjson::dom::object mo;
      std::string_view role;
      if (m.get_object().get(mo) != simdjson::SUCCESS || mo["role"].get_string().get(role) != simdjson::SUCCESS)
        return bad("invalid_messages", "messages[" + std::to_string(i) + "] must be an object with a string 'role'");
      out.canonical_text.append(role);
      out.canonical_text.push_back('\n');
      simdjson::dom::element content;
      if (mo["content"].get(content) == simdjson::SUCCESS && !appendContent(content, out.canonical_text))
        return bad("invalid_messages", "messages[" + std::to_string(i) + "].content must be a string or an array of parts");
      out.canonical_text.push_back('\n');
      ++i;
    }
    if (i == 0) return bad("invalid_messages", "'messages' must not be empty");
  } else {
    simdjson::dom::element prompt;
    if (obj["prompt"].get(prompt) != simdjson::SUCCESS)
      return bad("missing_prompt", "'prompt' is required for completions");
    std::string_view s;
    simdjson::dom::array arr;
    if (prompt.get_string().get(s) == simdjson::SUCCESS) {
      out.canonical_text.append(s);
    } else if (prompt.get_array().get(arr) == simdjson::SUCCESS) {
      for (auto p : arr) {
        if (p.get_string().get(s) != simdjson::SUCCESS)
          return bad("invalid_prompt", "'prompt' must be a string or an array of strings");
        out.canonical_text.append(s);
        out.canonical_text.push_back('\n');
      }
    } else {
      return bad("invalid_prompt", "'prompt' must be a string or an array of strings");
    }
  }
  out.approx_prompt_tokens = out.canonical_text.size() / 4 + 1;
  return out;
}

}  // namespace regiongate::gateway
