#include "http/server.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include <boost/asio/connect.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "common/json.h"
#include "testing/gate.h"

namespace regiongate::http {
namespace {

using tcp = asio::ip::tcp;

// Blocking client helpers (fine in tests).
struct Client {
  asio::io_context ioc;
  tcp::socket sock{ioc};
  explicit Client(uint16_t port) { sock.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port)); }
  std::string raw(std::string_view data) {
    asio::write(sock, asio::buffer(data));
    return readAll();
  }
  std::string readAll() {
    std::string out;
    boost::system::error_code ec;
    char buf[4096];
    for (int i = 0; i < 1000; ++i) {
      size_t n = sock.read_some(asio::buffer(buf), ec);
      out.append(buf, n);
      if (ec) break;
    }
    return out;
  }
  Response request(Request req) {
    bhttp::write(sock, req);
    beast::flat_buffer b;
    Response res;
    bhttp::read(sock, b, res);
    return res;
  }
};

// 16 MiB in which every 8-byte word is its own offset: a piece sent twice, skipped or out of
// order shows at the first word it moves.
const std::string& bigBody() {
  static const std::string body = [] {
    std::string b(16u << 20, '\0');
    for (uint64_t off = 0; off < b.size(); off += 8) std::memcpy(b.data() + off, &off, 8);
    return b;
  }();
  return body;
}

std::unique_ptr<HttpServer> makeServer(ServerOptions opts, std::atomic<int>* limits = nullptr) {
  opts.listen = "127.0.0.1:0";
  opts.on_limit = [limits](LimitKind) { if (limits) ++*limits; };
  auto srv = std::make_unique<HttpServer>(opts, [](Request& req, ResponseWriter& out, size_t) -> asio::awaitable<void> {
    if (req.target() == "/stream") {
      bhttp::response<bhttp::empty_body> head{bhttp::status::ok, 11};
      head.set(bhttp::field::content_type, "text/event-stream");
      co_await out.begin(std::move(head));
      co_await out.chunk("data: 1\n\n");
      co_await out.chunk("data: 2\n\n");
      co_await out.end();
      co_return;
    }
    if (req.target() == "/big") {
      // More than a loopback socket takes at once: the write goes out in several pieces.
      co_await out.sendRaw(200, "application/octet-stream", {}, bigBody());
      co_return;
    }
    co_await out.sendJson(200, "{\"echo\":" + jsonString(req.body()) + "}");
  });
  EXPECT_TRUE(srv->start().ok());
  return srv;
}

TEST(HttpServer, KeepAliveServesSeveralRequestsOnOneConnection) {
  auto srv = makeServer({.workers = 2});
  Client c(srv->port());
  for (int i = 0; i < 3; ++i) {
    Request req{bhttp::verb::post, "/x", 11};
    req.set(bhttp::field::host, "t");
    req.body() = "hi" + std::to_string(i);
    req.prepare_payload();
    auto res = c.request(req);
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.body(), "{\"echo\":\"hi" + std::to_string(i) + "\"}");
    EXPECT_TRUE(res.keep_alive());
  }
  srv->stop(1000);
}

TEST(HttpServer, PipelinedRequestsInOneWriteAreEachAnsweredInOrder) {
  auto srv = makeServer({});
  Client c(srv->port());
  // Both heads and bodies in one write: the first request's parse must take its body and no
  // byte of the next request.
  asio::write(c.sock, asio::buffer(std::string_view(
                          "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nfirst"
                          "POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "3\r\nsec\r\n3\r\nond\r\n0\r\n\r\n")));
  beast::flat_buffer b;
  for (const char* want : {"{\"echo\":\"first\"}", "{\"echo\":\"second\"}"}) {
    Response res;
    bhttp::read(c.sock, b, res);
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.body(), want);
  }
}

TEST(HttpServer, BodyThatArrivesAfterItsHeadIsReadToTheEnd) {
  auto srv = makeServer({});
  Client c(srv->port());
  asio::write(c.sock, asio::buffer(std::string_view(
                          "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhead-")));
  asio::write(c.sock, asio::buffer(std::string_view("later")));
  beast::flat_buffer b;
  Response res;
  bhttp::read(c.sock, b, res);
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "{\"echo\":\"head-later\"}");
}

TEST(HttpServer, ResponseLargerThanTheSocketTakesAtOnceArrivesIntact) {
  auto srv = makeServer({});
  Client c(srv->port());
  for (int i = 0; i < 2; ++i) {  // and the connection still serves the next request
    Request req{bhttp::verb::get, "/big", 11};
    req.set(bhttp::field::host, "t");
    bhttp::write(c.sock, req);
    beast::flat_buffer b;
    bhttp::response_parser<bhttp::string_body> p;
    p.body_limit(32u << 20);
    bhttp::read(c.sock, b, p);
    ASSERT_EQ(p.get().result_int(), 200);
    const std::string& got = p.get().body();
    ASSERT_EQ(got.size(), bigBody().size());
    EXPECT_TRUE(got == bigBody()) << "first difference at byte "
                                  << std::mismatch(got.begin(), got.end(), bigBody().begin()).first - got.begin();
  }
}

TEST(HttpServer, ChunkedStreamArrivesWhole) {
  auto srv = makeServer({});
  Client c(srv->port());
  Request req{bhttp::verb::get, "/stream", 11};
  req.set(bhttp::field::host, "t");
  auto res = c.request(req);
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "data: 1\n\ndata: 2\n\n");
  EXPECT_TRUE(res.chunked());
}

TEST(HttpServer, StreamHeadAndChunksAreWellFormedOnTheWire) {
  auto srv = makeServer({});
  Client c(srv->port());
  auto out = c.raw("GET /stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
            "9\r\ndata: 1\n\n\r\n9\r\ndata: 2\n\n\r\n0\r\n\r\n");
}

// A server whose /held stream holds its head for the first chunk, and whose first chunk waits for
// the test to open a gate.
struct HeldHeadServer {
  std::unique_ptr<HttpServer> srv;
  testing::Gate gate;  // after the server: its timer goes before the server's io_context
  HeldHeadServer() {
    ServerOptions opts;
    opts.listen = "127.0.0.1:0";
    srv = std::make_unique<HttpServer>(opts, [this](Request& req, ResponseWriter& out, size_t) -> asio::awaitable<void> {
      bhttp::response<bhttp::empty_body> head{bhttp::status::ok, 11};
      head.set(bhttp::field::content_type, "text/event-stream");
      if (req.target() == "/held-only") {  // a handler that never writes a chunk nor the end
        co_await out.begin(std::move(head), ResponseWriter::HeadTiming::WithFirstChunk);
        co_return;
      }
      co_await out.begin(std::move(head), ResponseWriter::HeadTiming::WithFirstChunk);
      gate.arm(co_await asio::this_coro::executor);
      co_await gate.pass();
      co_await out.chunk("data: 1\n\n");
      co_await out.end();
    });
    EXPECT_TRUE(srv->start().ok());
  }
  ~HeldHeadServer() { srv->stop(0); }  // its threads end before the gate goes
};

TEST(HttpServer, AHeldHeadLeavesOnlyWithTheFirstChunkInOneWrite) {
  HeldHeadServer s;
  Client c(s.srv->port());
  asio::write(c.sock, asio::buffer(std::string_view("GET /held HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")));
  ASSERT_TRUE(s.gate.waitArmed());
  // begin() returned before the gate: a head sent then would be in the socket by now.
  EXPECT_EQ(c.sock.available(), 0u);
  ASSERT_TRUE(s.gate.open());
  char buf[4096];
  const size_t first = c.sock.read_some(asio::buffer(buf));
  const std::string head_and_chunk =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n"
      "Transfer-Encoding: chunked\r\n\r\n9\r\ndata: 1\n\n\r\n";
  // One write: the first read holds the head and the whole chunk.
  EXPECT_GE(first, head_and_chunk.size());
  EXPECT_EQ(std::string(buf, first) + c.readAll(), head_and_chunk + "0\r\n\r\n");
}

TEST(HttpServer, AHeadStillHeldWhenTheHandlerReturnsIsSent) {
  HeldHeadServer s;
  Client c(s.srv->port());
  EXPECT_EQ(c.raw("GET /held-only HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n"
            "Transfer-Encoding: chunked\r\n\r\n");
}

TEST(HttpServer, OversizedBodyGets413AndServerKeepsServing) {
  std::atomic<int> limits{0};
  auto srv = makeServer({.max_body_bytes = 100}, &limits);
  {
    Client c(srv->port());
    std::string big(1000, 'x');
    auto out = c.raw("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n" + big);
    EXPECT_NE(out.find("413"), std::string::npos) << out;
    EXPECT_NE(out.find("body_too_large"), std::string::npos) << out;
  }
  EXPECT_EQ(limits.load(), 1);
  Client c2(srv->port());
  Request req{bhttp::verb::post, "/x", 11};
  req.set(bhttp::field::host, "t");
  req.body() = "ok";
  req.prepare_payload();
  EXPECT_EQ(c2.request(req).result_int(), 200);
}

TEST(HttpServer, HugeHeadersGet431) {
  auto srv = makeServer({.max_header_bytes = 1024});
  Client c(srv->port());
  auto out = c.raw("GET /x HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
  EXPECT_NE(out.find("431"), std::string::npos) << out;
  EXPECT_NE(out.find("headers_too_large"), std::string::npos) << out;
}

TEST(HttpServer, GarbageGets400) {
  auto srv = makeServer({});
  Client c(srv->port());
  auto out = c.raw("\x01\x02 nonsense\r\n\r\n");
  EXPECT_NE(out.find("400"), std::string::npos) << out;
  EXPECT_NE(out.find("bad_request"), std::string::npos) << out;
}

TEST(HttpServer, SlowClientGets408) {
  auto srv = makeServer({.read_timeout_ms = 200});
  Client c(srv->port());
  // Send half a request head and stop: the server must time the request out on its own.
  auto out = c.raw("POST /x HTTP/1.1\r\nHost: t\r\n");
  EXPECT_NE(out.find("408"), std::string::npos) << out;
  EXPECT_NE(out.find("request_timeout"), std::string::npos) << out;
}

TEST(HttpServer, ConnectionLimitAnswers503ToTheExtraConnection) {
  std::atomic<int> limits{0};
  auto srv = makeServer({.max_connections = 1}, &limits);
  Client first(srv->port());
  Request req{bhttp::verb::post, "/x", 11};
  req.set(bhttp::field::host, "t");
  req.prepare_payload();
  EXPECT_EQ(first.request(req).result_int(), 200);  // first connection is established and counted
  Client second(srv->port());
  auto out = second.readAll();
  EXPECT_NE(out.find("503"), std::string::npos) << out;
  EXPECT_NE(out.find("too_many_connections"), std::string::npos) << out;
  EXPECT_EQ(limits.load(), 1);
}

TEST(ParseListen, RejectsBadValues) {
  EXPECT_FALSE(parseListen("nohost").ok());
  EXPECT_FALSE(parseListen("127.0.0.1:99999").ok());
  EXPECT_FALSE(parseListen("example.com:80").ok());
  auto ok = parseListen("127.0.0.1:8080");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->port(), 8080);
}

}  // namespace
}  // namespace regiongate::http
