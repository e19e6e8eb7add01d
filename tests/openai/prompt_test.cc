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
