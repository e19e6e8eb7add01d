// Simulator speed: replay >= 1M synthetic requests on one core and print simulated
// requests per second of wall time. A plain main that prints (the number is one long run, not a
// microbenchmark). Usage: sim_bench [requests] [instances] [policy]
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "routing/policy.h"
#include "sim/simulation.h"
#include "sim/trace.h"

using namespace regiongate;

int main(int argc, char** argv) {
  size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  uint32_t instances = argc > 2 ? uint32_t(std::strtoul(argv[2], nullptr, 10)) : 8;
  std::string policy_name = argc > 3 ? argv[3] : "estimated_ttft";

  sim::SyntheticOptions so;
  so.requests = n;
  so.seed = 42;
  so.tokens_per_block = 64;
  so.tenants = 16;
  so.system_prompt_blocks = 4;
  so.mean_user_blocks = 2;
  so.max_blocks = 32;
  so.rate_per_s = 20.0 * instances;  // below saturation (see docs/benchmarks.md)
  so.bursty = true;
  auto g0 = std::chrono::steady_clock::now();
  sim::Trace trace = sim::generateSynthetic(so);
  auto g1 = std::chrono::steady_clock::now();

  sim::SimConfig cfg;
  sim::PoolSpec pool{"EU", {}};
  sim::InstanceParams p;
  p.kv_tokens = 450'000;
  p.prefill_ms_per_token = 0.1;
  p.decode_ms_per_token = 15;
  p.batch_slots = 256;
  for (uint32_t i = 0; i < instances; ++i) {
    cfg.instances.push_back({"i" + std::to_string(i), "r", p});
    pool.instances.push_back(i);
  }
  cfg.pools.push_back(pool);
  ManualClock clock;
  routing::PolicyOptions po;
  po.index_capacity_blocks = size_t(instances) * (p.kv_tokens / so.tokens_per_block);
  auto policy = routing::makePolicy(policy_name, po, clock);
  if (!policy) {
    std::fprintf(stderr, "unknown policy %s\n", policy_name.c_str());
    return 2;
  }
  auto t0 = std::chrono::steady_clock::now();
  std::clock_t c0 = std::clock();
  sim::SimResult r = sim::runSimulation(cfg, trace, {}, *policy);
  std::clock_t c1 = std::clock();
  auto t1 = std::chrono::steady_clock::now();
  double gen_s = std::chrono::duration<double>(g1 - g0).count();
  double sim_s = std::chrono::duration<double>(t1 - t0).count();
  auto s = sim::summarise(r, {});
  std::printf("sim_bench: %zu requests, %u instances, policy %s, %llu events\n", n, instances,
              policy_name.c_str(), (unsigned long long)r.events);
  std::printf("  generate: %.2f s\n  simulate: %.2f s = %.0f requests/s (%.0f events/s)\n", gen_s,
              sim_s, double(n) / sim_s, double(r.events) / sim_s);
  double cpu_s = double(c1 - c0) / CLOCKS_PER_SEC;
  std::printf("  simulate CPU time: %.2f s = %.0f requests/s per core\n", cpu_s, double(n) / cpu_s);
  std::printf("  simulated %.0f s of traffic; hit rate %.1f%%, TTFT p50 %.0f ms p99 %.0f ms\n",
              r.spanMs() / 1000, 100 * s.tokenHitRate(), s.ttft_p50, s.ttft_p99);
  return 0;
}
