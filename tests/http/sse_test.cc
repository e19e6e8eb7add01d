#include "http/sse.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace regiongate::http {
namespace {

std::vector<std::string> feedAll(SseParser& p, const std::vector<std::string>& pieces) {
  std::vector<std::string> events;
  for (const auto& piece : pieces)
    p.feed(piece, [&](std::string_view d) { events.emplace_back(d); });
  return events;
}

TEST(SseParser, SplitsEventsAcrossArbitraryPieceBoundaries) {
  std::string stream = "data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n";
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    SseParser p;
    auto ev = feedAll(p, {stream.substr(0, cut), stream.substr(cut)});
    ASSERT_EQ(ev.size(), 3u) << "cut at " << cut;
    EXPECT_EQ(ev[0], "{\"a\":1}");
    EXPECT_EQ(ev[1], "{\"b\":2}");
    EXPECT_EQ(ev[2], "[DONE]");
  }
}

TEST(SseParser, HandlesCrLfCrAndMultilineDataAndComments) {
  SseParser p;
  auto ev = feedAll(p, {"data: x\r\n\r\n: comment only\n\ndata: a\ndata: b\n\nevent: e\rdata:y\r\r\n"});
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0], "x");
  EXPECT_EQ(ev[1], "a\nb");
  EXPECT_EQ(ev[2], "y");
}

TEST(SseParser, IncompleteEventIsHeldUntilItsBlankLine) {
  SseParser p;
  auto ev = feedAll(p, {"data: partial"});
  EXPECT_TRUE(ev.empty());
  ev = feedAll(p, {"\n\n"});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0], "partial");
}

TEST(SseParser, OversizedEventFailsInsteadOfGrowingWithoutBound) {
  SseParser p(64);
  std::string big = "data: " + std::string(200, 'x');
  EXPECT_FALSE(p.feed(big, [](std::string_view) {}));
  EXPECT_TRUE(p.failed());
}

}  // namespace
}  // namespace regiongate::http
