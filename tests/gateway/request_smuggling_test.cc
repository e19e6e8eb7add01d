// Integration: request-smuggling shapes against the real `regiongate serve` on loopback. Each
// request carries a second, complete request in its body; a front end that framed the body
// differently would see two requests. The gateway must answer each shape with one typed 400
// bad_request and close the connection, and no backend may receive anything: neither the outer
// request nor the smuggled one.
#include <gtest/gtest.h>

#include "gateway_fixture.h"
#include "raw_client.h"

namespace regiongate::testing {
namespace {

// Requests all backends have logged so far.
size_t backendRequests(const Deployment& d, std::vector<Backend>& backends) {
  size_t n = 0;
  for (const auto& b : backends) n += d.requestIdsAt(b.name).size();
  return n;
}

std::string chatBody(const std::string& content) {
  return "{\"model\":\"llama-3.1-8b\",\"stream\":false,\"messages\":[{\"role\":\"user\","
         "\"content\":\"" + content + "\"}]}";
}

// A complete request, hidden in the outer request's body.
std::string smuggled() {
  std::string body = chatBody("smuggled");
  return "POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + kEuKey +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// The outer head up to (not including) its framing headers; `framing` ends each line itself.
std::string outer(const std::string& framing, const std::string& body) {
  return "POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + kEuKey +
         "\r\nContent-Type: application/json\r\n" + framing + "\r\n" + body;
}

std::string chunked(const std::string& data) {
  char size[32];
  std::snprintf(size, sizeof(size), "%zx", data.size());
  return std::string(size) + "\r\n" + data + "\r\n0\r\n\r\n";
}

struct Shape {
  const char* name;
  std::string bytes;
};

std::vector<Shape> smugglingShapes() {
  const std::string inner = smuggled();
  const std::string first = chatBody("outer");
  const std::string both = first + inner;  // framed by Content-Length, the second is smuggled
  const std::string cl = "Content-Length: " + std::to_string(first.size()) + "\r\n";
  const std::string cl_all = "Content-Length: " + std::to_string(both.size()) + "\r\n";
  return {
      {"CL then TE", outer(cl + "Transfer-Encoding: chunked\r\n", chunked(first) + inner)},
      {"TE then CL", outer("Transfer-Encoding: chunked\r\n" + cl, chunked(first) + inner)},
      {"TE gzip with CL", outer("Transfer-Encoding: gzip\r\n" + cl_all, both)},
      {"TE not ending in chunked", outer("Transfer-Encoding: chunked, identity\r\n", both)},
      {"TE twice", outer("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
                         chunked(first) + inner)},
      {"TE chunked twice in one field", outer("Transfer-Encoding: chunked, chunked\r\n",
                                              chunked(first) + inner)},
      {"duplicate differing Content-Length", outer(cl + cl_all, both)},
      {"obs-fold", outer("X-Note: a\r\n folded\r\n" + cl, first + inner)},
      {"obs-fold hiding Transfer-Encoding", outer(cl + "X-Note: a\r\n Transfer-Encoding: chunked\r\n",
                                                  first + inner)},
      {"bare LF", outer("X-Note: a\n" + cl, first + inner)},
      {"space before the colon", outer("Transfer-Encoding : chunked\r\n" + cl, first + inner)},
  };
}

TEST(RequestSmuggling, EveryShapeGetsA400AndReachesNoBackend) {
  Deployment d;
  ASSERT_TRUE(d.startGateway());
  const size_t before = backendRequests(d, d.backends());
  for (const auto& shape : smugglingShapes()) {
    RawConn c(d.port());
    ASSERT_TRUE(c.waitConnected()) << shape.name;
    c.send(shape.bytes);  // the gateway may close before taking it all
    ASSERT_TRUE(c.readUntilClosed(10000)) << shape.name << ": connection not closed; got "
                                          << c.received();
    std::string rest;
    auto r = parseResponses(c.received(), &rest);
    ASSERT_EQ(r.size(), 1u) << shape.name << ": " << c.received();
    EXPECT_EQ(r[0].status, 400) << shape.name << ": " << r[0].body;
    EXPECT_NE(r[0].body.find("\"code\":\"bad_request\""), std::string::npos)
        << shape.name << ": " << r[0].body;
    EXPECT_NE(r[0].body.find("malformed HTTP request"), std::string::npos)
        << shape.name << ": " << r[0].body;
    EXPECT_EQ(r[0].header("connection"), "close") << shape.name;
    EXPECT_EQ(rest, "") << shape.name;
  }
  // A normal request afterwards is served; it is the only one any backend ever saw.
  auto ok = d.chat(kEuKey, "after the smuggling attempts");
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(backendRequests(d, d.backends()) - before, 1u);
}

// The accepted framings still work end to end: a chunked request body is decoded and served.
TEST(RequestSmuggling, AChunkedBodyIsStillServed) {
  Deployment d;
  ASSERT_TRUE(d.startGateway());
  RawConn c(d.port());
  ASSERT_TRUE(c.waitConnected());
  std::string bytes = outer("Transfer-Encoding: chunked\r\nConnection: close\r\n",
                            chunked(chatBody("chunked body")));
  ASSERT_EQ(c.send(bytes), bytes.size());
  ASSERT_TRUE(c.readUntilClosed(15000)) << c.received();
  auto r = parseResponses(c.received());
  ASSERT_EQ(r.size(), 1u) << c.received();
  EXPECT_EQ(r[0].status, 200) << r[0].body;
  EXPECT_NE(r[0].body.find("\"choices\""), std::string::npos) << r[0].body;
}

}  // namespace
}  // namespace regiongate::testing
