#include <gtest/gtest.h>

#include <fstream>
#include <cmath>
#include <set>

#include "sim/trace.h"

namespace regiongate::sim {
namespace {

TEST(MooncakeTrace, ParsesLinesAndChainsBlockIds) {
  auto t = parseMooncakeTrace(
      "{\"timestamp\": 5, \"input_length\": 1000, \"output_length\": 7, \"hash_ids\": [0, 1]}\n"
      "\n"
      "{\"timestamp\": 0, \"input_length\": 1500, \"output_length\": 3, \"hash_ids\": [0, 1, 2]}\n");
  ASSERT_TRUE(t.ok()) << t.error().message;
  ASSERT_EQ(t->requests.size(), 2u);
  EXPECT_EQ(t->tokens_per_block, 512u);
  // Sorted by arrival.
  EXPECT_EQ(t->requests[0].arrival_ms, 0);
  EXPECT_EQ(t->requests[0].input_tokens, 1500u);
  EXPECT_EQ(t->requests[1].output_tokens, 7u);
  // Prefixes chain: the shared ids give equal hashes, and block 1 depends on block 0.
  EXPECT_EQ(t->requests[0].blocks[0], t->requests[1].blocks[0]);
  EXPECT_EQ(t->requests[0].blocks[1], t->requests[1].blocks[1]);
  EXPECT_EQ(t->requests[0].blocks[1], chainBlockId(chainBlockId(0, 0), 1));
  EXPECT_NE(chainBlockId(chainBlockId(0, 5), 1), t->requests[0].blocks[1]);
  // Two turns of one conversation share the conversation key.
  EXPECT_EQ(t->requests[0].conversation, t->requests[1].conversation);
}

TEST(MooncakeTrace, RejectsBadLinesWithTheLineNumber) {
  auto bad = parseMooncakeTrace("{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1, "
                                "\"hash_ids\": [0]}\n{\"timestamp\": 0}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("line 2"), std::string::npos);
  EXPECT_FALSE(parseMooncakeLine("[1,2]").ok());
  EXPECT_FALSE(parseMooncakeLine("{\"timestamp\": -1, \"input_length\": 1, \"output_length\": 1, "
                                 "\"hash_ids\": []}").ok());
  EXPECT_FALSE(parseMooncakeLine("{\"timestamp\": 1, \"input_length\": 1, \"output_length\": 1, "
                                 "\"hash_ids\": [\"x\"]}").ok());
}

TEST(MooncakeTrace, TheRepoCopyLoadsAndEveryRequestStartsWithTheSameBlock) {
  auto t = readMooncakeTrace(std::string(REGIONGATE_SOURCE_DIR) +
                             "/data/mooncake_conversation_trace.jsonl");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->requests.size(), 12031u);
  std::set<uint64_t> first;
  for (const auto& r : t->requests) {
    ASSERT_FALSE(r.blocks.empty());
    first.insert(r.blocks[0]);
    EXPECT_EQ(r.blocks.size(), (r.input_tokens + 511) / 512);
  }
  EXPECT_EQ(first.size(), 1u);
}

TEST(Synthetic, IsDeterministicPerSeedAndHasSharedPrefixes) {
  SyntheticOptions o;
  o.requests = 2000;
  o.tenants = 3;
  o.system_prompt_blocks = 2;
  auto a = generateSynthetic(o);
  auto b = generateSynthetic(o);
  o.seed = 2;
  auto c = generateSynthetic(o);
  ASSERT_EQ(a.requests.size(), 2000u);
  bool same = true, differ = false;
  for (size_t i = 0; i < 2000; ++i) {
    same = same && a.requests[i].blocks == b.requests[i].blocks &&
           a.requests[i].arrival_ms == b.requests[i].arrival_ms;
    differ = differ || a.requests[i].arrival_ms != c.requests[i].arrival_ms;
  }
  EXPECT_TRUE(same);
  EXPECT_TRUE(differ);
  std::set<uint64_t> roots, convs;
  for (size_t i = 0; i < a.requests.size(); ++i) {
    roots.insert(a.requests[i].blocks[0]);
    convs.insert(a.requests[i].conversation);
    if (i) EXPECT_GE(a.requests[i].arrival_ms, a.requests[i - 1].arrival_ms);
  }
  EXPECT_EQ(roots.size(), 3u);          // one system prompt per tenant
  EXPECT_LT(convs.size(), 2000u / 2);   // multi-turn: conversations repeat
  // Mean rate close to the configured 5/s.
  double rate = 2000.0 / (a.durationMs() / 1000.0);
  EXPECT_NEAR(rate, 5.0, 0.75);
}

TEST(Synthetic, BurstyArrivalsAreBurstierThanPoisson) {
  auto cv = [](const Trace& t) {  // coefficient of variation of counts per 10 s
    std::vector<double> counts(size_t(t.durationMs() / 10000.0) + 1, 0);
    for (const auto& r : t.requests) counts[size_t(r.arrival_ms / 10000.0)] += 1;
    double m = 0, v = 0;
    for (double c : counts) m += c;
    m /= double(counts.size());
    for (double c : counts) v += (c - m) * (c - m);
    return std::sqrt(v / double(counts.size())) / m;
  };
  SyntheticOptions o;
  o.requests = 20000;
  auto poisson = generateSynthetic(o);
  o.bursty = true;
  auto bursty = generateSynthetic(o);
  EXPECT_GT(cv(bursty), 2 * cv(poisson));
}

}  // namespace
}  // namespace regiongate::sim
