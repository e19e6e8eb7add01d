// The mock's opt-in serial-prefill latency model (inference::LatencyParams::serial_prefill)
// schedules exactly like the simulator's instance (sim/instance.h) when the KV cache plays no part:
// same arrivals, same prompt and output lengths -> same TTFT per request. This is what lets
// `regiongate plan-validate` compare the planner with mock backends (docs/planner.md).
#include <gtest/gtest.h>

#include <random>

#include "inference/latency_model.h"
#include "routing/policy.h"
#include "sim/simulation.h"

namespace regiongate::sim {
namespace {

TEST(MockEquivalence, SerialPrefillMockMatchesTheSimulatedInstance) {
  InstanceParams p;
  p.kv_tokens = 1 << 20;
  p.prefill_ms_per_token = 0.1;
  p.ttft_fixed_ms = 10;
  p.decode_ms_per_token = 15;
  p.batch_slots = 4;  // small, so that both the slot limit and the prefill queue bind

  Trace trace;
  trace.tokens_per_block = 512;
  std::mt19937_64 rng(7);
  double t = 0;
  for (uint64_t i = 0; i < 400; ++i) {
    t += std::exponential_distribution<double>(1.0 / 400.0)(rng);  // ~ 80 % prefill utilisation
    TraceRequest r;
    r.arrival_ms = std::round(t);
    r.input_tokens = 500 + uint32_t(rng() % 6000);
    r.output_tokens = 1 + uint32_t(rng() % 200);
    for (uint32_t b = 0; b * 512 < r.input_tokens; ++b) r.blocks.push_back((i << 16) | b);
    r.conversation = i;
    trace.requests.push_back(r);
  }
  SimConfig c;
  c.instances.push_back({"i0", "r", p});
  c.pools.push_back({"EU", {0}});
  ManualClock policy_clock;
  auto policy = routing::makePolicy("round_robin", {}, policy_clock);
  ASSERT_TRUE(policy);
  SimResult sim = runSimulation(c, trace, {}, *policy);

  inference::LatencyParams lp;
  lp.prefill_ms_per_token = p.prefill_ms_per_token;
  lp.ttft_fixed_ms = p.ttft_fixed_ms;
  lp.decode_ms_per_token = p.decode_ms_per_token;
  lp.batch_slots = p.batch_slots;
  lp.serial_prefill = true;
  ManualClock clock;
  inference::LatencyModel mock_model(lp, clock);
  size_t queued = 0;
  for (size_t i = 0; i < trace.requests.size(); ++i) {
    const auto& r = trace.requests[i];
    clock.set(int64_t(r.arrival_ms * 1e6));
    auto plan = mock_model.admit(r.input_tokens, r.output_tokens);
    if (plan.queue_ms > 0) ++queued;
    EXPECT_NEAR(plan.ttftMs(), sim.outcomes[i].ttft_ms, 1e-3) << "request " << i;
  }
  EXPECT_GT(queued, 100u);  // the queue mattered

  // The default (parallel) mock model does not match: the planner needs the option.
  lp.serial_prefill = false;
  ManualClock clock2;
  inference::LatencyModel parallel(lp, clock2);
  size_t differ = 0;
  for (size_t i = 0; i < trace.requests.size(); ++i) {
    clock2.set(int64_t(trace.requests[i].arrival_ms * 1e6));
    auto plan = parallel.admit(trace.requests[i].input_tokens, trace.requests[i].output_tokens);
    if (std::fabs(plan.ttftMs() - sim.outcomes[i].ttft_ms) > 1e-3) ++differ;
  }
  EXPECT_GT(differ, 50u);
}

}  // namespace
}  // namespace regiongate::sim
