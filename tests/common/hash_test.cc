#include "common/hash.h"
#include "common/json.h"

#include <gtest/gtest.h>

#include <cstdio>

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

// The escaper skips plain text 8 bytes at a time: every byte value at every offset of a longer
// string must still come out exactly as the byte-at-a-time rule says.
TEST(Json, EscapesEveryByteAtEveryOffset) {
  auto reference = [](std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
      if (c == '"') out += "\\\"";
      else if (c == '\\') out += "\\\\";
      else if (c == '\n') out += "\\n";
      else if (c == '\r') out += "\\r";
      else if (c == '\t') out += "\\t";
      else if (c == '\b') out += "\\b";
      else if (c == '\f') out += "\\f";
      else if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        out += buf;
      } else out.push_back(static_cast<char>(c));
    }
    return out + "\"";
  };
  for (int byte = 0; byte < 256; ++byte)
    for (size_t len : {1u, 7u, 8u, 9u, 16u, 23u})
      for (size_t pos = 0; pos < len; ++pos) {
        std::string s(len, 'a');
        s[pos] = static_cast<char>(byte);
        ASSERT_EQ(jsonString(s), reference(s)) << "byte " << byte << " len " << len << " at " << pos;
        // The raw writer (audit encoder) gives the same bytes within its stated bound, and no
        // byte past what it returns is touched.
        std::string buf(jsonStringMaxBytes(s.size()) + 1, '\xee');
        char* end = writeJsonString(buf.data(), s);
        ASSERT_LE(static_cast<size_t>(end - buf.data()), jsonStringMaxBytes(s.size()));
        ASSERT_EQ(std::string(buf.data(), end), reference(s)) << "byte " << byte << " at " << pos;
        ASSERT_EQ(buf.back(), '\xee');
      }
  // Worst case: every byte a control character (6 bytes each).
  const std::string ctl(40, '\x01');
  std::string buf(jsonStringMaxBytes(ctl.size()), '\0');
  EXPECT_EQ(writeJsonString(buf.data(), ctl), buf.data() + buf.size());
  EXPECT_EQ(writeJsonString(buf.data(), ""), buf.data() + 2);
}

TEST(Json, ErrorBodyShape) {
  EXPECT_EQ(errorBody("t", "c", "m", "\"x\":1"),
            "{\"error\":{\"message\":\"m\",\"type\":\"t\",\"code\":\"c\",\"x\":1}}");
}

}  // namespace
}  // namespace regiongate
