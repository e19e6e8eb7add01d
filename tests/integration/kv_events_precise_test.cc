// Precise mode, end to end: a real mock backend publishes vLLM-format KV events over ZMQ;
// routing's subscriber decodes them into the KvEventIndex; the index then knows exactly which
// prefix blocks of a prompt the backend holds.
#include <gtest/gtest.h>

#include "inference/tokenizer.h"
#include "mock/mock_backend.h"
#include "openai/prompt.h"
#include "routing/kv_event_index.h"
#include "routing/kv_event_subscriber.h"
#include "routing/prompt_blocks.h"
#include "testing/http_client.h"

namespace regiongate {
namespace {

using testing::HttpClient;

std::string chatBody(const std::string& content) {
  return R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":")" + content + R"("}]})";
}

TEST(KvEventsPreciseMode, IndexLearnsTheMockBackendsCachedBlocksFromItsEvents) {
  mock::MockOptions mo;
  mo.region = "eu-central-1";
  mo.models = {{"m", "v1"}};
  mo.latency.time_scale = 0;
  mo.kv_events = "tcp://127.0.0.1:*";
  mock::MockBackend backend(mo);
  ASSERT_TRUE(backend.start().ok());
  std::string address = backend.kvEventsEndpoint();
  ASSERT_FALSE(address.empty());

  auto index = std::make_shared<routing::KvEventIndex>();
  routing::KvEventSubscriber sub(index, {{/*endpoint=*/0, address, ""}}, 10);
  ASSERT_TRUE(sub.start().ok());

  // ZMQ PUB/SUB drops messages until the subscription has propagated: send distinct warm-up
  // prompts until the first event arrives (bounded).
  HttpClient c(backend.port());
  for (int i = 0; i < 500 && index->blockCount(0) == 0; ++i) {
    ASSERT_EQ(c.post("/v1/chat/completions", chatBody("warm up " + std::to_string(i) +
                     " with enough words to fill at least one whole block of sixteen tokens here")).status, 200);
    usleep(2000);  // bounded wait for the subscriber thread (PUB/SUB has no acknowledgement)
  }
  ASSERT_GT(index->blockCount(0), 0u) << "no KV event arrived";

  std::string q;
  for (int w = 0; w < 80; ++w) q += "word" + std::to_string(w) + " ";
  ASSERT_EQ(c.post("/v1/chat/completions", chatBody(q)).status, 200);
  auto tokens = inference::Tokenizer::encode(openai::chatPromptText({{"user", q}}));
  auto blocks = routing::tokenBlocks(tokens, index->blockSize(0) ? index->blockSize(0) : 16);
  ASSERT_GE(blocks.size(), 3u);
  size_t matched = 0;
  for (int i = 0; i < 500 && matched < blocks.size(); ++i) {
    matched = index->matchedBlocks(blocks, 0);
    if (matched < blocks.size()) usleep(2000);
  }
  EXPECT_EQ(matched, blocks.size()) << "the index should hold every full block of the prompt";
  // A prompt the backend never saw matches nothing.
  auto other = routing::tokenBlocks(
      inference::Tokenizer::encode(openai::chatPromptText({{"user", "never sent " + q}})), 16);
  EXPECT_EQ(index->matchedBlocks(other, 0), 0u);
  // A version change empties the backend's cache: AllBlocksCleared reaches the index.
  ASSERT_TRUE(backend.setVersion("m", "v2").ok());
  for (int i = 0; i < 500 && index->blockCount(0) > 0; ++i) usleep(2000);
  EXPECT_EQ(index->blockCount(0), 0u);
  EXPECT_EQ(sub.decodeErrors(), 0u);
  sub.stop();
  backend.stop();
}

}  // namespace
}  // namespace regiongate
