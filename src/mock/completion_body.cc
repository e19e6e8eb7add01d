#include "mock/completion_body.h"

#include <array>

#include "common/hash.h"
#include "common/json.h"

namespace regiongate::mock {
namespace {

constexpr std::array<std::string_view, 64> kWords = {
    "the",     "model",   "answers", "with",   "a",       "short",   "reply",   "about",
    "data",    "region",  "kept",    "inside", "its",     "border",  "and",     "each",
    "token",   "comes",   "from",    "cache",  "or",      "compute", "so",      "latency",
    "depends", "on",      "prefix",  "reuse",  "while",   "queues",  "grow",    "when",
    "slots",   "are",     "busy",    "then",   "decode",  "steps",   "follow",  "one",
    "by",      "until",   "limit",   "is",     "reached", "here",    "mock",    "output",
    "stays",   "stable",  "for",     "equal",  "prompts", "which",   "lets",    "tests",
    "compare", "results", "across",  "many",   "runs",    "without", "drift",   "ever"};

void appendHead(std::string& out, const CompletionMeta& m, std::string_view object) {
  out += "{\"id\":";
  appendJsonString(out, m.id);
  out += ",\"object\":\"";
  out += object;
  out += "\",\"created\":";
  out += std::to_string(m.created);
  out += ",\"model\":";
  appendJsonString(out, m.model);
  out += ",\"system_fingerprint\":";
  appendJsonString(out, m.fingerprint);
}

}  // namespace

std::vector<std::string_view> outputWords(uint64_t prompt_hash, uint32_t n, bool diverge) {
  std::vector<std::string_view> words;
  words.reserve(n);
  const uint64_t salt = diverge ? 0x9e3779b97f4a7c15ull : 0;
  for (uint32_t i = 0; i < n; ++i) {
    uint64_t key[2] = {prompt_hash ^ salt, i};
    uint64_t h = xxh3(std::string_view(reinterpret_cast<const char*>(key), sizeof(key)));
    words.push_back(kWords[h % kWords.size()]);
  }
  return words;
}

bool divergesFor(uint64_t prompt_hash, double fraction) {
  if (fraction <= 0) return false;
  if (fraction >= 1) return true;
  uint64_t h = xxh3(std::string_view(reinterpret_cast<const char*>(&prompt_hash), 8), 0xd1e);
  return static_cast<double>(h >> 11) / static_cast<double>(1ull << 53) < fraction;
}

void appendUsage(std::string& out, const UsageInfo& u) {
  out += "{\"prompt_tokens\":";
  out += std::to_string(u.prompt_tokens);
  out += ",\"completion_tokens\":";
  out += std::to_string(u.completion_tokens);
  out += ",\"total_tokens\":";
  out += std::to_string(u.prompt_tokens + u.completion_tokens);
  out += ",\"prompt_tokens_details\":{\"cached_tokens\":";
  out += std::to_string(u.cached_tokens);
  out += '}';
  if (!u.inference_geo.empty()) {
    out += ",\"inference_geo\":";
    appendJsonString(out, u.inference_geo);
  }
  out += '}';
}

std::string completionBody(const CompletionMeta& m, std::string_view text,
                           std::string_view finish_reason, const UsageInfo& u) {
  std::string out;
  out.reserve(256 + text.size());
  const bool chat = m.kind == ApiKind::Chat;
  appendHead(out, m, chat ? "chat.completion" : "text_completion");
  out += ",\"choices\":[{\"index\":0,";
  if (chat) {
    out += "\"message\":{\"role\":\"assistant\",\"content\":";
    appendJsonString(out, text);
    out += '}';
  } else {
    out += "\"text\":";
    appendJsonString(out, text);
  }
  out += ",\"logprobs\":null,\"finish_reason\":";
  appendJsonString(out, finish_reason);
  out += "}],\"usage\":";
  appendUsage(out, u);
  out += '}';
  return out;
}

std::string chunkBody(const CompletionMeta& m, std::string_view delta, bool first,
                      std::string_view finish_reason) {
  std::string out;
  out.reserve(200 + delta.size());
  const bool chat = m.kind == ApiKind::Chat;
  appendHead(out, m, chat ? "chat.completion.chunk" : "text_completion");
  out += ",\"choices\":[{\"index\":0,";
  if (chat) {
    out += "\"delta\":{";
    if (first) out += "\"role\":\"assistant\",";
    out += "\"content\":";
    appendJsonString(out, delta);
    out += '}';
  } else {
    out += "\"text\":";
    appendJsonString(out, delta);
  }
  out += ",\"logprobs\":null,\"finish_reason\":";
  if (finish_reason.empty())
    out += "null";
  else
    appendJsonString(out, finish_reason);
  out += "}]}";
  return out;
}

std::string usageChunkBody(const CompletionMeta& m, const UsageInfo& u) {
  std::string out;
  out.reserve(300);
  appendHead(out, m, m.kind == ApiKind::Chat ? "chat.completion.chunk" : "text_completion");
  out += ",\"choices\":[],\"usage\":";
  appendUsage(out, u);
  out += '}';
  return out;
}

std::string sseEvent(std::string_view json) {
  std::string out;
  out.reserve(json.size() + 8);
  out += "data: ";
  out += json;
  out += "\n\n";
  return out;
}

}  // namespace regiongate::mock
