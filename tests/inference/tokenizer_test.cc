#include "inference/tokenizer.h"

#include <gtest/gtest.h>

namespace regiongate::inference {
namespace {

TEST(Tokenizer, SplitsWordsAndPunctuation) {
  EXPECT_EQ(Tokenizer::count("Hello, world!"), 4u);
  EXPECT_EQ(Tokenizer::count("  \n\t "), 0u);
  EXPECT_EQ(Tokenizer::count("snake_case x2 ünïcode"), 3u);
  auto a = Tokenizer::encode("a b a");
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0], a[2]);
  EXPECT_NE(a[0], a[1]);
  EXPECT_EQ(Tokenizer::encode("Hello, world!"), Tokenizer::encode("Hello ,world !"));
}

}  // namespace
}  // namespace regiongate::inference
