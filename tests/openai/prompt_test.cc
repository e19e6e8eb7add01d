#include "openai/prompt.h"

#include <gtest/gtest.h>

#include <string>

namespace regiongate::openai {
namespace {

Result<std::string> canonical(const std::string& json, ApiKind kind) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(json).get_object().get(obj) != simdjson::SUCCESS)
    return Error::internal("test body is not a JSON object");
  std::string out;
  if (auto st = appendCanonicalPrompt(obj, kind, out); !st.ok()) return st.error();
  return out;
}

TEST(CanonicalPrompt, ChatMessagesInOrderWithRoles) {
  EXPECT_EQ(chatPromptText({{"system", "Be brief."}, {"user", "Hi"}}),
            "<|system|>\nBe brief.\n<|user|>\nHi\n");
  auto r = canonical(R"({"messages":[{"role":"system","content":"Be brief."},
                                     {"role":"user","content":"Hi"}]})",
                     ApiKind::Chat);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, chatPromptText({{"system", "Be brief."}, {"user", "Hi"}}));
}

TEST(CanonicalPrompt, ContentPartsNullAndNonTextParts) {
  auto r = canonical(R"({"messages":[{"role":"user","content":[{"type":"text","text":"a"},
      {"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"b"}]},
      {"role":"assistant","content":null}]})",
                     ApiKind::Chat);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, "<|user|>\na<image_url>b\n<|assistant|>\n\n");
}

TEST(CanonicalPrompt, CompletionStringOrArrayJoinedByNewline) {
  EXPECT_EQ(*canonical(R"({"prompt":"hello"})", ApiKind::Completion), "hello");
  EXPECT_EQ(*canonical(R"({"prompt":["x","y"]})", ApiKind::Completion), "x\ny");
  EXPECT_EQ(*canonical(R"({"prompt":[]})", ApiKind::Completion), "");
}

TEST(CanonicalPrompt, AnthropicMessagesSystemThenChat) {
  auto r = canonical(R"({"system":[{"type":"text","text":"Be brief."}],
      "messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]})",
                     ApiKind::Messages);
  ASSERT_TRUE(r.ok()) << r.error().message;
  // The same prompt as the chat request with a system message, so both share prefix blocks.
  EXPECT_EQ(*r, chatPromptText({{"system", "Be brief."}, {"user", "Hi"}}));
  EXPECT_EQ(*canonical(R"({"messages":[{"role":"user","content":"Hi"}]})", ApiKind::Messages),
            "<|user|>\nHi\n");
}

TEST(CanonicalPrompt, ResponsesInstructionsAndInputStringOrItems) {
  EXPECT_EQ(*canonical(R"({"instructions":"Be brief.","input":"Hi"})", ApiKind::Responses),
            chatPromptText({{"system", "Be brief."}, {"user", "Hi"}}));
  auto r = canonical(R"({"input":[{"role":"user","content":[{"type":"input_text","text":"Hi"},
      {"type":"input_image","image_url":"x"}]},{"type":"function_call_output","output":"42"}]})",
                     ApiKind::Responses);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, "<|user|>\nHi<input_image>\n<function_call_output>\n");
}

TEST(CanonicalPrompt, EmbeddingsStringsOrTokenArraysOneInputPerLine) {
  EXPECT_EQ(*canonical(R"({"input":"one"})", ApiKind::Embeddings), "one");
  EXPECT_EQ(*canonical(R"({"input":["one","two"]})", ApiKind::Embeddings), "one\ntwo");
  EXPECT_EQ(*canonical(R"({"input":[1,22,333]})", ApiKind::Embeddings), "1 22 333");
  EXPECT_EQ(*canonical(R"({"input":[[1,2],[3]]})", ApiKind::Embeddings), "1 2\n3");
}

TEST(CanonicalPrompt, EachApiHasItsPath) {
  EXPECT_EQ(apiPath(ApiKind::Chat), "/v1/chat/completions");
  EXPECT_EQ(apiPath(ApiKind::Completion), "/v1/completions");
  EXPECT_EQ(apiPath(ApiKind::Messages), "/v1/messages");
  EXPECT_EQ(apiPath(ApiKind::Responses), "/v1/responses");
  EXPECT_EQ(apiPath(ApiKind::Embeddings), "/v1/embeddings");
}

TEST(CanonicalPrompt, EachMalformedShapeHasItsTypedCode) {
  struct Case {
    const char* body;
    ApiKind kind;
    const char* code;
  };
  const Case cases[] = {
      {R"({})", ApiKind::Chat, "missing_messages"},
      {R"({"messages":{}})", ApiKind::Chat, "invalid_messages"},
      {R"({"messages":[]})", ApiKind::Chat, "invalid_messages"},
      {R"({"messages":[{"content":"x"}]})", ApiKind::Chat, "invalid_messages"},
      {R"({"messages":["x"]})", ApiKind::Chat, "invalid_messages"},
      {R"({"messages":[{"role":"user","content":5}]})", ApiKind::Chat, "invalid_messages"},
      {R"({})", ApiKind::Completion, "missing_prompt"},
      {R"({"prompt":5})", ApiKind::Completion, "invalid_prompt"},
      {R"({"prompt":["a",1]})", ApiKind::Completion, "invalid_prompt"},
      {R"({"system":5,"messages":[{"role":"user","content":"x"}]})", ApiKind::Messages,
       "invalid_system"},
      {R"({"system":"s"})", ApiKind::Messages, "missing_messages"},
      {R"({})", ApiKind::Responses, "missing_input"},
      {R"({"input":5})", ApiKind::Responses, "invalid_input"},
      {R"({"input":[42]})", ApiKind::Responses, "invalid_input"},
      {R"({"input":[{"content":"no role, no type"}]})", ApiKind::Responses, "invalid_input"},
      {R"({"instructions":7,"input":"x"})", ApiKind::Responses, "invalid_instructions"},
      {R"({})", ApiKind::Embeddings, "missing_input"},
      {R"({"input":[]})", ApiKind::Embeddings, "invalid_input"},
      {R"({"input":[1,"x"]})", ApiKind::Embeddings, "invalid_input"},
      {R"({"input":["a",[1,"x"]]})", ApiKind::Embeddings, "invalid_input"},
      {R"({"input":{"text":"x"}})", ApiKind::Embeddings, "invalid_input"},
  };
  for (const auto& c : cases) {
    auto r = canonical(c.body, c.kind);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.error().code, c.code) << c.body;
    EXPECT_EQ(r.error().source, ErrorSource::Downstream) << c.body;
  }
}

}  // namespace
}  // namespace regiongate::openai
