#include "common/hash.h"
#include "common/json.h"

#include <gtest/gtest.h>

namespace regiongate {
namespace {

TEST(Hash, Sha256KnownVector) {
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Hash, ChainHashDependsOnParent) {
  EXPECT_NE(chainHash(1, "block"), chainHash(2, "block"));
  EXPECT_EQ(chainHash(7, "block"), chainHash(7, "block"));
}

TEST(Hash, ConstantTimeEquals) {
  EXPECT_TRUE(constantTimeEquals("abc", "abc"));
  EXPECT_FALSE(constantTimeEquals("abc", "abd"));
  EXPECT_FALSE(constantTimeEquals("abc", "ab"));
}

TEST(Json, EscapesControlAndQuotes) {
  EXPECT_EQ(jsonString("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
}

TEST(Json, ErrorBodyShape) {
  EXPECT_EQ(errorBody("t", "c", "m", "\"x\":1"),
            "{\"error\":{\"message\":\"m\",\"type\":\"t\",\"code\":\"c\",\"x\":1}}");
}

}  // namespace
}  // namespace regiongate
