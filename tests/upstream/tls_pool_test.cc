// The upstream TLS client against a real nginx (TLS, certificates made by the openssl tool) in
// front of a real `regiongate mock-backend`: the pool verifies chain and host name, reports each
// failure as upstream_tls_error naming the reason, never falls back to plaintext, resumes its TLS
// session on a new connection and keeps TLS connections alive.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <openssl/ssl.h>

#include <fstream>

#include "config/config.h"
#include "testing/nginx.h"
#include "testing/pki.h"
#include "testing/process.h"
#include "upstream/exchange.h"
#include "upstream/tls_client.h"

namespace regiongate::upstream {
namespace {

using namespace std::chrono_literals;
using testing::Nginx;
using testing::NginxTlsServer;

struct Env {
  testing::TestPki pki;
  testing::ChildProcess backend;
  std::string backend_log;
  uint16_t backend_port = 0;
  Nginx nginx;
  std::string skip, error;
};

Env* g_env = nullptr;

class UpstreamTls : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    g_env = new Env;
    Env& e = *g_env;
    if (Nginx::binary().empty()) {
      e.skip = "nginx is not installed (scripts/bootstrap.sh installs nginx-light)";
      return;
    }
    if (!e.pki.make()) {
      e.error = e.pki.error();
      return;
    }
    e.backend_log = e.pki.path("backend.log");
    if (!e.backend.start({REGIONGATE_BIN, "mock-backend", "--region", "eu-central-1", "--listen",
                          "127.0.0.1:0", "--model", "m", "--time-scale", "0", "--request-log",
                          e.backend_log},
                         e.pki.path("backend.stderr"))) {
      e.error = "mock backend did not start";
      return;
    }
    std::string line = e.backend.waitForLine("listening ");
    if (line.empty()) {
      e.error = "mock backend did not report its port";
      return;
    }
    e.backend_port = static_cast<uint16_t>(std::stoi(line.substr(line.rfind(':') + 1)));
    auto srv = [&](std::string name, std::string cert, std::string client_ca = "") {
      return NginxTlsServer{name, e.pki.path(cert + ".pem"), e.pki.path(cert + ".key"),
                            client_ca.empty() ? "" : e.pki.path(client_ca), e.backend_port};
    };
    if (!e.nginx.start({srv("valid", "server"), srv("wronghost", "wrong-host"),
                        srv("expired", "expired"), srv("mtls", "server", "ca.pem")}))
      e.error = "nginx did not start: " + e.nginx.errorLog();
  }
  static void TearDownTestSuite() {
    delete g_env;
    g_env = nullptr;
  }
  void SetUp() override {
    if (!g_env->skip.empty()) GTEST_SKIP() << g_env->skip;
    ASSERT_TRUE(g_env->error.empty()) << g_env->error;
  }

  static EndpointConfig endpoint(uint16_t port, EndpointTlsConfig tls) {
    EndpointConfig ep;
    ep.name = "eu-tls";
    ep.host = "127.0.0.1";
    ep.port = port;
    ep.https = true;
    ep.tls = std::move(tls);
    return ep;
  }
  static EndpointTlsConfig trusting(const std::string& ca, const std::string& name = "upstream.test") {
    EndpointTlsConfig t;
    t.ca_file = g_env->pki.path(ca);
    t.server_name = name;
    return t;
  }

  // One chat request through a pool built for `ep`; the status, or the error.
  struct Outcome {
    Status st;
    unsigned status = 0;
    bool resumed = false;
  };
  static Outcome call(ConnectionPool& pool, asio::io_context& ioc, const std::string& request_id) {
    const std::string body = R"({"model":"m","messages":[{"role":"user","content":"hi"}]})";
    const std::string head = "POST /v1/chat/completions HTTP/1.1\r\nHost: upstream.test\r\n"
                             "Content-Type: application/json\r\nx-regiongate-request-id: " +
                             request_id + "\r\nContent-Length: " + std::to_string(body.size()) +
                             "\r\n\r\n";
    auto fut = asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<Outcome> {
          Exchange ex(pool);
          Outcome o;
          o.st = co_await ex.start(head, body, 5000ms);
          if (!o.st) co_return o;
          o.status = ex.status();
          std::string out;
          auto st = co_await ex.readAll(out, 5000ms, 1 << 20);
          if (!st) o.st = st;
          co_return o;
        },
        asio::use_future);
    ioc.restart();
    ioc.run_for(10s);
    return fut.get();
  }

  static std::string backendLog() {
    std::ifstream in(g_env->backend_log);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
};

TEST_F(UpstreamTls, ValidChainPassesAndTheConnectionIsKeptAlive) {
  asio::io_context ioc(1);
  auto tls = makeClientTls(endpoint(g_env->nginx.port("valid"), trusting("ca.pem")), "t");
  ASSERT_TRUE(tls.ok()) << tls.error().message;
  ConnectionPool pool(ioc.get_executor(), "127.0.0.1", g_env->nginx.port("valid"), 4, tls.value());
  for (int i = 0; i < 3; ++i) {
    auto o = call(pool, ioc, "valid-" + std::to_string(i));
    ASSERT_TRUE(o.st.ok()) << o.st.error().message;
    EXPECT_EQ(o.status, 200u);
    EXPECT_EQ(pool.idle(), 1u) << "the TLS connection goes back to the pool";
  }
  EXPECT_NE(backendLog().find("valid-2"), std::string::npos);
  auto log = g_env->nginx.awaitLines("valid", "valid-", 3);
  for (const auto& l : log) EXPECT_NE(l.find("TLSv1.3"), std::string::npos) << l;
  EXPECT_EQ(log.size(), 3u);
}

TEST_F(UpstreamTls, ANewConnectionResumesThePoolsSession) {
  for (int max_version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SCOPED_TRACE(max_version == TLS1_2_VERSION ? "TLS 1.2" : "TLS 1.3");
    asio::io_context ioc(1);
    auto tls = makeClientTls(endpoint(g_env->nginx.port("valid"), trusting("ca.pem")), "t");
    ASSERT_TRUE(tls.ok()) << tls.error().message;
    SSL_CTX_set_max_proto_version(tls.value()->context.native_handle(), max_version);
    // max_idle 0: every request opens a new connection; each resumes the previous session.
    ConnectionPool pool(ioc.get_executor(), "127.0.0.1", g_env->nginx.port("valid"), 0, tls.value());
    const std::string prefix = "resume-" + std::to_string(max_version) + "-";
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(call(pool, ioc, prefix + std::to_string(i)).st.ok());
    std::string seen;
    std::vector<bool> resumed(3, false);
    for (const auto& l : g_env->nginx.awaitLines("valid", prefix, 3))
      for (int i = 0; i < 3; ++i)
        if (l.rfind(prefix + std::to_string(i) + " ", 0) == 0) {
          seen += l + "\n";
          resumed[i] = l.find(" r ") != std::string::npos;  // nginx: $ssl_session_reused
        }
    EXPECT_EQ(resumed, (std::vector<bool>{false, true, true})) << seen;
  }
}

struct BadCase {
  const char* server;
  const char* ca;
  const char* name;
  const char* reason;  // in the error message
};

TEST_F(UpstreamTls, VerificationFailuresAreTypedAndNothingIsSent) {
  for (auto c : {BadCase{"valid", "other-ca.pem", "upstream.test", "unable to get local issuer"},
                 BadCase{"wronghost", "ca.pem", "upstream.test", "hostname mismatch"},
                 BadCase{"valid", "ca.pem", "elsewhere.test", "hostname mismatch"},
                 BadCase{"expired", "ca.pem", "upstream.test", "certificate has expired"}}) {
    SCOPED_TRACE(std::string(c.server) + " trusting " + c.ca + " as " + c.name);
    asio::io_context ioc(1);
    uint16_t port = g_env->nginx.port(c.server);
    auto tls = makeClientTls(endpoint(port, trusting(c.ca, c.name)), "t");
    ASSERT_TRUE(tls.ok()) << tls.error().message;
    ConnectionPool pool(ioc.get_executor(), "127.0.0.1", port, 4, tls.value());
    std::string id = std::string("bad-") + c.server + "-" + c.name;
    auto o = call(pool, ioc, id);
    ASSERT_FALSE(o.st.ok());
    EXPECT_EQ(o.st.error().code, "upstream_tls_error");
    EXPECT_TRUE(o.st.error().retryable) << "retried inside the pool";
    EXPECT_NE(o.st.error().message.find(c.reason), std::string::npos) << o.st.error().message;
    EXPECT_EQ(backendLog().find(id), std::string::npos) << "the request left despite the failure";
    EXPECT_EQ(pool.idle(), 0u);
  }
}

TEST_F(UpstreamTls, AnHttpsEndpointIsNeverCalledInPlaintext) {
  // The mock backend speaks plain HTTP: the handshake fails and no request reaches it.
  asio::io_context ioc(1);
  auto tls = makeClientTls(endpoint(g_env->backend_port, trusting("ca.pem")), "t");
  ASSERT_TRUE(tls.ok());
  ConnectionPool pool(ioc.get_executor(), "127.0.0.1", g_env->backend_port, 4, tls.value());
  auto o = call(pool, ioc, "plaintext-downgrade");
  ASSERT_FALSE(o.st.ok());
  EXPECT_EQ(o.st.error().code, "upstream_tls_error") << o.st.error().message;
  EXPECT_EQ(backendLog().find("plaintext-downgrade"), std::string::npos);
}

TEST_F(UpstreamTls, ClientCertificateForMutualTls) {
  asio::io_context ioc(1);
  uint16_t port = g_env->nginx.port("mtls");
  auto t = trusting("ca.pem");
  t.client_cert_file = g_env->pki.path("client.pem");
  t.client_key_file = g_env->pki.path("client.key");
  auto tls = makeClientTls(endpoint(port, t), "t");
  ASSERT_TRUE(tls.ok()) << tls.error().message;
  ConnectionPool pool(ioc.get_executor(), "127.0.0.1", port, 4, tls.value());
  auto o = call(pool, ioc, "mtls-ok");
  ASSERT_TRUE(o.st.ok()) << o.st.error().message;
  EXPECT_EQ(o.status, 200u);
  auto lines = g_env->nginx.awaitLines("mtls", "mtls-ok ", 1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("CN=gateway-client"), std::string::npos) << lines[0];
  EXPECT_NE(backendLog().find("mtls-ok"), std::string::npos);
}

TEST_F(UpstreamTls, BadFilesAreAConfigError) {
  auto t = trusting("ca.pem");
  t.ca_file = g_env->pki.path("missing.pem");
  auto r = makeClientTls(endpoint(1, t), "endpoints[0].tls");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "tls_config");
  EXPECT_NE(r.error().message.find("endpoints[0].tls.ca_file"), std::string::npos) << r.error().message;

  auto m = trusting("ca.pem");
  m.client_cert_file = g_env->pki.path("client.pem");
  m.client_key_file = g_env->pki.path("server.key");  // not client.pem's key
  r = makeClientTls(endpoint(1, m), "endpoints[0].tls");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("client_key_file"), std::string::npos) << r.error().message;
}

TEST_F(UpstreamTls, IdentityFollowsTheFilesContents) {
  auto a = makeClientTls(endpoint(1, trusting("ca.pem")), "t");
  auto b = makeClientTls(endpoint(1, trusting("ca.pem")), "t");
  auto c = makeClientTls(endpoint(1, trusting("other-ca.pem")), "t");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a.value()->identity, b.value()->identity);
  EXPECT_NE(a.value()->identity, c.value()->identity);
}

}  // namespace
}  // namespace regiongate::upstream
