#include <gtest/gtest.h>

#include <map>
#include <set>

#include "routing/policy.h"
#include "sim/compare.h"
#include "sim/simulation.h"

namespace regiongate::sim {
namespace {

TraceRequest req(double at_ms, std::vector<uint64_t> ids, uint32_t tokens, uint32_t out = 1,
                 uint64_t conv = 0) {
  TraceRequest r;
  r.arrival_ms = at_ms;
  uint64_t parent = 0;
  for (uint64_t id : ids) r.blocks.push_back(parent = chainBlockId(parent, id));
  r.input_tokens = tokens;
  r.output_tokens = out;
  r.conversation = conv;
  return r;
}

InstanceParams simpleParams() {
  InstanceParams p;
  p.kv_tokens = 1000;
  p.prefill_ms_per_token = 1.0;
  p.ttft_fixed_ms = 0;
  p.decode_ms_per_token = 10;
  p.batch_slots = 4;
  return p;
}

SimConfig onePool(uint32_t n, InstanceParams p = simpleParams()) {
  SimConfig c;
  PoolSpec pool{"EU", {}};
  for (uint32_t i = 0; i < n; ++i) {
    c.instances.push_back({"i" + std::to_string(i), "r", p});
    pool.instances.push_back(i);
  }
  c.pools.push_back(pool);
  return c;
}

// A policy test double: records what the simulator shows it and picks a scripted candidate.
class RecordingPolicy final : public routing::Policy {
public:
  std::string_view name() const override { return "recording"; }
  size_t pick(const routing::RouteRequest& r, std::span<const routing::Candidate> c) override {
    picks.push_back({std::string(r.jurisdiction), {}});
    for (const auto& x : c) {
      picks.back().second.push_back(x.endpoint);
      last_in_flight.push_back(x.in_flight);
      last_queue.push_back(x.queue_ms);
    }
    return c.size() - 1;  // always the last candidate
  }
  void onRouted(const routing::RouteRequest&, uint32_t e) override { routed.push_back(e); }
  void onCompleted(uint32_t e, const routing::RouteRequest&, double ttft, uint64_t cached) override {
    completed.push_back({e, ttft, cached});
  }
  std::vector<std::pair<std::string, std::vector<uint32_t>>> picks;
  std::vector<uint32_t> routed;
  std::vector<uint32_t> last_in_flight;
  std::vector<double> last_queue;
  struct Done {
    uint32_t e;
    double ttft;
    uint64_t cached;
  };
  std::vector<Done> completed;
};

TEST(Simulation, HandWorkedSingleInstance) {
  Trace t;
  t.tokens_per_block = 4;
  t.requests = {req(0, {1, 2}, 8), req(100, {1, 2, 3}, 12), req(101, {9}, 4)};
  auto c = onePool(1);
  ManualClock clock;
  auto policy = routing::makePolicy("round_robin", {}, clock);
  SimResult r = runSimulation(c, t, {}, *policy);
  ASSERT_EQ(r.outcomes.size(), 3u);
  EXPECT_DOUBLE_EQ(r.outcomes[0].ttft_ms, 8);   // 8 uncached tokens x 1 ms
  EXPECT_DOUBLE_EQ(r.outcomes[1].ttft_ms, 4);   // 8 cached, 4 to prefill
  EXPECT_EQ(r.outcomes[1].cached_tokens, 8u);
  EXPECT_DOUBLE_EQ(r.outcomes[2].ttft_ms, 7);   // waits for B's prefill (100..104), then 4 ms
  Summary s = summarise(r, {});
  EXPECT_DOUBLE_EQ(s.tokenHitRate(), 8.0 / 24.0);
  EXPECT_DOUBLE_EQ(s.blockHitRate(), 2.0 / 6.0);
  EXPECT_DOUBLE_EQ(r.instances[0].prefill_busy_ms, 16);
  EXPECT_EQ(r.instances[0].requests, 3u);
}

TEST(Simulation, BatchSlotsQueueRequests) {
  Trace t;
  t.tokens_per_block = 4;
  // Two requests with 11 output tokens (100 ms of decode each) on one slot.
  t.requests = {req(0, {1}, 4, 11), req(0, {2}, 4, 11)};
  auto p = simpleParams();
  p.batch_slots = 1;
  auto c = onePool(1, p);
  ManualClock clock;
  auto policy = routing::makePolicy("round_robin", {}, clock);
  SimResult r = runSimulation(c, t, {}, *policy);
  EXPECT_DOUBLE_EQ(r.outcomes[0].ttft_ms, 4);
  EXPECT_DOUBLE_EQ(r.outcomes[0].done_ms, 104);
  EXPECT_DOUBLE_EQ(r.outcomes[1].ttft_ms, 108);  // starts when the slot frees at 104
}

TEST(Simulation, DrivesThePolicyThroughTheInterface) {
  Trace t;
  t.tokens_per_block = 4;
  t.requests = {req(0, {1}, 4), req(0, {2}, 4), req(1000, {3}, 4)};
  auto c = onePool(3);
  RecordingPolicy policy;
  SimResult r = runSimulation(c, t, {}, policy);
  ASSERT_EQ(policy.picks.size(), 3u);
  EXPECT_EQ(policy.picks[0].first, "EU");
  EXPECT_EQ(policy.picks[0].second, (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(policy.routed, (std::vector<uint32_t>{2, 2, 2}));
  for (const auto& o : r.outcomes) EXPECT_EQ(o.instance, 2u);
  // The second pick saw the first request in flight on instance 2, with its prefill queued.
  EXPECT_EQ(policy.last_in_flight[5], 1u);
  EXPECT_GT(policy.last_queue[5], 0);
  ASSERT_EQ(policy.completed.size(), 3u);
  EXPECT_DOUBLE_EQ(policy.completed[0].ttft, 4);
}

TEST(Simulation, PoolsAreIsolatedAndAnEmptyPoolIsA503) {
  Trace t;
  t.tokens_per_block = 4;
  for (int i = 0; i < 20; ++i) t.requests.push_back(req(i * 10.0, {uint64_t(i)}, 4));
  SimConfig c = onePool(4);
  c.pools = {PoolSpec{"EU", {0, 1}}, PoolSpec{"US", {2, 3}}};
  c.outages.push_back(Outage{95, 150, {2, 3}, "us down"});
  std::vector<uint32_t> pool_of;
  for (int i = 0; i < 20; ++i) pool_of.push_back(i % 2);
  RecordingPolicy policy;
  SimResult r = runSimulation(c, t, pool_of, policy);
  size_t rejected = 0;
  for (size_t i = 0; i < r.outcomes.size(); ++i) {
    const auto& o = r.outcomes[i];
    if (o.instance == kNoInstance) {
      ++rejected;
      EXPECT_EQ(pool_of[i], 1u);
      EXPECT_GE(o.arrival_ms, 95);
      EXPECT_LT(o.arrival_ms, 150);
    } else if (pool_of[i] == 0) {
      EXPECT_LT(o.instance, 2u);
    } else {
      EXPECT_GE(o.instance, 2u);
    }
  }
  EXPECT_EQ(rejected, 2u);  // US arrivals are at odd i * 10: 110 and 130 fall in the outage
  for (const auto& p : policy.picks) {
    for (uint32_t e : p.second) EXPECT_EQ(p.first == "EU", e < 2) << p.first << " saw " << e;
  }
}

TEST(Simulation, SharedCacheCeilingMatchesAHandCount) {
  Trace t;
  t.tokens_per_block = 4;
  t.requests = {req(0, {1, 2}, 8), req(1, {1, 2, 3}, 12), req(2, {1, 5}, 8)};
  auto c = sharedCacheCeiling(t, 0);
  EXPECT_DOUBLE_EQ(c.block_hit_rate, 3.0 / 7.0);  // 0 + 2 + 1 of 2 + 3 + 2
  EXPECT_DOUBLE_EQ(c.token_hit_rate, 12.0 / 28.0);
}

TEST(Simulation, CacheAwareBeatsRoundRobinOnAConversationWorkload) {
  SyntheticOptions so;
  so.requests = 3000;
  so.tokens_per_block = 64;
  so.rate_per_s = 20;
  Trace t = generateSynthetic(so);
  CompareOptions o;
  o.instance_counts = {4};
  o.params.kv_tokens = 200'000;
  o.params.prefill_ms_per_token = 0.05;
  o.policies = {"round_robin", "estimated_ttft"};
  auto res = comparePolicies(t, o);
  ASSERT_EQ(res.blocks.size(), 1u);
  const auto& rows = res.blocks[0].rows;
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_GT(rows[1].summary.tokenHitRate(), rows[0].summary.tokenHitRate());
  EXPECT_LT(rows[1].summary.ttft_mean, rows[0].summary.ttft_mean);
  EXPECT_NEAR((rows[0].utilisation + rows[1].utilisation) / 2, 0.8, 0.1);
}

}  // namespace
}  // namespace regiongate::sim
