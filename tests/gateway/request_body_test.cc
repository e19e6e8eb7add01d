#include "gateway/request_body.h"
#include "gateway/response_info.h"

#include <gtest/gtest.h>

namespace regiongate::gateway {
namespace {

TEST(RequestBody, ChatCanonicalTextKeepsRolesAndOrder) {
  auto r = parseRequestBody(
      R"({"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[
          {"role":"system","content":"S"},{"role":"user","content":[{"type":"text","text":"U"},{"type":"image_url"}]}]})",
      ApiKind::Chat);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->model, "m");
  EXPECT_TRUE(r->stream);
  EXPECT_TRUE(r->include_usage);
  EXPECT_EQ(r->canonical_text, "<|system|>\nS\n<|user|>\nU<image_url>\n");
}

TEST(RequestBody, CompletionPromptStringOrArray) {
  auto a = parseRequestBody(R"({"model":"m","prompt":"hello"})", ApiKind::Completion);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->canonical_text, "hello");
  auto b = parseRequestBody(R"({"model":"m","prompt":["a","b"]})", ApiKind::Completion);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->canonical_text, "a\nb");
}

TEST(RequestBody, EachMalformedInputHasItsTypedCode) {
  struct Case { const char* body; ApiKind kind; const char* code; };
  const Case cases[] = {
      {"{not json", ApiKind::Chat, "invalid_json"},
      {"[1,2]", ApiKind::Chat, "invalid_body"},
      {R"({"messages":[]})", ApiKind::Chat, "missing_model"},
      {R"({"model":7,"messages":[]})", ApiKind::Chat, "invalid_model"},
      {R"({"model":"","messages":[]})", ApiKind::Chat, "invalid_model"},
      {R"({"model":"m"})", ApiKind::Chat, "missing_messages"},
      {R"({"model":"m","messages":{}})", ApiKind::Chat, "invalid_messages"},
      {R"({"model":"m","messages":[]})", ApiKind::Chat, "invalid_messages"},
      {R"({"model":"m","messages":[{"content":"x"}]})", ApiKind::Chat, "invalid_messages"},
      {R"({"model":"m","messages":[{"role":"user","content":5}]})", ApiKind::Chat, "invalid_messages"},
      {R"({"model":"m","stream":"yes","messages":[{"role":"user","content":"x"}]})", ApiKind::Chat, "invalid_stream"},
      {R"({"model":"m"})", ApiKind::Completion, "missing_prompt"},
      {R"({"model":"m","prompt":[1]})", ApiKind::Completion, "invalid_prompt"},
  };
  for (const auto& c : cases) {
    auto r = parseRequestBody(c.body, c.kind);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.error().code, c.code) << c.body;
    EXPECT_EQ(r.error().source, ErrorSource::Downstream);
  }
}

TEST(ResponseInfo, ReadsUsageEvidenceAndContent) {
  ResponseInfo info;
  ASSERT_TRUE(readResponseInfo(
      R"({"model":"m@v2","system_fingerprint":"fp_v2","choices":[{"delta":{"content":"hi"}}],
          "usage":{"prompt_tokens":10,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":8},"inference_geo":"eu-west-1"}})",
      {"usage", "inference_geo"}, info));
  EXPECT_TRUE(info.has_usage);
  EXPECT_EQ(info.prompt_tokens, 10);
  EXPECT_EQ(info.cached_tokens, 8);
  EXPECT_EQ(info.completion_tokens, 3);
  EXPECT_EQ(info.model, "m@v2");
  EXPECT_EQ(info.system_fingerprint, "fp_v2");
  ASSERT_TRUE(info.body_evidence.has_value());
  EXPECT_EQ(*info.body_evidence, "eu-west-1");
  EXPECT_TRUE(info.has_content);
  ResponseInfo untouched;
  EXPECT_FALSE(readResponseInfo("not json", {"usage", "inference_geo"}, untouched));
  EXPECT_FALSE(untouched.body_evidence.has_value());
}

TEST(ResponseInfo, ReadsTheResponsesApiWholeAndStreamed) {
  ResponseInfo whole;
  ASSERT_TRUE(readResponseInfo(
      R"({"object":"response","model":"gpt-4.1","output":[{"type":"message"}],
          "usage":{"input_tokens":11,"output_tokens":5,"input_tokens_details":{"cached_tokens":3}}})",
      {}, whole));
  EXPECT_EQ(whole.prompt_tokens, 11);
  EXPECT_EQ(whole.completion_tokens, 5);
  EXPECT_EQ(whole.cached_tokens, 3);
  EXPECT_TRUE(whole.has_content);
  ResponseInfo streamed;
  ASSERT_TRUE(readResponseInfo(R"({"type":"response.created","response":{"model":"gpt-4.1","output":[]}})",
                               {}, streamed));
  EXPECT_FALSE(streamed.has_content);
  EXPECT_EQ(streamed.model, "gpt-4.1");
  ASSERT_TRUE(readResponseInfo(R"({"type":"response.output_text.delta","delta":""})", {}, streamed));
  EXPECT_FALSE(streamed.has_content);  // an empty delta is no token yet
  ASSERT_TRUE(readResponseInfo(R"({"type":"response.output_text.delta","delta":"Hi"})", {}, streamed));
  EXPECT_TRUE(streamed.has_content);
  ASSERT_TRUE(readResponseInfo(
      R"({"type":"response.completed","response":{"usage":{"input_tokens":7,"output_tokens":2}}})",
      {}, streamed));
  EXPECT_TRUE(streamed.has_usage);
  EXPECT_EQ(streamed.prompt_tokens, 7);
  EXPECT_EQ(streamed.completion_tokens, 2);
}

TEST(ResponseInfo, ReadsEmbeddingsUsageAndData) {
  ResponseInfo info;
  ASSERT_TRUE(readResponseInfo(
      R"({"object":"list","data":[{"embedding":[0.1]}],"usage":{"prompt_tokens":4,"total_tokens":4}})",
      {}, info));
  EXPECT_EQ(info.prompt_tokens, 4);
  EXPECT_EQ(info.completion_tokens, 0);
  EXPECT_TRUE(info.has_content);
}

}  // namespace
}  // namespace regiongate::gateway
