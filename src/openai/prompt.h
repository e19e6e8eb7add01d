#pragma once
// The canonical prompt text of an OpenAI request body, shared by the gateway (whose prefix
// blocks and audit prompt_text are computed from it) and the mock backend (whose tokenizer and
// KV cache read it), so both see the same prompt:
//   chat:       for each message in order "<|ROLE|>\n" CONTENT "\n", where CONTENT is the string,
//               or the array of parts with each part's `text` (a part without text contributes
//               "<TYPE>", so an image changes the prompt), or empty for null;
//   completion: the `prompt` string, or the array of strings joined with "\n".
// Malformed input gets a typed Downstream error naming the member; nothing here throws.
#include <simdjson.h>

#include <string>
#include <vector>

#include "common/result.h"

namespace regiongate::openai {

enum class ApiKind { Chat, Completion };

struct ChatMessage {
  std::string role;
  std::string content;
};

// Codes: missing_messages, invalid_messages, missing_prompt, invalid_prompt.
Status appendCanonicalPrompt(simdjson::dom::object body, ApiKind kind, std::string& out);
// The same text for messages already split out (tests, the simulator's traces).
std::string chatPromptText(const std::vector<ChatMessage>& messages);

}  // namespace regiongate::openai
