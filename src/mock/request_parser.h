#pragma once
// Parses the body of an OpenAI chat or text completion request (simdjson DOM) into what the mock
// backend needs: model, stream flags, max tokens and the canonical prompt text.
// The prompt shapes and their canonical text are openai/prompt.h's (the gateway's too). Unknown
// members are ignored, as a real server does.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace regiongate::mock {

enum class ApiKind { Chat, Text };

struct InferenceRequest {
  ApiKind kind = ApiKind::Chat;
  std::string model;
  bool stream = false;
  std::optional<bool> include_usage;    // stream_options.include_usage
  std::optional<uint32_t> max_tokens;   // max_tokens or max_completion_tokens
  std::string prompt_text;              // canonical text (openai/prompt.h)
};

// Errors are Downstream, code "invalid_request_error" with a message naming the member.
Result<InferenceRequest> parseInferenceRequest(std::string_view body, ApiKind kind);

}  // namespace regiongate::mock
