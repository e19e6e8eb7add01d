#include "mock/request_parser.h"

#include <gtest/gtest.h>

#include "inference/tokenizer.h"
#include "mock/completion_body.h"

namespace regiongate::mock {
namespace {

TEST(RequestParser, ChatAndTextShapes) {
  auto chat = parseInferenceRequest(
      R"({"model":"m","stream":true,"stream_options":{"include_usage":false},"max_tokens":3,
          "messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]})",
      ApiKind::Chat);
  ASSERT_TRUE(chat.ok()) << chat.error().message;
  EXPECT_EQ(chat->model, "m");
  EXPECT_TRUE(chat->stream);
  ASSERT_TRUE(chat->include_usage.has_value());
  EXPECT_FALSE(*chat->include_usage);
  EXPECT_EQ(chat->max_tokens, 3u);
  EXPECT_EQ(chat->prompt_text, "<|user|>\nab\n");

  auto text = parseInferenceRequest(R"({"model":"m","prompt":["x","y"]})", ApiKind::Text);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->prompt_text, "x\ny");
  EXPECT_FALSE(text->stream);
}

TEST(RequestParser, RejectsBadBodiesNamingTheMember) {
  EXPECT_FALSE(parseInferenceRequest("not json", ApiKind::Chat).ok());
  auto r = parseInferenceRequest(R"({"messages":[]})", ApiKind::Chat);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("model"), std::string::npos);
  auto s = parseInferenceRequest(R"({"model":"m","stream":"yes","messages":[]})", ApiKind::Chat);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("stream"), std::string::npos);
  EXPECT_FALSE(parseInferenceRequest(R"({"model":"m","prompt":5})", ApiKind::Text).ok());
  EXPECT_FALSE(
      parseInferenceRequest(R"({"model":"m","max_tokens":-1,"prompt":"x"})", ApiKind::Text).ok());
}

TEST(CompletionBody, OutputIsDeterministicAndDivergenceChangesIt) {
  auto a = outputWords(42, 8, false);
  EXPECT_EQ(a, outputWords(42, 8, false));
  EXPECT_NE(a, outputWords(43, 8, false));
  EXPECT_NE(a, outputWords(42, 8, true));
  std::string text;
  for (auto w : a) text += std::string(w) + " ";
  EXPECT_EQ(inference::Tokenizer::count(text), 8u);  // one token per word
  int diverged = 0;
  for (uint64_t h = 0; h < 2000; ++h) diverged += divergesFor(h * 7919, 0.25) ? 1 : 0;
  EXPECT_GT(diverged, 400);
  EXPECT_LT(diverged, 600);
  EXPECT_FALSE(divergesFor(1, 0));
}

}  // namespace
}  // namespace regiongate::mock
