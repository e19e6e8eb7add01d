// Cost of one routing decision with 100k indexed prefixes and 8 candidates (target:
// < 5 us at p99). Google Benchmark gives the mean per policy; before it, main() times 200k single
// estimated_ttft decisions one by one and prints p50 / p99 / p99.9 (computed here, not estimated).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include "routing/estimated_ttft.h"
#include "routing/policy.h"

namespace regiongate::routing {
namespace {

constexpr size_t kPrefixes = 100'000;
constexpr size_t kCandidates = 8;
constexpr size_t kSystemBlocks = 4;   // shared system prompt
constexpr size_t kUniqueBlocks = 4;   // per indexed conversation
constexpr size_t kRequestBlocks = 32; // 32 x 64 tokens = 2048-token prompts

struct Workload {
  std::vector<std::vector<uint64_t>> requests;  // block hash chains
  std::vector<Candidate> candidates;
};

uint64_t chain(uint64_t parent, uint64_t x) {
  uint64_t h = parent ^ (x + 0x9e3779b97f4a7c15ULL + (parent << 6) + (parent >> 2));
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

std::vector<uint64_t> prompt(uint64_t conversation, size_t n, uint64_t salt) {
  std::vector<uint64_t> b;
  uint64_t h = 0;
  for (size_t i = 0; i < n; ++i) {
    uint64_t token = i < kSystemBlocks ? i : (i < kSystemBlocks + kUniqueBlocks
                                                  ? conversation * 1000 + i
                                                  : salt * 1'000'003 + i);
    h = chain(h, token);
    b.push_back(h);
  }
  return b;
}

std::unique_ptr<Policy> warmPolicy(std::string_view name, Workload& w) {
  PolicyOptions o;
  o.index_capacity_blocks = kPrefixes * kUniqueBlocks + 1024;
  auto p = makePolicy(name, o, SystemClock::instance());
  std::mt19937_64 rng(42);
  for (uint64_t c = 0; c < kPrefixes; ++c) {
    auto blocks = prompt(c, kSystemBlocks + kUniqueBlocks, 0);
    RouteRequest r;
    r.jurisdiction = "EU";
    r.model = "llama-3.1-8b";
    r.blocks = blocks;
    r.now_nanos = 1;
    p->onRouted(r, static_cast<uint32_t>(rng() % kCandidates));
  }
  for (uint32_t e = 0; e < kCandidates; ++e)
    w.candidates.push_back(Candidate{e, static_cast<uint32_t>(rng() % 8), 0, 0, 1});
  // Requests: 3/4 continue an indexed conversation (8 blocks hit), 1/4 are new conversations.
  for (uint64_t i = 0; i < 4096; ++i) {
    uint64_t conv = (i % 4 == 3) ? kPrefixes + i : rng() % kPrefixes;
    w.requests.push_back(prompt(conv, kRequestBlocks, i + 1));
  }
  return p;
}

RouteRequest makeReq(const std::vector<uint64_t>& blocks) {
  RouteRequest r;
  r.jurisdiction = "EU";
  r.model = "llama-3.1-8b";
  r.blocks = blocks;
  r.tokens_per_block = 64;
  r.prompt_tokens = blocks.size() * 64;
  r.now_nanos = 2;
  return r;
}

void BM_Pick(benchmark::State& state, std::string_view name) {
  Workload w;
  auto p = warmPolicy(name, w);
  size_t i = 0;
  for (auto _ : state) {
    auto req = makeReq(w.requests[i++ & 4095]);
    benchmark::DoNotOptimize(p->pick(req, w.candidates));
  }
}
BENCHMARK_CAPTURE(BM_Pick, estimated_ttft, "estimated_ttft");
BENCHMARK_CAPTURE(BM_Pick, sglang_cache_aware, "sglang_cache_aware");
BENCHMARK_CAPTURE(BM_Pick, consistent_hash, "consistent_hash");
BENCHMARK_CAPTURE(BM_Pick, least_loaded, "least_loaded");
BENCHMARK_CAPTURE(BM_Pick, round_robin, "round_robin");

// pick + onRouted: what the gateway pays per request with learning.
void BM_PickAndLearn(benchmark::State& state) {
  Workload w;
  auto p = warmPolicy("estimated_ttft", w);
  size_t i = 0;
  for (auto _ : state) {
    auto req = makeReq(w.requests[i++ & 4095]);
    size_t k = p->pick(req, w.candidates);
    p->onRouted(req, w.candidates[k].endpoint);
  }
}
BENCHMARK(BM_PickAndLearn);

void printPercentiles() {
  Workload w;
  auto p = warmPolicy("estimated_ttft", w);
  constexpr size_t kN = 200'000;
  std::vector<double> ns;
  ns.reserve(kN);
  size_t sink = 0;
  for (size_t i = 0; i < kN; ++i) {
    auto req = makeReq(w.requests[i & 4095]);
    auto t0 = std::chrono::steady_clock::now();
    sink += p->pick(req, w.candidates);
    auto t1 = std::chrono::steady_clock::now();
    ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
  }
  std::sort(ns.begin(), ns.end());
  auto pct = [&](double q) { return ns[std::min(ns.size() - 1, size_t(q * double(ns.size())))]; };
  std::printf(
      "estimated_ttft pick, %zu indexed prefixes (%zu blocks), %zu candidates, "
      "%zu-block prompts, %zu decisions:\n  p50 %.0f ns  p99 %.0f ns  p99.9 %.0f ns  "
      "max %.0f ns  (target p99 < 5000 ns)  [sink %zu]\n",
      kPrefixes, kPrefixes * kUniqueBlocks + kSystemBlocks, kCandidates, kRequestBlocks, kN,
      pct(0.5), pct(0.99), pct(0.999), ns.back(), sink % 2);
}

}  // namespace
}  // namespace regiongate::routing

int main(int argc, char** argv) {
  regiongate::routing::printPercentiles();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
