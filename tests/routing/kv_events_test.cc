#include "routing/kv_events.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <zmq.hpp>

#include "routing/kv_event_index.h"
#include "routing/kv_event_subscriber.h"
#include "routing/prompt_blocks.h"

namespace regiongate::routing {
namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}
std::string lit(std::string_view s) { return std::string(s); }

// Array encoding (msgspec array_like=True, older vLLM), written byte by byte:
// [1.5, [["BlockStored", [1, 2], nil, [10, 11, 12, 13], 2, nil, nil]]]
TEST(KvEvents, DecodesHandBuiltArrayEncoding) {
  std::string b = bytes({0x92, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0x91, 0x97, 0xab}) +
                  lit("BlockStored") +
                  bytes({0x92, 0x01, 0x02, 0xc0, 0x94, 0x0a, 0x0b, 0x0c, 0x0d, 0x02, 0xc0, 0xc0});
  auto r = decodeKvEventBatch(b);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_DOUBLE_EQ(r->ts, 1.5);
  ASSERT_EQ(r->events.size(), 1u);
  const KvEvent& ev = r->events[0];
  EXPECT_EQ(ev.kind, KvEventKind::BlockStored);
  EXPECT_EQ(ev.block_hashes, (std::vector<uint64_t>{1, 2}));
  EXPECT_FALSE(ev.parent_block_hash.has_value());
  EXPECT_EQ(ev.token_ids, (std::vector<uint32_t>{10, 11, 12, 13}));
  EXPECT_EQ(ev.block_size, 2u);
  EXPECT_FALSE(ev.lora_id.has_value());
}

// Map encoding (newer vLLM), with a bytes hash and an unknown field:
// {"ts": 2.0, "events": [{"type": "BlockRemoved", "block_hashes": [1, bin(ab)], "x": 5}]}
TEST(KvEvents, DecodesHandBuiltMapEncoding) {
  std::string b = bytes({0x82, 0xa2}) + lit("ts") + bytes({0xcb, 0x40, 0, 0, 0, 0, 0, 0, 0}) +
                  bytes({0xa6}) + lit("events") + bytes({0x91, 0x83, 0xa4}) + lit("type") +
                  bytes({0xac}) + lit("BlockRemoved") + bytes({0xac}) + lit("block_hashes") +
                  bytes({0x92, 0x01, 0xc4, 0x02, 'a', 'b', 0xa1, 'x', 0x05});
  auto r = decodeKvEventBatch(b);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_DOUBLE_EQ(r->ts, 2.0);
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_EQ(r->events[0].kind, KvEventKind::BlockRemoved);
  EXPECT_EQ(r->events[0].block_hashes, (std::vector<uint64_t>{1, kvHashFromBytes("ab")}));
}

TEST(KvEvents, AllBlocksClearedAndUnknownTypesInBothEncodings) {
  // [0, [["AllBlocksCleared"], ["Future", 1]]] and {"ts":0,"events":[{"type":"AllBlocksCleared"}]}
  std::string arr = bytes({0x92, 0x00, 0x92, 0x91, 0xb0}) + lit("AllBlocksCleared") +
                    bytes({0x92, 0xa6}) + lit("Future") + bytes({0x01});
  auto a = decodeKvEventBatch(arr);
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_EQ(a->events.size(), 1u);
  EXPECT_EQ(a->events[0].kind, KvEventKind::AllBlocksCleared);
  EXPECT_EQ(a->skipped_events, 1u);
  std::string map = bytes({0x82, 0xa2}) + lit("ts") + bytes({0x00, 0xa6}) + lit("events") +
                    bytes({0x91, 0x81, 0xa4}) + lit("type") + bytes({0xb0}) +
                    lit("AllBlocksCleared");
  auto m = decodeKvEventBatch(map);
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_EQ(m->events.size(), 1u);
  EXPECT_EQ(m->events[0].kind, KvEventKind::AllBlocksCleared);
}

TEST(KvEvents, RejectsMalformedInput) {
  EXPECT_FALSE(decodeKvEventBatch("").ok());
  EXPECT_FALSE(decodeKvEventBatch(bytes({0x92, 0xcb, 0x3f})).ok());        // truncated double
  EXPECT_FALSE(decodeKvEventBatch(bytes({0x92, 0x00, 0x90, 0x00})).ok());  // trailing byte
  EXPECT_FALSE(decodeKvEventBatch(bytes({0x05})).ok());                    // not a container
  EXPECT_FALSE(decodeKvEventBatch(bytes({0x92, 0x00, 0x05})).ok());        // events not array
  // BlockStored with too few fields.
  std::string shortev = bytes({0x92, 0x00, 0x91, 0x92, 0xab}) + lit("BlockStored") +
                        bytes({0x90});
  EXPECT_FALSE(decodeKvEventBatch(shortev).ok());
  // Found by fuzzing: a map32 header claiming ~4e9 pairs (msgpuck's mp_check overflowed).
  EXPECT_FALSE(decodeKvEventBatch(bytes({0xdf, 0xf0, 0xff, 0xff, 0x00})).ok());
  EXPECT_FALSE(decodeKvEventBatch(bytes({0xdd, 0xff, 0xff, 0xff, 0xff, 0x00})).ok());
  // Map event without "type".
  EXPECT_FALSE(decodeKvEventBatch(bytes({0x92, 0x00, 0x91, 0x80})).ok());
}

KvEventBatch sampleBatch() {
  KvEventBatch b;
  b.ts = 12.25;
  b.data_parallel_rank = 3;
  KvEvent s;
  s.kind = KvEventKind::BlockStored;
  s.block_hashes = {0xffffffffffffffffULL, 7};
  s.parent_block_hash = 99;
  s.token_ids = {1, 2, 3, 4};
  s.block_size = 2;
  s.lora_id = -1;
  s.medium = "GPU";
  KvEvent r;
  r.kind = KvEventKind::BlockRemoved;
  r.block_hashes = {7};
  KvEvent c;
  c.kind = KvEventKind::AllBlocksCleared;
  b.events = {s, r, c};
  return b;
}

TEST(KvEvents, EncodeDecodeRoundTripsBothEncodings) {
  for (auto enc : {KvEncoding::Array, KvEncoding::Map}) {
    KvEventBatch in = sampleBatch();
    std::string wire = encodeKvEventBatch(in, enc);
    auto out = decodeKvEventBatch(wire);
    ASSERT_TRUE(out.ok()) << out.error().message;
    EXPECT_DOUBLE_EQ(out->ts, in.ts);
    EXPECT_EQ(out->data_parallel_rank, in.data_parallel_rank);
    ASSERT_EQ(out->events.size(), 3u);
    EXPECT_EQ(out->events[0].block_hashes, in.events[0].block_hashes);
    EXPECT_EQ(out->events[0].parent_block_hash, in.events[0].parent_block_hash);
    EXPECT_EQ(out->events[0].token_ids, in.events[0].token_ids);
    EXPECT_EQ(out->events[0].lora_id, in.events[0].lora_id);
    EXPECT_EQ(out->events[0].medium, "GPU");
    EXPECT_EQ(out->events[1].kind, KvEventKind::BlockRemoved);
    EXPECT_EQ(out->events[2].kind, KvEventKind::AllBlocksCleared);
  }
}

KvEvent stored(std::vector<uint64_t> hashes, std::optional<uint64_t> parent,
               std::vector<uint32_t> tokens, uint32_t bs) {
  KvEvent e;
  e.kind = KvEventKind::BlockStored;
  e.block_hashes = std::move(hashes);
  e.parent_block_hash = parent;
  e.token_ids = std::move(tokens);
  e.block_size = bs;
  return e;
}

TEST(KvEventIndex, ReKeysVllmBlocksWithTokenHashesAndAppliesRemovals) {
  KvEventIndex idx;
  std::vector<uint32_t> prompt = {5, 6, 7, 8, 9, 10, 11};  // 3 full blocks of 2 + 1
  auto req = tokenBlocks(prompt, 2);
  ASSERT_EQ(req.size(), 3u);
  KvEventBatch b;
  b.events = {stored({1001, 1002}, std::nullopt, {5, 6, 7, 8}, 2),
              stored({1003}, 1002, {9, 10}, 2)};
  idx.apply(/*endpoint=*/1, b);
  EXPECT_EQ(idx.matchedBlocks(req, 1), 3u);
  EXPECT_EQ(idx.matchedBlocks(req, 0), 0u);
  EXPECT_EQ(idx.blockSize(1), 2u);

  KvEventBatch rm;
  KvEvent r;
  r.kind = KvEventKind::BlockRemoved;
  r.block_hashes = {1002};
  rm.events = {r};
  idx.apply(1, rm);
  EXPECT_EQ(idx.matchedBlocks(req, 1), 1u);

  // A block whose parent is unknown cannot be re-keyed.
  KvEventBatch orphan;
  orphan.events = {stored({2000}, 424242, {1, 1}, 2)};
  idx.apply(1, orphan);
  EXPECT_EQ(idx.orphanBlocks(), 1u);

  KvEventBatch clear;
  KvEvent c;
  c.kind = KvEventKind::AllBlocksCleared;
  clear.events = {c};
  idx.apply(1, clear);
  EXPECT_EQ(idx.matchedBlocks(req, 1), 0u);
  EXPECT_EQ(idx.blockCount(1), 0u);
}

// A real ZMQ PUB on 127.0.0.1 (port chosen by the OS) publishing vLLM-framed batches.
TEST(KvEventSubscriber, IngestsBatchesFromZmqPublisher) {
  zmq::context_t ctx(1);
  zmq::socket_t pub(ctx, zmq::socket_type::pub);
  pub.set(zmq::sockopt::linger, 0);
  pub.bind("tcp://127.0.0.1:*");
  std::string addr = pub.get(zmq::sockopt::last_endpoint);

  auto index = std::make_shared<KvEventIndex>();
  KvEventSubscriber sub(index, {{/*endpoint=*/4, addr, ""}}, 10);
  ASSERT_TRUE(sub.start().ok());

  KvEventBatch b;
  b.events = {stored({77}, std::nullopt, {1, 2, 3, 4}, 4)};
  std::string payload = encodeKvEventBatch(b, KvEncoding::Map);
  std::vector<uint32_t> toks = {1, 2, 3, 4};
  auto req = tokenBlocks(toks, 4);
  // PUB drops messages until the SUB has joined: republish until seen (bounded).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  uint64_t seq = 0;
  while (index->matchedBlocks(req, 4) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::string seq_bytes(8, '\0');
    for (int k = 0; k < 8; ++k) seq_bytes[7 - k] = static_cast<char>((seq >> (8 * k)) & 0xff);
    ++seq;
    pub.send(zmq::buffer(std::string("kv")), zmq::send_flags::sndmore);
    pub.send(zmq::buffer(seq_bytes), zmq::send_flags::sndmore);
    pub.send(zmq::buffer(payload), zmq::send_flags::none);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // publisher pacing, not a sync
  }
  EXPECT_EQ(index->matchedBlocks(req, 4), 1u);
  EXPECT_GE(sub.batches(), 1u);
  EXPECT_EQ(sub.decodeErrors(), 0u);
  sub.stop();
}

}  // namespace
}  // namespace regiongate::routing
