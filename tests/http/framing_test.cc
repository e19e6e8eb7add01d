// HeadScanner and checkFraming (src/http/framing.h): the request-smuggling shapes the server
// refuses before the parser or the handler sees them, fed whole and one byte at a time.
#include "http/framing.h"

#include <gtest/gtest.h>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>

namespace regiongate::http {
namespace {

namespace bhttp = boost::beast::http;
using State = HeadScanner::State;

struct Outcome {
  State state;
  std::string problem;
  size_t head_length;
};

Outcome scanWhole(std::string_view bytes) {
  HeadScanner s;
  State st = s.scan(bytes);
  return {st, std::string(st == State::Bad ? s.problem() : ""),
          st == State::Complete ? s.headLength() : 0};
}

// The same bytes as they would arrive from a client trickling one byte per read.
Outcome scanTrickled(std::string_view bytes) {
  HeadScanner s;
  State st = State::NeedMore;
  for (size_t n = 1; n <= bytes.size() && st == State::NeedMore; ++n) st = s.scan(bytes.substr(0, n));
  return {st, std::string(st == State::Bad ? s.problem() : ""),
          st == State::Complete ? s.headLength() : 0};
}

const std::string kHead = "POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n";

TEST(HeadScanner, FindsTheEndOfAWellFormedHeadWholeOrTrickled) {
  for (auto scan : {scanWhole, scanTrickled}) {
    auto o = scan(kHead + "{}");
    EXPECT_EQ(o.state, State::Complete) << o.problem;
    EXPECT_EQ(o.head_length, kHead.size());
  }
  // Values may hold spaces, tabs and colons; the request line is the parser's business.
  auto o = scanWhole("GET /a:b HTTP/1.1\r\nX-A: one two\tthree: four\r\n\r\n");
  EXPECT_EQ(o.state, State::Complete) << o.problem;
}

TEST(HeadScanner, WaitsForMoreUntilTheEmptyLine) {
  EXPECT_EQ(scanWhole("GET / HTTP/1.1\r\nHost: t\r\n").state, State::NeedMore);
  EXPECT_EQ(scanWhole("GET / HTTP/1.1\r\nHost: t\r\n\r").state, State::NeedMore);
  EXPECT_EQ(scanWhole("GET / HTTP/1.1\r\nHost: t\r").state, State::NeedMore);
  EXPECT_EQ(scanWhole("").state, State::NeedMore);
}

struct BadShape {
  const char* name;
  std::string bytes;
  const char* problem;
};

TEST(HeadScanner, RefusesAmbiguousLineFramingWholeOrTrickled) {
  const BadShape shapes[] = {
      {"bare LF in a field line", "GET / HTTP/1.1\r\nHost: t\nX-A: b\r\n\r\n", "bare LF line ending"},
      {"bare LF after the request line", "GET / HTTP/1.1\nHost: t\r\n\r\n", "bare LF line ending"},
      {"bare LF as the empty line", "GET / HTTP/1.1\r\nHost: t\r\n\n", "bare LF line ending"},
      {"bare CR", "GET / HTTP/1.1\r\nHost: t\rX-A: b\r\n\r\n", "bare CR line ending"},
      {"obs-fold with a space", "GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n", "obs-fold line folding"},
      {"obs-fold with a tab", "GET / HTTP/1.1\r\nTransfer-Encoding:\r\n\tchunked\r\n\r\n",
       "obs-fold line folding"},
      {"space before the colon", "GET / HTTP/1.1\r\nContent-Length : 5\r\n\r\n",
       "whitespace between a header name and its colon"},
      {"tab before the colon", "GET / HTTP/1.1\r\nTransfer-Encoding\t: chunked\r\n\r\n",
       "whitespace between a header name and its colon"},
      {"no colon at all", "GET / HTTP/1.1\r\nX-No-Colon\r\n\r\n", "header line without a colon"},
  };
  for (const auto& s : shapes) {
    for (auto scan : {scanWhole, scanTrickled}) {
      auto o = scan(s.bytes);
      EXPECT_EQ(o.state, State::Bad) << s.name;
      EXPECT_EQ(o.problem, s.problem) << s.name;
    }
  }
}

// Parses a head with Beast as the server does; nullopt when Beast itself refuses it.
std::optional<std::string> framingOf(const std::string& head) {
  bhttp::request_parser<bhttp::string_body> p;
  boost::system::error_code ec;
  p.put(boost::asio::buffer(head), ec);
  if (ec && ec != bhttp::error::need_more) return std::nullopt;
  if (!p.is_header_done()) return std::nullopt;
  return std::string(checkFraming(p.get().base()));
}

TEST(CheckFraming, AcceptsContentLengthOrASingleFinalChunked) {
  EXPECT_EQ(framingOf("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n"), "");
  EXPECT_EQ(framingOf("GET / HTTP/1.1\r\n\r\n"), "");
  EXPECT_EQ(framingOf("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), "");
  EXPECT_EQ(framingOf("POST / HTTP/1.1\r\nTransfer-Encoding: CHUNKED\r\n\r\n"), "");
}

TEST(CheckFraming, RefusesTransferEncodingsThatDoNotEndInChunked) {
  // Shapes Beast's parser accepts and frames by Content-Length or as bodiless: the smuggling gap.
  const std::pair<const char*, const char*> cases[] = {
      {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
       "Transfer-Encoding does not end in chunked"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
       "Transfer-Encoding does not end in chunked"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n",
       "Transfer-Encoding together with Content-Length"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
       "Transfer-Encoding applies chunked more than once"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
       "unsupported transfer coding (only chunked is accepted)"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: ,\r\n\r\n", "Transfer-Encoding does not end in chunked"},
  };
  for (const auto& [head, why] : cases) {
    auto got = framingOf(head);
    ASSERT_TRUE(got.has_value()) << head << ": Beast refused it itself";
    EXPECT_EQ(*got, why) << head;
  }
}

}  // namespace
}  // namespace regiongate::http
