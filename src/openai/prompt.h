#pragma once
// The canonical prompt text of an OpenAI request body, shared by the gateway (whose prefix
// blocks and audit prompt_text are computed from it) and the mock backend (whose tokenizer and
// KV cache read it), so both see the same prompt:
//   chat:       for each message in order "<|ROLE|>\n" CONTENT "\n", where CONTENT is the string,
//               or the array of parts with each part's `text` (a part without text contributes
//               "<TYPE>", so an image changes the prompt), or empty for null;
//   completion: the `prompt` string, or the array of strings joined with "\n";
//   messages:   Anthropic's Messages API: `system` (a string or text blocks) as a system message,
//               then `messages` as chat (content blocks read like chat parts);
//   responses:  OpenAI's Responses API: `instructions` as a system message, then `input`: a
//               string as one user message, or an array of items (messages as chat; an item
//               without a role, such as a tool output, contributes "<TYPE>");
//   embeddings: the `input` string, or the array of strings joined with "\n" (token arrays as
//               decimal ids separated by spaces, one input per line).
// Malformed input gets a typed Downstream error naming the member; nothing here throws.
#include <simdjson.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace regiongate::openai {

// The client APIs the gateway passes through (Messages is Anthropic's; it lives here with the
// others because all share the canonical prompt).
enum class ApiKind { Chat, Completion, Messages, Responses, Embeddings };

// The path a client calls for each API ("/v1/chat/completions", ...).
std::string_view apiPath(ApiKind kind);

struct ChatMessage {
  std::string role;
  std::string content;
};

// Codes: missing_messages, invalid_messages, missing_prompt, invalid_prompt, invalid_system,
// missing_input, invalid_input, invalid_instructions.
Status appendCanonicalPrompt(simdjson::dom::object body, ApiKind kind, std::string& out);
// The same text for messages already split out (tests, the simulator's traces).
std::string chatPromptText(const std::vector<ChatMessage>& messages);

}  // namespace regiongate::openai
