#include "routing/prefix_index.h"

#include <gtest/gtest.h>

#include "routing/prompt_blocks.h"

namespace regiongate::routing {
namespace {

constexpr int64_t kSec = 1'000'000'000;

TEST(PromptBlocks, ChainsFixedCharacterBlocksAndDropsPartialTail) {
  auto a = promptBlocks("aaaabbbbcc", 4);
  ASSERT_EQ(a.size(), 2u);
  auto b = promptBlocks("aaaabbbbccccdd", 4);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(a[0], b[0]);
  EXPECT_EQ(a[1], b[1]);
  // Same second block after a different first block: chained, so a different hash.
  auto c = promptBlocks("xxxxbbbb", 4);
  EXPECT_NE(c[1], a[1]);
  EXPECT_TRUE(promptBlocks("abc", 4).empty());
  EXPECT_TRUE(promptBlocks("abcd", 0).empty());
}

TEST(PrefixIndex, MatchesLeadingBlocksPerEndpoint) {
  PrefixIndex idx(1000, 60 * kSec);
  std::vector<uint64_t> p = {1, 2, 3, 4};
  idx.insert(std::span(p).first(3), 7, 0);
  EXPECT_EQ(idx.matchedBlocks(p, 7, 0), 3u);
  EXPECT_EQ(idx.matchedBlocks(p, 8, 0), 0u);
  std::vector<uint64_t> other = {1, 9};
  EXPECT_EQ(idx.matchedBlocks(other, 7, 0), 1u);
  std::vector<uint32_t> eps = {8, 7};
  std::vector<uint32_t> depths(2, 99);
  idx.matchDepths(p, eps, 0, depths);
  EXPECT_EQ(depths[0], 0u);
  EXPECT_EQ(depths[1], 3u);
  EXPECT_EQ(idx.blocksOf(7), 3u);
}

TEST(PrefixIndex, EntriesExpireAfterTtl) {
  PrefixIndex idx(1000, 10 * kSec);
  std::vector<uint64_t> p = {1, 2};
  idx.insert(p, 0, 0);
  EXPECT_EQ(idx.matchedBlocks(p, 0, 10 * kSec), 2u);
  EXPECT_EQ(idx.matchedBlocks(p, 0, 10 * kSec + 1), 0u);
  // Refreshing re-arms the TTL.
  idx.insert(p, 0, 20 * kSec);
  EXPECT_EQ(idx.matchedBlocks(p, 0, 25 * kSec), 2u);
  // Expired blocks are swept from the LRU tail by later inserts.
  std::vector<uint64_t> q = {50};
  idx.insert(q, 1, 100 * kSec);
  EXPECT_FALSE(idx.contains(1));
  EXPECT_EQ(idx.blocksOf(0), 0u);
}

TEST(PrefixIndex, LruBoundsMemoryAndEvictsLeavesBeforeRoots) {
  PrefixIndex idx(4, 1000 * kSec);
  std::vector<uint64_t> a = {1, 2, 3};
  std::vector<uint64_t> b = {10, 11};
  idx.insert(a, 0, 1);
  idx.insert(b, 1, 2);  // 5 blocks > capacity 4: the oldest (a's leaf, 3) goes
  EXPECT_EQ(idx.size(), 4u);
  EXPECT_FALSE(idx.contains(3));
  EXPECT_TRUE(idx.contains(1));
  EXPECT_EQ(idx.matchedBlocks(a, 0, 3), 2u);
  for (uint64_t i = 100; i < 200; ++i) {
    std::vector<uint64_t> one = {i};
    idx.insert(one, 2, 3);
  }
  EXPECT_EQ(idx.size(), 4u);
}

TEST(PrefixIndex, HolderSlotsAreBoundedAndOldestReplaced) {
  PrefixIndex idx(10, 1000 * kSec);
  std::vector<uint64_t> p = {42};
  for (uint32_t e = 0; e < PrefixIndex::kMaxHolders + 2; ++e) idx.insert(p, e, e);
  EXPECT_EQ(idx.matchedBlocks(p, 0, 100), 0u);  // oldest two replaced
  EXPECT_EQ(idx.matchedBlocks(p, 1, 100), 0u);
  EXPECT_EQ(idx.matchedBlocks(p, PrefixIndex::kMaxHolders + 1, 100), 1u);
  EXPECT_EQ(idx.blocksOf(0), 0u);
}

TEST(PrefixIndex, RemoveEndpointForgetsItsBlocks) {
  PrefixIndex idx(10, 1000 * kSec);
  std::vector<uint64_t> p = {1, 2};
  idx.insert(p, 0, 0);
  idx.insert(p, 1, 0);
  idx.removeEndpoint(0);
  EXPECT_EQ(idx.matchedBlocks(p, 0, 0), 0u);
  EXPECT_EQ(idx.matchedBlocks(p, 1, 0), 2u);
  idx.removeEndpoint(1);
  EXPECT_EQ(idx.size(), 0u);
}

}  // namespace
}  // namespace regiongate::routing
