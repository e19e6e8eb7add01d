#pragma once
// The mock backend's output: deterministic text from the prompt and the OpenAI-shaped JSON bodies
// (whole response, stream chunks, the final usage chunk). Written by hand (json.h helpers): the
// shapes are fixed and small, and this is the benchmark's hot path.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mock/request_parser.h"

namespace regiongate::mock {

// Output words: word i is a fixed vocabulary entry picked by xxh3 of (prompt hash, i, salt).
// Each word is exactly one token under inference::Tokenizer. With `diverge` the salt changes, so
// the text differs from the reference output for the same prompt (used to rehearse parity checks).
std::vector<std::string_view> outputWords(uint64_t prompt_hash, uint32_t n, bool diverge);
// Whether this prompt's output is perturbed: deterministic per prompt, true for about `fraction`
// of prompts.
bool divergesFor(uint64_t prompt_hash, double fraction);

struct CompletionMeta {
  ApiKind kind = ApiKind::Chat;
  std::string id;          // "chatcmpl-..." / "cmpl-..."
  int64_t created = 0;     // unix seconds
  std::string model;       // "NAME@VERSION"
  std::string fingerprint; // "fp_VERSION"
};

struct UsageInfo {
  uint64_t prompt_tokens = 0;
  uint64_t completion_tokens = 0;
  uint64_t cached_tokens = 0;
  std::string inference_geo;  // empty: member omitted
};

void appendUsage(std::string& out, const UsageInfo& u);
std::string completionBody(const CompletionMeta& m, std::string_view text,
                           std::string_view finish_reason, const UsageInfo& u);
// One stream chunk with `delta` text; `first` adds the assistant role (chat); a non-empty
// finish_reason marks the last content chunk.
std::string chunkBody(const CompletionMeta& m, std::string_view delta, bool first,
                      std::string_view finish_reason);
// The final usage chunk: empty choices plus usage.
std::string usageChunkBody(const CompletionMeta& m, const UsageInfo& u);
// "data: " + json + "\n\n"
std::string sseEvent(std::string_view json);

}  // namespace regiongate::mock
