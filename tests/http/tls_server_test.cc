// HttpServer as a TLS listener (certificates made by the openssl tool): TLS 1.2/1.3 only,
// client certificates when configured, a plaintext request answered in plaintext and closed,
// the handshake bounded by its own timeout and counted against max_connections, and new
// certificates (setTls) for new connections while established ones continue.
#include <gtest/gtest.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <map>
#include <mutex>

#include "http/server.h"
#include "http/tls.h"
#include "testing/pki.h"

namespace regiongate::http {
namespace {

using tcp = asio::ip::tcp;

// Blocking TLS client (fine in tests); every read is bounded by a socket timeout.
struct TlsClient {
  asio::io_context ioc;
  asio::ssl::context ctx{asio::ssl::context::tls_client};
  tcp::socket sock{ioc};
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls;
  beast::flat_buffer buf;

  TlsClient(uint16_t port, const std::string& ca, const std::string& cert = "",
            const std::string& key = "") {
    ctx.set_verify_mode(asio::ssl::verify_peer);
    ctx.load_verify_file(ca);
    if (!cert.empty()) {
      ctx.use_certificate_chain_file(cert);
      ctx.use_private_key_file(key, asio::ssl::context::pem);
    }
    sock.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    timeval tv{5, 0};
    setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    tls = std::make_unique<asio::ssl::stream<tcp::socket&>>(sock, ctx);
  }
  boost::system::error_code handshake() {
    boost::system::error_code ec;
    tls->handshake(asio::ssl::stream_base::client, ec);
    return ec;
  }
  // GET /: the status, or 0 on a transport error.
  int get() { return fetch("/").result_int(); }
  // GET `target`: the response, status 0 on a transport error.
  Response fetch(std::string_view target) {
    Request req{bhttp::verb::get, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    boost::system::error_code ec;
    bhttp::write(*tls, req, ec);
    Response res;
    if (!ec) bhttp::read(*tls, buf, res, ec);
    if (ec) res.result(0);
    return res;
  }
  std::string peerCommonName() {
    X509* cert = SSL_get1_peer_certificate(tls->native_handle());
    if (!cert) return "";
    char name[256] = {0};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof(name));
    X509_free(cert);
    return name;
  }
};

// Everything a plain socket gets back until the server closes (bounded by a 5 s timeout).
std::string readUntilClosed(tcp::socket& s) {
  timeval tv{5, 0};
  setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string out;
  boost::system::error_code ec;
  char b[4096];
  for (int i = 0; i < 1000 && !ec; ++i) out.append(b, s.read_some(asio::buffer(b), ec));
  return ec == asio::error::eof ? out : out + "<no close: " + ec.message() + ">";
}

class TlsServer : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_TRUE(pki_.make()) << pki_.error(); }

  TlsContextPtr context(const std::string& cert, const std::string& client_ca = "") {
    auto ctx = makeServerTlsContext(
        {pki_.path(cert + ".pem"), pki_.path(cert + ".key"), client_ca.empty() ? "" : pki_.path(client_ca)},
        "tls");
    EXPECT_TRUE(ctx.ok()) << ctx.error().message;
    return ctx.ok() ? ctx.value() : nullptr;
  }
  std::unique_ptr<HttpServer> start(ServerOptions opts) {
    opts.listen = "127.0.0.1:0";
    opts.on_limit = [this](LimitKind k) {
      std::lock_guard lock(mu_);
      ++limits_[std::string(limitName(k))];
    };
    auto srv = std::make_unique<HttpServer>(
        opts, [](Request& req, ResponseWriter& out, size_t) -> asio::awaitable<void> {
          if (req.target() == "/stream") {  // the head held for the first chunk, then TLS records
            bhttp::response<bhttp::empty_body> head{bhttp::status::ok, 11};
            head.set(bhttp::field::content_type, "text/event-stream");
            co_await out.begin(std::move(head), ResponseWriter::HeadTiming::WithFirstChunk);
            co_await out.chunk("data: 1\n\n");
            co_await out.chunk("data: 2\n\n");
            co_await out.end();
            co_return;
          }
          co_await out.sendJson(200, "{}");
        });
    EXPECT_TRUE(srv->start().ok());
    return srv;
  }
  int limits(const std::string& kind) {
    std::lock_guard lock(mu_);
    return limits_[kind];
  }
  // Bounded wait for a limit the server reports on its own thread.
  bool waitForLimit(const std::string& kind, int n) {
    for (int i = 0; i < 1000; ++i) {
      if (limits(kind) >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a condition, bounded
    }
    return false;
  }

  testing::TestPki pki_;
  std::mutex mu_;
  std::map<std::string, int> limits_;
};

TEST_F(TlsServer, ServesTls13AndTls12AndRefusesOlder) {
  auto srv = start({.tls = context("server")});
  TlsClient c13(srv->port(), pki_.path("ca.pem"));
  ASSERT_FALSE(c13.handshake());
  EXPECT_EQ(c13.get(), 200);
  EXPECT_STREQ(SSL_get_version(c13.tls->native_handle()), "TLSv1.3");

  TlsClient c12(srv->port(), pki_.path("ca.pem"));
  SSL_set_max_proto_version(c12.tls->native_handle(), TLS1_2_VERSION);
  ASSERT_FALSE(c12.handshake());
  EXPECT_EQ(c12.get(), 200);

  TlsClient c11(srv->port(), pki_.path("ca.pem"));
  SSL_set_security_level(c11.tls->native_handle(), 0);  // let the client offer TLS 1.1 at all
  SSL_set_min_proto_version(c11.tls->native_handle(), TLS1_1_VERSION);
  SSL_set_max_proto_version(c11.tls->native_handle(), TLS1_1_VERSION);
  EXPECT_TRUE(c11.handshake());
  EXPECT_TRUE(waitForLimit("tls_handshake_failed", 1));
  srv->stop(1000);
}

TEST_F(TlsServer, AStreamWithItsHeadHeldForTheFirstChunkArrivesWhole) {
  auto srv = start({.tls = context("server")});
  TlsClient c(srv->port(), pki_.path("ca.pem"));
  ASSERT_FALSE(c.handshake());
  for (int i = 0; i < 2; ++i) {  // twice on the connection: the stream ended where it should
    Response res = c.fetch("/stream");
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_TRUE(res.chunked());
    EXPECT_EQ(res[bhttp::field::content_type], "text/event-stream");
    EXPECT_EQ(res.body(), "data: 1\n\ndata: 2\n\n");
  }
  srv->stop(1000);
}

TEST_F(TlsServer, PlaintextRequestGetsAPlaintextAnswerAndTheClose) {
  auto srv = start({.tls = context("server")});
  asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), srv->port()));
  asio::write(s, asio::buffer(std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n")));
  std::string reply = readUntilClosed(s);
  EXPECT_EQ(reply.rfind("HTTP/1.1 400 ", 0), 0u) << reply;
  EXPECT_NE(reply.find("plaintext_on_tls_port"), std::string::npos) << reply;
  EXPECT_EQ(limits("plaintext_on_tls_port"), 1);
  srv->stop(1000);
}

TEST_F(TlsServer, HandshakeHasItsOwnTimeoutAndCountsAgainstMaxConnections) {
  auto srv = start({.max_connections = 1, .tls = context("server"), .tls_handshake_timeout_ms = 300});
  asio::io_context ioc;
  tcp::socket silent(ioc);  // connects and never starts the handshake
  silent.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), srv->port()));
  for (int i = 0; i < 1000 && srv->activeConnections() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling a condition, bounded
  ASSERT_EQ(srv->activeConnections(), 1u);
  // The handshaking connection holds the only slot: the next one is refused.
  tcp::socket second(ioc);
  second.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), srv->port()));
  EXPECT_NE(readUntilClosed(second).find("too_many_connections"), std::string::npos);
  // The silent one is closed by the handshake timeout (well before the 10 s read timeout).
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(readUntilClosed(silent), "");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  EXPECT_TRUE(waitForLimit("tls_handshake_timeout", 1));
  srv->stop(1000);
}

TEST_F(TlsServer, ClientCertificateRequiredWhenAClientCaIsSet) {
  auto srv = start({.tls = context("server", "ca.pem")});
  TlsClient anonymous(srv->port(), pki_.path("ca.pem"));
  // TLS 1.3: the client may finish its handshake before the server refuses; the request fails.
  bool served = !anonymous.handshake() && anonymous.get() == 200;
  EXPECT_FALSE(served);
  TlsClient known(srv->port(), pki_.path("ca.pem"), pki_.path("client.pem"), pki_.path("client.key"));
  ASSERT_FALSE(known.handshake());
  EXPECT_EQ(known.get(), 200);
  srv->stop(1000);
}

TEST_F(TlsServer, NewCertificatesForNewConnectionsOnly) {
  ASSERT_TRUE(pki_.issue("next", "next.test"));
  auto srv = start({.workers = 2, .tls = context("server")});
  TlsClient before(srv->port(), pki_.path("ca.pem"));
  ASSERT_FALSE(before.handshake());
  EXPECT_EQ(before.get(), 200);
  EXPECT_EQ(before.peerCommonName(), "upstream.test");
  srv->setTls(context("next"));
  bool rotated = false;
  for (int i = 0; i < 200 && !rotated; ++i) {  // posted to the workers: bounded wait
    TlsClient after(srv->port(), pki_.path("ca.pem"));
    rotated = !after.handshake() && after.peerCommonName() == "next.test" && after.get() == 200;
  }
  EXPECT_TRUE(rotated);
  EXPECT_EQ(before.get(), 200) << "the established connection was dropped";
  srv->stop(1000);
}

TEST(TlsServerContext, BadFilesAreTypedConfigErrors) {
  testing::TestPki pki;
  ASSERT_TRUE(pki.make()) << pki.error();
  auto missing = makeServerTlsContext({pki.path("nope.pem"), pki.path("server.key"), ""}, "tls");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "tls_config");
  EXPECT_NE(missing.error().message.find("tls.cert_file"), std::string::npos) << missing.error().message;
  auto mismatch = makeServerTlsContext({pki.path("server.pem"), pki.path("client.key"), ""}, "admin_tls");
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().message.find("admin_tls.key_file"), std::string::npos)
      << mismatch.error().message;
}

}  // namespace
}  // namespace regiongate::http
