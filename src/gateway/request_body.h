#pragma once
// Parses an OpenAI request body once (simdjson DOM): model, stream flags, and the canonical prompt
// text the prefix index hashes (openai/prompt.h, the same text the mock backend tokenizes).
// Every malformed input gets a typed error naming what is wrong; nothing here throws.
#include <string>
#include <string_view>

#include "common/result.h"
#include "openai/prompt.h"

namespace regiongate::gateway {

using ApiKind = openai::ApiKind;

struct ParsedBody {
  std::string model;
  bool stream = false;
  bool include_usage = false;    // stream_options.include_usage
  std::string canonical_text;    // what prefix blocks are computed from
  uint64_t approx_prompt_tokens = 0;  // canonical_text.size() / 4 (a documented estimate)
};

// Error codes: invalid_json, invalid_body (not an object), missing_model, invalid_model,
// missing_messages, invalid_messages, missing_prompt, invalid_prompt, invalid_stream.
Result<ParsedBody> parseRequestBody(std::string_view body, ApiKind kind);

}  // namespace regiongate::gateway
