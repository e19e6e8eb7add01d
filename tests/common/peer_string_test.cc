// Peer-string validation and log escaping (src/common/peer_string.h): the shapes a hostile
// upstream sends (CR/LF, NUL, 10 KB strings, bytes >= 0x80) are refused for every kind, and the
// escaped rendering is one bounded printable line.
#include "common/peer_string.h"

#include <gtest/gtest.h>

#include <string>

namespace regiongate {
namespace {

const std::string kTenKb(10 * 1024, 'a');
const std::string kHostile[] = {
    std::string("v1\r\nSet-Cookie: x=1"), std::string("v1\n"), std::string("v1\r"),
    std::string("v\0""1", 3), std::string("v1\x7f"), std::string("v\xc3\xa9"), kTenKb,
};

TEST(PeerString, VersionsAcceptTheUsualShapes) {
  for (const char* v : {"v1", "v2", "2024-05-13", "1.2.0+q4", "rc_1", "A"})
    EXPECT_TRUE(isValidPeerString(kVersionString, v)) << v;
  for (const char* v : {"", "v 1", "v1/2", "v1;x", "v1\""})
    EXPECT_FALSE(isValidPeerString(kVersionString, v)) << v;
  EXPECT_FALSE(isValidPeerString(kVersionString, std::string(65, 'v')));
  EXPECT_TRUE(isValidPeerString(kVersionString, std::string(64, 'v')));
}

TEST(PeerString, ModelIdsAllowPathsAndTags) {
  for (const char* m : {"llama-3.1-8b", "meta-llama/Llama-3.1-8B-Instruct", "gpt-4o@v1", "org/m:q4"})
    EXPECT_TRUE(isValidPeerString(kModelIdString, m)) << m;
  for (const char* m : {"", "a b", "a\"b", "a<b"}) EXPECT_FALSE(isValidPeerString(kModelIdString, m)) << m;
}

TEST(PeerString, RegionsAreNamesOnly) {
  for (const char* r : {"eu-central-1", "swedencentral", "EU", "us_east.2"})
    EXPECT_TRUE(isValidPeerString(kRegionString, r)) << r;
  for (const char* r : {"", "eu central", "eu/central", "eu,us", "eu=1"})
    EXPECT_FALSE(isValidPeerString(kRegionString, r)) << r;
}

TEST(PeerString, HeaderValuesRefuseControlBytesButAllowSpaces) {
  EXPECT_TRUE(isValidPeerString(kHeaderValueString, ""));
  EXPECT_TRUE(isValidPeerString(kHeaderValueString, "a b\tc; d=\"e\""));
  EXPECT_FALSE(isValidPeerString(kHeaderValueString, std::string(1025, 'h')));
}

TEST(PeerString, HostileValuesAreRefusedForEveryKind) {
  for (const auto* kind : {&kVersionString, &kModelIdString, &kRegionString, &kHeaderValueString})
    for (const auto& v : kHostile)
      EXPECT_FALSE(isValidPeerString(*kind, v)) << kind->what << ": " << escapeForLog(v);
}

TEST(PeerString, CheckNamesTheKindAndQuotesTheValueEscaped) {
  EXPECT_TRUE(checkPeerString(kVersionString, "v2").ok());
  auto st = checkPeerString(kVersionString, "v1\r\nX: y");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "invalid_peer_string");
  EXPECT_EQ(st.error().message,
            "invalid model version \"v1\\x0d\\x0aX: y\": has a byte outside its character set");
  auto big = checkPeerString(kRegionString, kTenKb);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message.find("longer than 64 bytes"), std::string::npos);
  EXPECT_LT(big.error().message.size(), 300u);
  EXPECT_NE(checkPeerString(kRegionString, "").error().message.find("empty"), std::string::npos);
}

TEST(PeerString, EscapeForLogIsOnePrintableBoundedLine) {
  EXPECT_EQ(escapeForLog("plain-v1"), "plain-v1");
  EXPECT_EQ(escapeForLog(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(escapeForLog("q\"b\\s"), "q\\\"b\\\\s");
  EXPECT_EQ(escapeForLog("\xff\r\n"), "\\xff\\x0d\\x0a");
  std::string out = escapeForLog(kTenKb, 16);
  EXPECT_EQ(out, std::string(16, 'a') + "...(10240 bytes)");
  // An escape sequence is never cut in half at the limit.
  EXPECT_EQ(escapeForLog("abc\n", 5), "abc...(4 bytes)");
  for (const auto& v : kHostile)
    for (char c : escapeForLog(v)) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << escapeForLog(v);
}

}  // namespace
}  // namespace regiongate
