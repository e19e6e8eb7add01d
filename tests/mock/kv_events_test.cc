// KV events: the MockBackend publishes vLLM-format batches on ZMQ; a SUB socket decodes them.
#include <gtest/gtest.h>
#include <msgpuck.h>
#include <zmq.h>

#include <string>
#include <vector>

#include "inference/kv_cache.h"
#include "inference/tokenizer.h"
#include "mock/kv_event_publisher.h"
#include "mock/mock_backend.h"
#include "test_client.h"

namespace regiongate::mock {
namespace {

struct Decoded {
  std::string tag;
  std::vector<uint64_t> hashes;
  bool has_parent = false;
  uint64_t parent = 0;
  size_t tokens = 0;
  uint64_t block_size = 0;
};

std::string readStr(const char** p) {
  uint32_t len = 0;
  const char* s = mp_decode_str(p, &len);
  return std::string(s, len);
}

std::vector<Decoded> decodeBatch(const std::string& payload, double* ts) {
  std::vector<Decoded> out;
  const char* p = payload.data();
  EXPECT_EQ(mp_typeof(*p), MP_ARRAY);
  uint32_t n = mp_decode_array(&p);
  EXPECT_EQ(n, 2u);
  *ts = mp_decode_double(&p);
  uint32_t events = mp_decode_array(&p);
  for (uint32_t i = 0; i < events; ++i) {
    Decoded d;
    uint32_t fields = mp_decode_array(&p);
    d.tag = readStr(&p);
    if (d.tag == "BlockStored") {
      EXPECT_EQ(fields, 7u);
      uint32_t nh = mp_decode_array(&p);
      for (uint32_t k = 0; k < nh; ++k) d.hashes.push_back(mp_decode_uint(&p));
      if (mp_typeof(*p) == MP_NIL) {
        mp_decode_nil(&p);
      } else {
        d.has_parent = true;
        d.parent = mp_decode_uint(&p);
      }
      d.tokens = mp_decode_array(&p);
      for (size_t k = 0; k < d.tokens; ++k) mp_decode_uint(&p);
      d.block_size = mp_decode_uint(&p);
      mp_decode_nil(&p);
      mp_decode_nil(&p);
    } else if (d.tag == "BlockRemoved") {
      EXPECT_EQ(fields, 3u);
      uint32_t nh = mp_decode_array(&p);
      for (uint32_t k = 0; k < nh; ++k) d.hashes.push_back(mp_decode_uint(&p));
      mp_decode_nil(&p);
    } else {
      EXPECT_EQ(d.tag, "AllBlocksCleared");
      EXPECT_EQ(fields, 1u);
    }
    out.push_back(d);
  }
  EXPECT_EQ(p, payload.data() + payload.size());
  return out;
}

TEST(KvEventEncoding, BatchShapeMatchesVllm) {
  inference::KvEvent stored;
  stored.kind = inference::KvEvent::Kind::BlockStored;
  stored.block_hashes = {11, 12};
  stored.parent_block_hash = 10;
  stored.token_ids = {1, 2, 3, 4};
  stored.block_size = 2;
  inference::KvEvent removed;
  removed.kind = inference::KvEvent::Kind::BlockRemoved;
  removed.block_hashes = {12};
  inference::KvEvent cleared;
  cleared.kind = inference::KvEvent::Kind::AllBlocksCleared;
  double ts = 0;
  auto d = decodeBatch(encodeKvEventBatch(1.5, {stored, removed, cleared}), &ts);
  EXPECT_DOUBLE_EQ(ts, 1.5);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].tag, "BlockStored");
  EXPECT_EQ(d[0].hashes, (std::vector<uint64_t>{11, 12}));
  EXPECT_TRUE(d[0].has_parent);
  EXPECT_EQ(d[0].parent, 10u);
  EXPECT_EQ(d[0].tokens, 4u);
  EXPECT_EQ(d[0].block_size, 2u);
  EXPECT_EQ(d[1].tag, "BlockRemoved");
  EXPECT_EQ(d[1].hashes, std::vector<uint64_t>{12});
  EXPECT_EQ(d[2].tag, "AllBlocksCleared");
}

TEST(KvEventPublishing, BackendPublishesStoredAndClearedOverZmq) {
  MockOptions o;
  o.region = "eu-central-1";
  o.models = {{"llama", "v1"}};
  o.latency.time_scale = 0;
  o.kv_events = "tcp://127.0.0.1:*";
  MockBackend backend(o);
  auto st = backend.start();
  ASSERT_TRUE(st.ok()) << st.error().message;
  const std::string endpoint = backend.kvEventsEndpoint();
  ASSERT_NE(endpoint.find("tcp://127.0.0.1:"), std::string::npos);

  void* ctx = zmq_ctx_new();
  void* sub = zmq_socket(ctx, ZMQ_SUB);
  int timeout_ms = 200;
  zmq_setsockopt(sub, ZMQ_RCVTIMEO, &timeout_ms, sizeof(timeout_ms));
  zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
  ASSERT_EQ(zmq_connect(sub, endpoint.c_str()), 0);

  testing::Client c(backend.port());
  // PUB/SUB drops messages until the subscription is in place: send distinct prompts until a
  // BlockStored arrives (bounded), then check its hashes are the prompt's chained block hashes.
  std::vector<Decoded> got;
  std::string prompt;
  for (int attempt = 0; attempt < 50 && got.empty(); ++attempt) {
    prompt.clear();
    for (int w = 0; w < 40; ++w) prompt += "a" + std::to_string(attempt) + "x" + std::to_string(w) + " ";
    std::string body = R"({"model":"llama","prompt":")" + prompt + R"("})";
    ASSERT_EQ(c.post("/v1/completions", body).status, 200u);
    std::vector<std::string> frames;
    for (;;) {
      zmq_msg_t msg;
      zmq_msg_init(&msg);
      if (zmq_msg_recv(&msg, sub, 0) < 0) {
        zmq_msg_close(&msg);
        break;
      }
      frames.emplace_back(static_cast<char*>(zmq_msg_data(&msg)), zmq_msg_size(&msg));
      bool more = zmq_msg_more(&msg);
      zmq_msg_close(&msg);
      if (!more) break;
    }
    if (frames.size() == 3) {
      EXPECT_EQ(frames[1].size(), 8u);  // big-endian sequence number
      double ts = 0;
      got = decodeBatch(frames[2], &ts);
      EXPECT_GT(ts, 1e9);
    }
  }
  ASSERT_FALSE(got.empty());
  ASSERT_EQ(got[0].tag, "BlockStored");
  auto expected = inference::makeBlocks(inference::Tokenizer::encode(prompt), 16);
  EXPECT_EQ(got[0].hashes, expected.hashes);
  EXPECT_FALSE(got[0].has_parent);
  EXPECT_EQ(got[0].block_size, 16u);

  // A version change empties the cache: AllBlocksCleared.
  ASSERT_EQ(c.post("/admin/version", R"({"model":"llama","version":"v2"})").status, 200u);
  bool cleared = false;
  for (int i = 0; i < 20 && !cleared; ++i) {
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    std::vector<std::string> frames;
    while (zmq_msg_recv(&msg, sub, 0) >= 0) {
      frames.emplace_back(static_cast<char*>(zmq_msg_data(&msg)), zmq_msg_size(&msg));
      if (!zmq_msg_more(&msg)) break;
    }
    zmq_msg_close(&msg);
    if (frames.size() == 3) {
      double ts = 0;
      for (auto& d : decodeBatch(frames[2], &ts)) cleared |= d.tag == "AllBlocksCleared";
    }
  }
  EXPECT_TRUE(cleared);
  zmq_close(sub);
  zmq_ctx_term(ctx);
  backend.stop(0);
}

}  // namespace
}  // namespace regiongate::mock
