// Fuzzes the mock backend's request-body parser (chat and text) and the tokenizer behind it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "inference/kv_cache.h"
#include "inference/tokenizer.h"
#include "mock/request_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace regiongate::mock;
  using regiongate::inference::Tokenizer;
  using regiongate::inference::makeBlocks;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  for (ApiKind kind : {ApiKind::Chat, ApiKind::Text}) {
    auto r = parseInferenceRequest(body, kind);
    if (r.ok()) {
      auto seq = makeBlocks(Tokenizer::encode(r->prompt_text), 16);
      if (seq.blocks() != seq.tokens.size() / 16) __builtin_trap();
    }
  }
  if (Tokenizer::count(body) != Tokenizer::encode(body).size()) __builtin_trap();
  return 0;
}
