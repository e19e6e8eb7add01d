#include <gtest/gtest.h>

#include <map>
#include <string>

#include "routing/consistent_hash.h"
#include "routing/estimated_ttft.h"
#include "routing/kv_event_index.h"
#include "routing/prompt_blocks.h"
#include "routing/sglang_cache_aware.h"

namespace regiongate::routing {
namespace {

ManualClock g_clock;

std::vector<Candidate> cands(std::initializer_list<uint32_t> in_flight) {
  std::vector<Candidate> out;
  uint32_t e = 0;
  for (uint32_t f : in_flight) out.push_back(Candidate{e++, f, 0, 0, 1});
  return out;
}

RouteRequest request(std::span<const uint64_t> blocks, std::string_view j = "EU") {
  RouteRequest r;
  r.jurisdiction = j;
  r.model = "llama";
  r.blocks = blocks;
  r.tokens_per_block = 64;
  r.prompt_tokens = blocks.size() * 64;
  return r;
}

TEST(Factory, KnowsEveryPolicyName) {
  for (auto name : policyNames()) {
    auto p = makePolicy(name, {}, g_clock);
    ASSERT_NE(p, nullptr) << name;
    EXPECT_EQ(p->name(), name);
  }
  EXPECT_EQ(makePolicy("random", {}, g_clock), nullptr);
}

TEST(Factory, OldNamesAreDeprecatedAliases) {
  // SGLang's `cache_aware` rule is sglang_cache_aware; regiongate's former `cache_aware` is
  // estimated_ttft. The old names still build the same policies, flagged deprecated.
  auto prefix_tree = parsePolicyName("prefix_tree");
  ASSERT_TRUE(prefix_tree.has_value());
  EXPECT_TRUE(prefix_tree->deprecated);
  EXPECT_EQ(prefix_tree->kind, PolicyKind::SglangCacheAware);
  auto cache_aware = parsePolicyName("cache_aware");
  ASSERT_TRUE(cache_aware.has_value());
  EXPECT_TRUE(cache_aware->deprecated);
  EXPECT_EQ(cache_aware->kind, PolicyKind::EstimatedTtft);
  EXPECT_EQ(makePolicy("cache_aware", {}, g_clock)->name(), "estimated_ttft");
  EXPECT_EQ(makePolicy("prefix_tree", {}, g_clock)->name(), "sglang_cache_aware");
  for (auto name : policyNames()) {
    auto parsed = parsePolicyName(name);
    ASSERT_TRUE(parsed.has_value()) << name;
    EXPECT_FALSE(parsed->deprecated) << name;
    EXPECT_EQ(policyName(parsed->kind), name);
  }
}

TEST(RoundRobin, CyclesThroughCandidates) {
  auto p = makePolicy("round_robin", {}, g_clock);
  auto c = cands({5, 0, 9});
  std::vector<uint64_t> none;
  std::vector<size_t> got;
  for (int i = 0; i < 6; ++i) got.push_back(p->pick(request(none), c));
  EXPECT_EQ(got, (std::vector<size_t>{0, 1, 2, 0, 1, 2}));
}

TEST(LeastLoaded, PicksFewestInFlightTiesByWeight) {
  auto p = makePolicy("least_loaded", {}, g_clock);
  std::vector<uint64_t> none;
  auto c = cands({3, 1, 2});
  EXPECT_EQ(p->pick(request(none), c), 1u);
  c = cands({1, 1, 1});
  c[2].weight = 3;
  EXPECT_EQ(p->pick(request(none), c), 2u);
}

TEST(ConsistentHash, SameKeySameEndpointAndKeyedOnSecondBlock) {
  PolicyOptions o;
  auto p = makePolicy("consistent_hash", o, g_clock);
  auto c = cands({0, 0, 0, 0});
  std::map<size_t, int> hits;
  for (uint64_t k = 0; k < 200; ++k) {
    std::vector<uint64_t> blocks = {k * 7919 + 1, k * 104729 + 3, 5};
    size_t first = p->pick(request(blocks), c);
    ++hits[first];
    // Blocks after the 2nd do not change the key.
    std::vector<uint64_t> longer = {blocks[0], blocks[1], 99, 98};
    EXPECT_EQ(p->pick(request(longer), c), first);
  }
  EXPECT_EQ(hits.size(), 4u);  // spread over all endpoints
  for (auto [i, n] : hits) EXPECT_GT(n, 20) << "endpoint " << i;
}

TEST(ConsistentHash, BoundedLoadSkipsOverloadedOwner) {
  PolicyOptions o;
  o.bounded_load_factor = 1.25;
  auto p = makePolicy("consistent_hash", o, g_clock);
  std::vector<uint64_t> blocks = {11, 22};
  auto c = cands({0, 0, 0, 0});
  size_t owner = p->pick(request(blocks), c);
  c[owner].in_flight = 10;  // cap = ceil(1.25 * 11 / 4) = 4
  size_t moved = p->pick(request(blocks), c);
  EXPECT_NE(moved, owner);
  // Without the bound it stays with the owner.
  o.bounded_load_factor = 0;
  auto q = makePolicy("consistent_hash", o, g_clock);
  auto c0 = cands({0, 0, 0, 0});
  size_t owner2 = q->pick(request(blocks), c0);
  c0[owner2].in_flight = 10;
  EXPECT_EQ(q->pick(request(blocks), c0), owner2);
}

TEST(SglangCacheAware, FollowsLongestMatchWhenBalanced) {
  PolicyOptions o;
  auto p = makePolicy("sglang_cache_aware", o, g_clock);
  std::vector<uint64_t> a = {1, 2, 3, 4};
  auto c = cands({2, 0, 1});
  p->onRouted(request(a), 0);
  EXPECT_EQ(p->pick(request(a), c), 0u);  // match rate 1 > 0.3
}

TEST(SglangCacheAware, LowMatchGoesToSmallestTree) {
  PolicyOptions o;
  auto p = makePolicy("sglang_cache_aware", o, g_clock);
  std::vector<uint64_t> big = {1, 2, 3, 4, 5, 6};
  std::vector<uint64_t> small = {7};
  p->onRouted(request(big), 0);
  p->onRouted(request(small), 1);
  std::vector<uint64_t> fresh = {100, 101, 102, 103};
  auto c = cands({0, 5, 9});  // endpoint 2 has the most load but an empty tree
  EXPECT_EQ(p->pick(request(fresh), c), 2u);
  // A 1-of-4 match (0.25) is below the 0.3 threshold: still the smallest tree.
  std::vector<uint64_t> partial = {1, 50, 51, 52};
  EXPECT_EQ(p->pick(request(partial), c), 2u);
}

TEST(SglangCacheAware, ImbalanceFallsBackToLeastLoaded) {
  PolicyOptions o;
  o.balance_abs_threshold = 4;
  o.balance_rel_threshold = 1.5;
  auto p = makePolicy("sglang_cache_aware", o, g_clock);
  std::vector<uint64_t> a = {1, 2, 3};
  p->onRouted(request(a), 0);
  auto c = cands({10, 3, 4});  // 10-3 > 4 and 10 > 1.5*3
  EXPECT_EQ(p->pick(request(a), c), 1u);
  c = cands({6, 3, 4});  // 6-3 = 3 not > 4: balanced, cache wins
  EXPECT_EQ(p->pick(request(a), c), 0u);
}

TEST(EstimatedTtft, PrefersCachedEndpointUntilQueueCostsMoreThanPrefill) {
  PolicyOptions o;
  o.default_prefill_ms_per_token = 0.1;
  o.service_ms_per_request = 25;
  EstimatedTtftPolicy p(o);
  std::vector<uint64_t> blocks = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};  // 640 tokens
  auto req = request(blocks);
  p.onRouted(req, 1);
  // Endpoint 1 has everything cached: saves 64 ms of prefill; one extra request costs 25 ms.
  auto c = cands({0, 1, 0});
  EXPECT_EQ(p.pick(req, c), 1u);
  EXPECT_NEAR(p.estimateTtftMs(req, c, 0), 64.0, 1e-9);
  EXPECT_NEAR(p.estimateTtftMs(req, c, 1), 25.0, 1e-9);
  // Three extra in flight = 75 ms of queue > 64 ms of prefill: go elsewhere.
  c = cands({0, 3, 0});
  EXPECT_EQ(p.pick(req, c), 0u);
}

TEST(EstimatedTtft, UsesCallerQueueAndPrefillRates) {
  EstimatedTtftPolicy p(PolicyOptions{});
  std::vector<uint64_t> blocks = {1, 2, 3, 4};  // 256 tokens, nothing cached
  auto req = request(blocks);
  auto c = cands({0, 0});
  c[0].queue_ms = 50;
  c[1].queue_ms = 10;
  c[0].prefill_ms_per_token = 0.01;  // fast GPU: 50 + 2.56
  c[1].prefill_ms_per_token = 0.5;   // slow: 10 + 128
  EXPECT_EQ(p.pick(req, c), 0u);
}

TEST(EstimatedTtft, TiesBrokenByLoadThenEndpointIndex) {
  EstimatedTtftPolicy p(PolicyOptions{});
  std::vector<uint64_t> none;
  auto req = request(none);
  std::vector<Candidate> c = {{5, 0, 0, 0, 1}, {2, 0, 0, 0, 1}, {9, 0, 0, 0, 1}};
  EXPECT_EQ(p.pick(req, c), 1u);  // all equal: lowest endpoint id (2)
  for (int i = 0; i < 5; ++i) EXPECT_EQ(p.pick(req, c), 1u);  // deterministic
}

TEST(EstimatedTtft, LearnsPrefillRateWhenEnabled) {
  PolicyOptions o;
  o.learn_alpha = 1.0;
  EstimatedTtftPolicy p(o);
  std::vector<uint64_t> blocks(10, 0);
  auto req = request(blocks);  // 640 tokens
  p.onCompleted(3, req, 320.0, 0);
  Candidate c{3, 0, 0, 0, 1};
  EXPECT_NEAR(p.prefillRate(c), 0.5, 1e-9);
  Candidate other{4, 0, 0, 0, 1};
  EXPECT_NEAR(p.prefillRate(other), o.default_prefill_ms_per_token, 1e-12);
}

TEST(EstimatedTtft, PreciseModeMatchesTokenBlocksFromKvEvents) {
  auto kv = std::make_shared<KvEventIndex>();
  std::vector<uint32_t> tokens(64);
  for (uint32_t i = 0; i < tokens.size(); ++i) tokens[i] = 1000 + i;
  KvEventBatch b;
  KvEvent e;
  e.kind = KvEventKind::BlockStored;
  e.block_hashes = {1, 2, 3, 4};
  e.token_ids = tokens;
  e.block_size = 16;
  b.events = {e};
  kv->apply(2, b);
  PolicyOptions o;
  o.kv_events = kv;
  EstimatedTtftPolicy p(o);
  auto tb = tokenBlocks(tokens, 16);
  std::vector<uint64_t> none;
  RouteRequest req = request(none);
  req.prompt_tokens = 640;
  req.token_blocks = tb;
  req.tokens_per_token_block = 16;
  auto c = cands({0, 0, 0});
  EXPECT_EQ(p.pick(req, c), 2u);
  EXPECT_NEAR(p.estimateTtftMs(req, c, 2), 0.1 * (640 - 64), 1e-9);
}

// Prefix knowledge never crosses a jurisdiction.
TEST(JurisdictionIsolation, UsPrefixNeverEntersEuIndex) {
  for (std::string_view name : {"estimated_ttft", "sglang_cache_aware"}) {
    auto base = makePolicy(name, {}, g_clock);
    auto* p = dynamic_cast<PrefixPolicyBase*>(base.get());
    ASSERT_NE(p, nullptr) << name;
    auto eu_blocks = promptBlocks(std::string(1024, 'e'), 256);
    auto us_blocks = promptBlocks(std::string(1024, 'u'), 256);
    p->onRouted(request(eu_blocks, "EU"), 0);
    p->onRouted(request(us_blocks, "US"), 1);
    const PrefixIndex* eu = p->index("EU", "llama");
    const PrefixIndex* us = p->index("US", "llama");
    ASSERT_NE(eu, nullptr);
    ASSERT_NE(us, nullptr);
    EXPECT_NE(eu, us);
    for (uint64_t h : us_blocks) {
      EXPECT_FALSE(eu->contains(h)) << name;
      EXPECT_TRUE(us->contains(h)) << name;
    }
    for (uint64_t h : eu_blocks) EXPECT_FALSE(us->contains(h)) << name;
    // The same prompt text in both jurisdictions: each index learns only its own routing.
    auto shared = promptBlocks(std::string(512, 's'), 256);
    p->onRouted(request(shared, "US"), 1);
    EXPECT_FALSE(eu->contains(shared[0]));
    EXPECT_EQ(eu->matchedBlocks(shared, 1, 0), 0u);
    // And a EU pick does not see the US endpoint's match (estimated_ttft: a tie -> endpoint 0).
    if (name == "estimated_ttft") {
      auto c = cands({0, 0});
      EXPECT_EQ(p->pick(request(shared, "EU"), c), 0u);
    }
  }
}

}  // namespace
}  // namespace regiongate::routing
