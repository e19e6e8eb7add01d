// Per-request residency lookups on the example config: tenant by key (SHA-256 + probe), pool,
// narrowing, evidence verdict. Prints ns/op; no assertions.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>

#include "config/loader.h"
#include "residency/evidence.h"
#include "residency/residency_index.h"

namespace {

using namespace regiongate;

const residency::ResidencyIndex& index() {
  static auto idx = [] {
    auto cfg = loadConfigFile(std::string(REGIONGATE_SOURCE_DIR) + "/examples/gateway.yaml");
    if (!cfg.ok()) {
      std::fprintf(stderr, "%s\n", cfg.error().message.c_str());
      std::abort();
    }
    return residency::ResidencyIndex::build(*cfg);
  }();
  return *idx;
}

void BM_TenantForKey(benchmark::State& state) {
  const auto& idx = index();
  for (auto _ : state) benchmark::DoNotOptimize(idx.tenantForKey("sk-eu-demo"));
}
BENCHMARK(BM_TenantForKey);

void BM_Pool(benchmark::State& state) {
  const auto& idx = index();
  for (auto _ : state) benchmark::DoNotOptimize(idx.pool(0, "llama-3.1-8b").size());
}
BENCHMARK(BM_Pool);

void BM_Narrow(benchmark::State& state) {
  const auto& idx = index();
  for (auto _ : state) benchmark::DoNotOptimize(idx.narrow(0, "eu-west-1").ok());
}
BENCHMARK(BM_Narrow);

void BM_NarrowRefused(benchmark::State& state) {
  const auto& idx = index();
  for (auto _ : state) benchmark::DoNotOptimize(idx.narrow(0, "us-east-1").ok());
}
BENCHMARK(BM_NarrowRefused);

void BM_JudgeEvidence(benchmark::State& state) {
  const auto& idx = index();
  const auto& j = idx.jurisdictionOf(0);
  for (auto _ : state)
    benchmark::DoNotOptimize(
        residency::judgeEvidence(idx.config(), j, std::string_view("eu-west-1")).kind);
}
BENCHMARK(BM_JudgeEvidence);

}  // namespace

BENCHMARK_MAIN();
