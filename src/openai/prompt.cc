#include "openai/prompt.h"

namespace regiongate::openai {

namespace {

Error bad(std::string code, std::string message) {
  return Error{ErrorSource::Downstream, std::move(code), std::move(message), false};
}

void appendMessageHead(std::string_view role, std::string& out) {
  out += "<|";
  out += role;
  out += "|>\n";
}

// A message's `content`: a string, null, or an array of parts (see the header).
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

Status appendChat(simdjson::dom::object body, std::string& out) {
  simdjson::dom::element messages_el;
  if (body["messages"].get(messages_el) != simdjson::SUCCESS)
    return bad("missing_messages", "'messages' is required for chat completions");
  simdjson::dom::array messages;
  if (messages_el.get_array().get(messages) != simdjson::SUCCESS)
    return bad("invalid_messages", "'messages' must be an array");
  size_t i = 0;
  for (auto m : messages) {
    simdjson::dom::object mo;
    std::string_view role;
    if (m.get_object().get(mo) != simdjson::SUCCESS ||
        mo["role"].get_string().get(role) != simdjson::SUCCESS)
      return bad("invalid_messages",
                 "messages[" + std::to_string(i) + "] must be an object with a string 'role'");
    appendMessageHead(role, out);
    simdjson::dom::element content;
    if (mo["content"].get(content) == simdjson::SUCCESS && !appendContent(content, out))
      return bad("invalid_messages", "messages[" + std::to_string(i) +
                                         "].content must be a string or an array of parts");
    out.push_back('\n');
    ++i;
  }
  if (i == 0) return bad("invalid_messages", "'messages' must not be empty");
  return {};
}

Status appendCompletion(simdjson::dom::object body, std::string& out) {
  simdjson::dom::element prompt;
  if (body["prompt"].get(prompt) != simdjson::SUCCESS)
    return bad("missing_prompt", "'prompt' is required for completions");
  std::string_view s;
  simdjson::dom::array arr;
  if (prompt.get_string().get(s) == simdjson::SUCCESS) {
    out.append(s);
    return {};
  }
  if (prompt.get_array().get(arr) != simdjson::SUCCESS)
    return bad("invalid_prompt", "'prompt' must be a string or an array of strings");
  bool first = true;
  for (auto p : arr) {
    if (p.get_string().get(s) != simdjson::SUCCESS)
      return bad("invalid_prompt", "'prompt' must be a string or an array of strings");
    if (!first) out.push_back('\n');
    out.append(s);
    first = false;
  }
  return {};
}

}  // namespace

Status appendCanonicalPrompt(simdjson::dom::object body, ApiKind kind, std::string& out) {
  return kind == ApiKind::Chat ? appendChat(body, out) : appendCompletion(body, out);
}

std::string chatPromptText(const std::vector<ChatMessage>& messages) {
  std::string out;
  size_t total = 0;
  for (const auto& m : messages) total += m.role.size() + m.content.size() + 6;
  out.reserve(total);
  for (const auto& m : messages) {
    appendMessageHead(m.role, out);
    out += m.content;
    out += '\n';
  }
  return out;
}

}  // namespace regiongate::openai
