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

// Appends `el` when it is a string.
bool appendIfString(simdjson::dom::element el, std::string& out) {
  std::string_view s;
  if (el.get_string().get(s) != simdjson::SUCCESS) return false;
  out.append(s);
  return true;
}

// A message's `content`: a string, null, or an array of parts (see the header).
bool appendContent(simdjson::dom::element content, std::string& out) {
  if (appendIfString(content, out)) return true;
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

// An optional top-level string or parts member (`system`, `instructions`) as a system message.
Status appendSystem(simdjson::dom::object body, const char* member, const char* code,
                    std::string& out) {
  simdjson::dom::element el;
  if (body[member].get(el) != simdjson::SUCCESS || el.is_null()) return {};
  appendMessageHead("system", out);
  if (!appendContent(el, out))
    return bad(code, std::string("'") + member + "' must be a string or an array of blocks");
  out.push_back('\n');
  return {};
}

Status appendMessages(simdjson::dom::object body, std::string& out) {
  if (auto st = appendSystem(body, "system", "invalid_system", out); !st.ok()) return st;
  return appendChat(body, out);
}

// One Responses input item: a message (role + content), or another item type (tool output,
// reasoning, ...) that marks its place by its type.
bool appendResponsesItem(simdjson::dom::element item, std::string& out) {
  simdjson::dom::object obj;
  if (item.get_object().get(obj) != simdjson::SUCCESS) return false;
  std::string_view role, type;
  if (obj["role"].get_string().get(role) == simdjson::SUCCESS) {
    appendMessageHead(role, out);
    simdjson::dom::element content;
    if (obj["content"].get(content) == simdjson::SUCCESS && !appendContent(content, out))
      return false;
    out.push_back('\n');
    return true;
  }
  if (obj["type"].get_string().get(type) != simdjson::SUCCESS) return false;
  out.push_back('<');
  out.append(type);
  out += ">\n";
  return true;
}

Status appendResponses(simdjson::dom::object body, std::string& out) {
  if (auto st = appendSystem(body, "instructions", "invalid_instructions", out); !st.ok())
    return st;
  simdjson::dom::element input;
  if (body["input"].get(input) != simdjson::SUCCESS)
    return bad("missing_input", "'input' is required for responses");
  std::string_view s;
  if (input.get_string().get(s) == simdjson::SUCCESS) {
    appendMessageHead("user", out);
    out.append(s);
    out.push_back('\n');
    return {};
  }
  simdjson::dom::array items;
  if (input.get_array().get(items) != simdjson::SUCCESS)
    return bad("invalid_input", "'input' must be a string or an array of items");
  size_t i = 0;
  for (auto item : items) {
    if (!appendResponsesItem(item, out))
      return bad("invalid_input", "input[" + std::to_string(i) +
                                      "] must be an object with a 'role' or a 'type'");
    ++i;
  }
  return {};
}

// One embeddings input: a string, or an array of token ids.
bool appendEmbeddingInput(simdjson::dom::element el, std::string& out) {
  if (appendIfString(el, out)) return true;
  simdjson::dom::array tokens;
  if (el.get_array().get(tokens) != simdjson::SUCCESS) return false;
  bool first = true;
  for (auto t : tokens) {
    int64_t id = 0;
    if (t.get_int64().get(id) != simdjson::SUCCESS) return false;
    if (!first) out.push_back(' ');
    out += std::to_string(id);
    first = false;
  }
  return true;
}

Status appendEmbeddings(simdjson::dom::object body, std::string& out) {
  simdjson::dom::element input;
  if (body["input"].get(input) != simdjson::SUCCESS)
    return bad("missing_input", "'input' is required for embeddings");
  const Error invalid = bad("invalid_input",
                            "'input' must be a string, an array of strings, or token arrays");
  simdjson::dom::array arr;
  if (input.get_array().get(arr) != simdjson::SUCCESS)  // one string
    return appendEmbeddingInput(input, out) ? Status{} : Status{invalid};
  if (arr.size() == 0) return invalid;
  for (auto el : arr) {  // one token array, or a list of inputs
    if (el.is_int64()) return appendEmbeddingInput(input, out) ? Status{} : Status{invalid};
    break;
  }
  bool first = true;
  for (auto el : arr) {
    if (!first) out.push_back('\n');
    if (!appendEmbeddingInput(el, out)) return invalid;
    first = false;
  }
  return {};
}

}  // namespace

// Both indexed by ApiKind, in its declaration order.
constexpr std::string_view kApiPaths[] = {"/v1/chat/completions", "/v1/completions",
                                          "/v1/messages", "/v1/responses", "/v1/embeddings"};
constexpr Status (*kAppenders[])(simdjson::dom::object, std::string&) = {
    appendChat, appendCompletion, appendMessages, appendResponses, appendEmbeddings};

std::string_view apiPath(ApiKind kind) { return kApiPaths[static_cast<size_t>(kind)]; }

Status appendCanonicalPrompt(simdjson::dom::object body, ApiKind kind, std::string& out) {
  return kAppenders[static_cast<size_t>(kind)](body, out);
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
