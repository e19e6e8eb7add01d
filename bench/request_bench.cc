// Per-request parsing work on the gateway's request path: parsing an OpenAI chat body
// (simdjson DOM, canonical prompt text) and cutting the canonical text into chained prefix-block
// hashes (block_chars 256, the default), at three prompt sizes; and the whole step as the
// gateway does it (parse, then hash into a reused buffer). Prints ns/op and bytes/s; no
// assertions. Run: build/<dir>/bench/request_bench
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "gateway/request_body.h"
#include "routing/prompt_blocks.h"

namespace {

using namespace regiongate;

constexpr size_t kBlockChars = 256;

// A chat body with a shared system prompt and `user_chars` of user text (2 messages).
std::string chatBody(size_t user_chars) {
  std::string user;
  user.reserve(user_chars);
  for (size_t i = 0; user.size() < user_chars; ++i) user += "word" + std::to_string(i % 997) + ' ';
  user.resize(user_chars);
  return R"({"model":"llama-3.1-8b","stream":true,"stream_options":{"include_usage":true},)"
         R"("max_tokens":256,"temperature":0.2,"messages":[)"
         R"({"role":"system","content":"You are a careful assistant for a bank. Answer briefly."},)"
         R"({"role":"user","content":")" + user + R"("}]})";
}

void BM_ParseChatBody(benchmark::State& state) {
  const std::string body = chatBody(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    auto r = gateway::parseRequestBody(body, gateway::ApiKind::Chat);
    if (!r.ok()) {
      state.SkipWithError(r.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(r->canonical_text.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.counters["body_bytes"] = static_cast<double>(body.size());
}
// 1 KiB, 8 KiB (~2k tokens), 64 KiB (~16k tokens) of user text.
BENCHMARK(BM_ParseChatBody)->Arg(1 << 10)->Arg(8 << 10)->Arg(64 << 10);

void BM_PrefixBlocks(benchmark::State& state) {
  auto parsed = gateway::parseRequestBody(chatBody(static_cast<size_t>(state.range(0))),
                                          gateway::ApiKind::Chat);
  if (!parsed.ok()) {
    state.SkipWithError(parsed.error().message.c_str());
    return;
  }
  const std::string& text = parsed->canonical_text;
  std::vector<uint64_t> blocks;
  for (auto _ : state) {
    routing::promptBlocksInto(text, kBlockChars, blocks);
    benchmark::DoNotOptimize(blocks.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["blocks"] = static_cast<double>(blocks.size());
}
BENCHMARK(BM_PrefixBlocks)->Arg(1 << 10)->Arg(8 << 10)->Arg(64 << 10);

// What the gateway does per chat request before routing: parse, then hash the prefix blocks.
void BM_ParseAndHash(benchmark::State& state) {
  const std::string body = chatBody(static_cast<size_t>(state.range(0)));
  std::vector<uint64_t> blocks;
  for (auto _ : state) {
    auto r = gateway::parseRequestBody(body, gateway::ApiKind::Chat);
    if (!r.ok()) {
      state.SkipWithError(r.error().message.c_str());
      break;
    }
    routing::promptBlocksInto(r->canonical_text, kBlockChars, blocks);
    benchmark::DoNotOptimize(blocks.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_ParseAndHash)->Arg(1 << 10)->Arg(8 << 10)->Arg(64 << 10);

}  // namespace

BENCHMARK_MAIN();
