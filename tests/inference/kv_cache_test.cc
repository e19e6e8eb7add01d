#include "inference/kv_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace regiongate::inference {
namespace {

// A prompt of `n` distinct tokens starting at `first`.
std::vector<TokenId> seqTokens(TokenId first, size_t n) {
  std::vector<TokenId> t(n);
  for (size_t i = 0; i < n; ++i) t[i] = first + static_cast<TokenId>(i);
  return t;
}

TEST(MakeBlocks, OnlyFullBlocksAreHashedAndChained) {
  auto a = makeBlocks(seqTokens(1, 35), 16);
  EXPECT_EQ(a.blocks(), 2u);
  auto b = makeBlocks(seqTokens(1, 32), 16);
  EXPECT_EQ(a.hashes, b.hashes);
  // Changing a token of block 0 changes every later hash (chain).
  auto c_tokens = seqTokens(1, 32);
  c_tokens[3] = 999;
  auto c = makeBlocks(c_tokens, 16);
  EXPECT_NE(c.hashes[0], b.hashes[0]);
  EXPECT_NE(c.hashes[1], b.hashes[1]);
  // Same block 1 tokens under a different parent: different hash.
  EXPECT_EQ(a.blocks(), 2u);
}

TEST(KvCache, MissThenHitThenPartialHit) {
  KvCache cache(1024, 16);
  auto p = makeBlocks(seqTokens(1, 64), 16);
  EXPECT_EQ(cache.lookup(p), 0u);
  EXPECT_EQ(cache.stats().miss_blocks, 4u);
  cache.insert(p);
  EXPECT_EQ(cache.lookup(p), 64u);
  EXPECT_EQ(cache.stats().hit_blocks, 4u);
  // Shares the first two blocks, then diverges.
  auto q_tokens = seqTokens(1, 64);
  q_tokens[40] = 7777;
  auto q = makeBlocks(q_tokens, 16);
  EXPECT_EQ(cache.lookup(q), 32u);
  // max_blocks caps the answer (the server keeps the last prompt token uncached).
  EXPECT_EQ(cache.lookup(p, 3), 48u);
}

TEST(KvCache, EvictsLeastRecentlyUsedLeavesFirst) {
  KvCache cache(4 * 16, 16);                    // 4 blocks
  auto a = makeBlocks(seqTokens(100, 32), 16);  // 2 blocks
  auto b = makeBlocks(seqTokens(200, 32), 16);  // 2 blocks
  cache.insert(a);
  cache.insert(b);
  EXPECT_EQ(cache.sizeBlocks(), 4u);
  // LRU order: a's leaf, a's root, b's leaf, b's root (parents more recent than children).
  std::vector<uint64_t> expected = {a.hashes[1], a.hashes[0], b.hashes[1], b.hashes[0]};
  EXPECT_EQ(cache.lruOrder(), expected);
  // Touch a: now b is least recent.
  EXPECT_EQ(cache.lookup(a), 32u);
  auto c = makeBlocks(seqTokens(300, 16), 16);  // 1 block: evicts b's leaf only
  cache.insert(c);
  EXPECT_FALSE(cache.contains(b.hashes[1]));
  EXPECT_TRUE(cache.contains(b.hashes[0]));
  EXPECT_EQ(cache.lookup(b), 16u);  // the surviving parent still counts
  EXPECT_EQ(cache.stats().evicted_blocks, 1u);
}

TEST(KvCache, LookupStopsAtFirstMissingBlock) {
  KvCache cache(1024, 16);
  auto p = makeBlocks(seqTokens(1, 48), 16);
  // Store blocks 1 and 2 without block 0 (an orphaned tail): no usable prefix.
  BlockSeq orphan;
  orphan.block_tokens = 16;
  orphan.tokens.assign(p.tokens.begin() + 16, p.tokens.end());
  orphan.hashes = {p.hashes[1], p.hashes[2]};
  cache.insert(orphan);
  EXPECT_TRUE(cache.contains(p.hashes[1]));
  EXPECT_EQ(cache.lookup(p), 0u);
  // A cache smaller than the prompt keeps the prefix (parents are most recent), not the tail.
  KvCache tiny(16, 16);
  tiny.insert(p);
  EXPECT_TRUE(tiny.contains(p.hashes[0]));
  EXPECT_FALSE(tiny.contains(p.hashes[1]));
  EXPECT_FALSE(tiny.contains(p.hashes[2]));
  EXPECT_EQ(tiny.lookup(p), 16u);
}

TEST(KvCache, ClearOnVersionChangeEmptiesAndEmitsEvent) {
  KvCache cache(1024, 16);
  std::vector<KvEvent> events;
  cache.setEventCallback([&](const KvEvent& e) { events.push_back(e); });
  auto p = makeBlocks(seqTokens(1, 32), 16);
  cache.insert(p);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, KvEvent::Kind::BlockStored);
  EXPECT_EQ(events[0].block_hashes, p.hashes);
  EXPECT_FALSE(events[0].parent_block_hash.has_value());
  EXPECT_EQ(events[0].token_ids.size(), 32u);
  EXPECT_EQ(events[0].block_size, 16u);
  cache.clear();
  EXPECT_EQ(cache.sizeBlocks(), 0u);
  EXPECT_EQ(cache.lookup(p), 0u);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].kind, KvEvent::Kind::AllBlocksCleared);
}

TEST(KvCache, EventsForExtensionAndEviction) {
  KvCache cache(3 * 16, 16);
  std::vector<KvEvent> events;
  cache.setEventCallback([&](const KvEvent& e) { events.push_back(e); });
  auto p = makeBlocks(seqTokens(1, 32), 16);
  auto longer = makeBlocks(seqTokens(1, 48), 16);  // extends p by one block
  cache.insert(p);
  cache.insert(longer);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].block_hashes, std::vector<uint64_t>{longer.hashes[2]});
  ASSERT_TRUE(events[1].parent_block_hash.has_value());
  EXPECT_EQ(*events[1].parent_block_hash, p.hashes[1]);
  auto other = makeBlocks(seqTokens(500, 16), 16);
  cache.insert(other);  // evicts the deepest block of `longer`
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[3].kind, KvEvent::Kind::BlockRemoved);
  EXPECT_EQ(events[3].block_hashes, std::vector<uint64_t>{longer.hashes[2]});
}

}  // namespace
}  // namespace regiongate::inference
