// Upstream response heads (src/upstream/response_head.h): what Exchange accepts from an
// upstream before the gateway uses any of it.
#include "upstream/response_head.h"

#include <gtest/gtest.h>

#include <string>

namespace regiongate::upstream {
namespace {

Result<size_t> parse(const std::string& bytes) {
  ResponseParser p;
  return parseUpstreamHead(bytes, p);
}

TEST(UpstreamHead, AcceptsAFinalStatusAndReturnsTheHeadLength) {
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           "Content-Length: 2\r\n\r\n";
  auto r = parse(head + "{}");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, head.size());
  EXPECT_TRUE(parse("HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n").ok());
  EXPECT_TRUE(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").ok());
}

TEST(UpstreamHead, RefusesInterimAndOutOfRangeStatuses) {
  for (const char* s : {"HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 101 Switching\r\n\r\n",
                        "HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n",
                        "HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n"}) {
    auto r = parse(s);
    ASSERT_FALSE(r.ok()) << s;
    EXPECT_EQ(r.error().code, "bad_response") << s;
    EXPECT_TRUE(r.error().retryable) << s;
  }
}

TEST(UpstreamHead, RefusesAContentTypeThatIsNotAPlainHeaderValue) {
  auto r = parse("HTTP/1.1 200 OK\r\nContent-Type: text/plain; x=\xc3\xa9\r\nContent-Length: 0\r\n\r\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "bad_response");
  EXPECT_NE(r.error().message.find("\\xc3\\xa9"), std::string::npos) << r.error().message;
  auto big = parse("HTTP/1.1 200 OK\r\nContent-Type: " + std::string(2000, 'a') +
                   "\r\nContent-Length: 0\r\n\r\n");
  EXPECT_FALSE(big.ok());
}

TEST(UpstreamHead, MalformedOrOversizedHeadsAreBadResponses) {
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-").error().code, "need_more");
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nX: a\r\rb\r\n\r\n").error().code, "bad_response");
  EXPECT_EQ(parse(std::string("HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n", 27)).error().code, "bad_response");
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nX: a\nSet-Cookie: b\r\n\r\n").error().code, "bad_response");
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n").error().code,
            "bad_response");
  std::string huge = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(kMaxUpstreamHeadBytes, 'b') +
                     "\r\n\r\n";
  EXPECT_EQ(parse(huge).error().code, "bad_response");
}

}  // namespace
}  // namespace regiongate::upstream
