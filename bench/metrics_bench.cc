// One counter increment on the data plane: through the family's thread-local label cache (the
// common gateway call) and on a held Counter& (the floor). Run with --benchmark_threads to see
// that shards keep threads off each other's cache lines.
#include <benchmark/benchmark.h>

#include "metrics/gateway_metrics.h"

namespace regiongate::metrics {
namespace {

Registry& registry() {
  static Registry r;
  return r;
}
GatewayMetrics& gm() {
  static GatewayMetrics m(registry());
  return m;
}

void BM_CounterIncHeld(benchmark::State& state) {
  Counter& c = gm().requests.with({"EU", "eu-central-1", "llama-3.1-8b", "200"});
  for (auto _ : state) c.inc();
  benchmark::DoNotOptimize(c);
}
BENCHMARK(BM_CounterIncHeld)->ThreadRange(1, 4);

void BM_CounterIncWithLabels(benchmark::State& state) {
  auto& fam = gm().requests;
  for (auto _ : state) fam.with({"EU", "eu-central-1", "llama-3.1-8b", "200"}).inc();
}
BENCHMARK(BM_CounterIncWithLabels)->ThreadRange(1, 4);

void BM_HistogramObserveWithLabels(benchmark::State& state) {
  auto& fam = gm().ttft;
  double v = 0.0;
  for (auto _ : state) {
    fam.with({"EU", "eu-central-1", "llama-3.1-8b"}).observe(v);
    v = v > 10 ? 0.0 : v + 0.137;
  }
}
BENCHMARK(BM_HistogramObserveWithLabels)->ThreadRange(1, 4);

void BM_Render(benchmark::State& state) {
  auto& fam = gm().upstream_attempts;
  for (int e = 0; e < 32; ++e)
    fam.with({"EU", "eu-central-1", "ep" + std::to_string(e), "ok"}).inc();
  for (auto _ : state) benchmark::DoNotOptimize(registry().render());
}
BENCHMARK(BM_Render);

}  // namespace
}  // namespace regiongate::metrics

BENCHMARK_MAIN();
