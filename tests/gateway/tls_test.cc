// TLS on both sides of a real gateway, against real processes on loopback:
//  - upstream: nginx (TLS, certificates made by the openssl tool) in front of the Deployment's
//    mock backends. A valid chain passes; a wrong CA, a wrong host name and an expired
//    certificate are each upstream_tls_error, retried inside the pool only, and no request
//    reaches any backend (the backends' request logs and nginx's access logs say so); mTLS
//    presents the configured client certificate (nginx logs its subject).
//  - ingress: the data plane and the admin listener serve TLS (admin with client certificates);
//    plaintext on the TLS port is answered and closed; certificates rotate on SIGHUP and on
//    POST /admin/reload while clients keep sending, without one failed request.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include "gateway_fixture.h"
#include "testing/https_client.h"
#include "testing/nginx.h"
#include "testing/pki.h"

namespace regiongate::testing {
namespace {

namespace fs = std::filesystem;

const std::string kChatBody =
    R"({"model":"llama-3.1-8b","messages":[{"role":"user","content":"hello"}]})";

class GatewayTls : public ::testing::Test {
protected:
  void SetUp() override {
    if (Nginx::binary().empty()) GTEST_SKIP() << "nginx is not installed (nginx-light)";
    ASSERT_TRUE(pki_.make()) << pki_.error();
  }

  // nginx TLS servers in front of backend fra-a (EU).
  void startNginx() {
    uint16_t fra = d_.backendByName("fra-a").port;
    auto srv = [&](std::string name, std::string cert, std::string client_ca = "") {
      return NginxTlsServer{name, pki_.path(cert + ".pem"), pki_.path(cert + ".key"),
                            client_ca.empty() ? "" : pki_.path(client_ca), fra};
    };
    ASSERT_TRUE(nginx_.start({srv("valid", "server"), srv("wronghost", "wrong-host"),
                              srv("expired", "expired"), srv("mtls", "server", "ca.pem")}))
        << nginx_.errorLog();
  }

  // A config whose EU pool is two https endpoints on `server` (trusting `ca`, expecting
  // `name`), and whose US pool is the plain backend iad-a. `tls_extra` goes inside each
  // endpoint's tls mapping; `top` is added at the top level.
  std::string config(const std::string& server, const std::string& ca, const std::string& name,
                     const std::string& tls_extra = "", const std::string& top = "") {
    std::ostringstream y;
    y << "listen: 127.0.0.1:0\nadmin_listen: 127.0.0.1:0\nworkers: 2\n"
      << "jurisdictions:\n  EU: { preset: EEA }\n  US: { countries: [US] }\n"
      << "regions:\n  eu-central-1: { country: DE }\n  us-east-1: { country: US }\nendpoints:\n";
    for (const char* n : {"eu-tls-a", "eu-tls-b"})
      y << "  - { name: " << n << ", url: \"https://127.0.0.1:" << nginx_.port(server)
        << "\", region: eu-central-1, models: [llama-3.1-8b@v1], evidence: endpoint,"
        << " tls: { ca_file: " << pki_.path(ca) << ", server_name: " << name << tls_extra << " } }\n";
    y << "  - { name: iad-a, url: \"http://127.0.0.1:" << d_.backendByName("iad-a").port
      << "\", region: us-east-1, models: [llama-3.1-8b@v1], evidence: endpoint }\n"
      << "tenants:\n  - { name: eu-tenant, key_sha256: " << sha256Hex(kEuKey)
      << ", jurisdiction: EU }\n  - { name: us-tenant, key_sha256: " << sha256Hex(kUsKey)
      << ", jurisdiction: US }\n"
      << "routing: { policy: round_robin, retries: 2, per_try_timeout_ms: 3000 }\n"
      << "health: { interval_ms: 0, base_ejection_ms: 60000, max_ejection_ms: 60000 }\n"
      << "audit: { dir: " << d_.dir() << "/audit, sink: sqlite }\n" << top;
    return y.str();
  }

  HttpReply euChat(const std::string& id) {
    HttpClient c(d_.port());
    return c.post("/v1/chat/completions", kChatBody,
                  {{"authorization", "Bearer " + kEuKey}, {"x-test-id", id}});
  }
  // Lines of an nginx access log that start with a request id the gateway sent (waits for the
  // first: nginx logs a request after answering it).
  std::vector<std::string> nginxLines(const std::string& server, const std::string& id) {
    return nginx_.awaitLines(server, id + " ", 1);
  }
  std::set<std::string> idsAtBackends() {
    std::set<std::string> all;
    for (const auto& b : d_.backends())
      for (const auto& id : d_.requestIdsAt(b.name)) all.insert(id);
    return all;
  }

  Deployment d_;
  TestPki pki_;
  Nginx nginx_;
};

TEST_F(GatewayTls, UpstreamValidChainPasses) {
  startNginx();
  ASSERT_TRUE(d_.startGatewayWithConfig(config("valid", "ca.pem", "upstream.test")));
  for (int i = 0; i < 4; ++i) {
    auto r = euChat("ok");
    ASSERT_EQ(r.status, 200) << r.body;
    std::string id = r.header("x-regiongate-request-id");
    EXPECT_EQ(r.header("x-regiongate-endpoint").rfind("eu-tls-", 0), 0u);
    EXPECT_TRUE(d_.requestIdsAt("fra-a").count(id)) << "the backend behind nginx got it";
    auto lines = nginxLines("valid", id);
    ASSERT_EQ(lines.size(), 1u) << "nginx (TLS) saw it";
    EXPECT_NE(lines[0].find("TLSv1.3"), std::string::npos) << lines[0];
  }
  EXPECT_TRUE(d_.requestIdsInJurisdiction("US").empty());
}

TEST_F(GatewayTls, UpstreamVerificationFailuresAreTypedAndStayInThePool) {
  startNginx();
  struct Case {
    const char* what;
    const char* server;
    const char* ca;
    const char* name;
  };
  for (auto c : {Case{"wrong CA", "valid", "other-ca.pem", "upstream.test"},
                 Case{"wrong host name", "wronghost", "ca.pem", "upstream.test"},
                 Case{"expired", "expired", "ca.pem", "upstream.test"}}) {
    SCOPED_TRACE(c.what);
    ASSERT_TRUE(d_.startGatewayWithConfig(config(c.server, c.ca, c.name)));
    auto before = idsAtBackends();
    auto r = euChat(c.what);
    EXPECT_EQ(r.status, 502) << r.body;
    EXPECT_NE(r.body.find("\"code\":\"upstream_tls_error\""), std::string::npos) << r.body;
    // Both EU endpoints were tried (retries stay in the pool); the US one never.
    auto m = d_.metrics();
    EXPECT_EQ(Deployment::metricSum(m, "regiongate_upstream_attempts_total",
                                    {"outcome=\"upstream_tls_error\""}),
              2)
        << m;
    EXPECT_EQ(Deployment::metricSum(m, "regiongate_upstream_attempts_total", {"endpoint=\"iad-a\""}), 0);
    EXPECT_EQ(idsAtBackends(), before) << "a request reached a backend";
    EXPECT_TRUE(d_.requestIdsInJurisdiction("US").empty());
    for (const char* s : {"valid", "wronghost", "expired"})
      for (const auto& l : nginx_.accessLog(s))
        EXPECT_EQ(l.rfind("rg-", 0), std::string::npos) << "nginx forwarded " << l;
  }
}

TEST_F(GatewayTls, UpstreamMutualTls) {
  startNginx();
  ASSERT_TRUE(d_.startGatewayWithConfig(
      config("mtls", "ca.pem", "upstream.test",
             ", client_cert_file: " + pki_.path("client.pem") +
                 ", client_key_file: " + pki_.path("client.key"))));
  auto r = euChat("mtls");
  ASSERT_EQ(r.status, 200) << r.body;
  std::string id = r.header("x-regiongate-request-id");
  auto lines = nginxLines("mtls", id);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("CN=gateway-client"), std::string::npos) << lines[0];
  EXPECT_TRUE(d_.requestIdsAt("fra-a").count(id));

  // Without the client certificate nginx refuses: nothing reaches the backend.
  ASSERT_TRUE(d_.startGatewayWithConfig(config("mtls", "ca.pem", "upstream.test")));
  auto before = idsAtBackends();
  auto refused = euChat("mtls-without-cert");
  EXPECT_NE(refused.status, 200) << refused.body;
  EXPECT_EQ(idsAtBackends(), before);
}

// `regiongate check` warns about an endpoint reached in plaintext beyond loopback (prompts can be
// read and evidence forged on the path), names it, and names neither the loopback nor the https
// one. Warnings do not fail the check.
TEST(RegiongateCheck, WarnsAboutPlaintextBeyondLoopback) {
  std::string dir = makeTempDir("check");
  std::string cfg = dir + "/check.yaml";
  std::ofstream(cfg)
      << "listen: 127.0.0.1:0\nadmin_listen: 127.0.0.1:0\n"
      << "jurisdictions:\n  EU: { preset: EEA }\nregions:\n  eu-central-1: { country: DE }\n"
      << "endpoints:\n"
      << "  - { name: remote-plain, url: 'http://inference.internal:8000', region: eu-central-1,"
         " models: [llama-3.1-8b@v1] }\n"
      << "  - { name: local-plain, url: 'http://127.0.0.1:9', region: eu-central-1,"
         " models: [llama-3.1-8b@v1] }\n"
      << "  - { name: remote-tls, url: 'https://inference.internal:8443', region: eu-central-1,"
         " models: [llama-3.1-8b@v1] }\n"
      << "tenants:\n  - { name: eu-tenant, key_sha256: " << sha256Hex(kEuKey)
      << ", jurisdiction: EU }\n";
  ChildProcess check;
  ASSERT_TRUE(check.start({REGIONGATE_BIN, "check", "--config", cfg}));
  check.waitForLine("\x01never", 30000);  // collects the whole output
  EXPECT_EQ(check.wait(30000), 0) << check.output();
  const std::string& out = check.output();
  size_t warning = out.find("plaintext_upstream");
  ASSERT_NE(warning, std::string::npos) << out;
  EXPECT_NE(out.find("'remote-plain' is reached in plaintext"), std::string::npos) << out;
  EXPECT_EQ(out.find("'local-plain' is reached in plaintext"), std::string::npos) << out;
  EXPECT_EQ(out.find("'remote-tls' is reached in plaintext"), std::string::npos) << out;
  fs::remove_all(dir);
}

// ---------------------------------------------------------------- ingress

class IngressTls : public GatewayTls {
protected:
  // The Deployment's usual config plus TLS on the data plane (gw.pem/gw.key, copies of
  // server.pem) and, with `admin_mtls`, on the admin listener requiring client certificates.
  bool start(bool admin_mtls = false) {
    fs::copy_file(pki_.path("server.pem"), pki_.path("gw.pem"));
    fs::copy_file(pki_.path("server.key"), pki_.path("gw.key"));
    GatewaySettings s;
    s.admin_yaml = adminTokensYaml();
    s.extra_yaml = "tls: { cert_file: " + pki_.path("gw.pem") + ", key_file: " + pki_.path("gw.key") + " }\n";
    if (admin_mtls)
      s.extra_yaml += "admin_tls: { cert_file: " + pki_.path("gw.pem") + ", key_file: " +
                      pki_.path("gw.key") + ", client_ca_file: " + pki_.path("ca.pem") + " }\n";
    return d_.startGatewayWithConfig(d_.configYaml(s));
  }
  // Replaces gw.pem/gw.key by `name`.pem/.key (each by rename: a reader sees old or new).
  void installCertificate(const std::string& name) {
    for (const char* ext : {".pem", ".key"}) {
      fs::copy_file(pki_.path(name + ext), pki_.path(std::string("next") + ext),
                    fs::copy_options::overwrite_existing);
      fs::rename(pki_.path(std::string("next") + ext), pki_.path(std::string("gw") + ext));
    }
  }
  // Bounded: until a new connection presents a certificate with common name `cn`.
  bool waitForCertificate(const std::string& cn) {
    for (int i = 0; i < 500; ++i) {
      HttpsClient probe(d_.port(), pki_.path("ca.pem"));
      std::string err;
      if (probe.connect(err) && probe.peerCommonName() == cn) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a condition, bounded
    }
    return false;
  }
  std::vector<std::pair<std::string, std::string>> euAuth() const {
    return {{"authorization", "Bearer " + kEuKey}};
  }
};

TEST_F(IngressTls, ServesHttpsAndClosesPlaintextCleanly) {
  ASSERT_TRUE(start());
  HttpsClient c(d_.port(), pki_.path("ca.pem"));
  auto r = c.post("/v1/chat/completions", kChatBody, euAuth());
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_EQ(c.peerCommonName(), "upstream.test");
  EXPECT_TRUE(d_.requestIdsInJurisdiction("EU").count(r.header("x-regiongate-request-id")));

  // Plain HTTP on the TLS port: a plaintext 400 naming the problem, then the close.
  HttpClient plain(d_.port());
  auto p = plain.post("/v1/chat/completions", kChatBody, euAuth());
  EXPECT_EQ(p.status, 400) << p.error;
  EXPECT_NE(p.body.find("plaintext_on_tls_port"), std::string::npos) << p.body;
  EXPECT_EQ(p.header("connection"), "close");
  EXPECT_EQ(Deployment::metricSum(d_.metrics(), "regiongate_limit_rejections_total",
                                  {"kind=\"plaintext_on_tls_port\""}),
            1);
  // The gateway still serves TLS afterwards.
  EXPECT_EQ(c.post("/v1/chat/completions", kChatBody, euAuth()).status, 200);
}

TEST_F(IngressTls, CertificatesRotateUnderLoadWithoutOneFailedRequest) {
  ASSERT_TRUE(start());
  ASSERT_TRUE(pki_.issue("rotated-1", "rotated-1.test")) << pki_.error();
  ASSERT_TRUE(pki_.issue("rotated-2", "rotated-2.test")) << pki_.error();
  const int kThreads = 3, kPerThread = 150;
  std::atomic<int> ok{0}, failed{0}, started{0};
  std::atomic<bool> old_connection_survived{false};
  std::mutex mu;
  std::string first_failure;
  std::set<std::string> names_seen;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      HttpsClient c(d_.port(), pki_.path("ca.pem"));
      std::string first_cn;
      for (int i = 0; i < kPerThread; ++i) {
        // Thread 0 keeps one connection for the whole run; the others reconnect every 5.
        if (t != 0 && i % 5 == 0) c.close();
        auto r = c.post("/v1/chat/completions", kChatBody, euAuth());
        ++started;
        std::lock_guard lock(mu);
        names_seen.insert(c.peerCommonName());
        if (r.status == 200) {
          ++ok;
        } else {
          ++failed;
          if (first_failure.empty()) first_failure = std::to_string(r.status) + " " + r.error + r.body;
        }
        if (t == 0 && i == 0) first_cn = c.peerCommonName();
        if (t == 0 && i == kPerThread - 1)
          old_connection_survived = c.connections() == 1 && first_cn == "upstream.test";
      }
    });
  // Rotate twice while the clients run: SIGHUP, then POST /admin/reload.
  for (int i = 0; i < 10000 && started < 60; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  installCertificate("rotated-1");
  d_.gatewayProcess().signal(SIGHUP);
  EXPECT_TRUE(waitForCertificate("rotated-1.test")) << "SIGHUP did not rotate the certificate";
  installCertificate("rotated-2");
  HttpClient admin(d_.adminPort());
  EXPECT_EQ(admin.post("/admin/reload", "", adminAuth(kAdminOperateToken)).status, 200);
  EXPECT_TRUE(waitForCertificate("rotated-2.test")) << "/admin/reload did not rotate it";
  for (auto& th : threads) th.join();
  EXPECT_EQ(failed.load(), 0) << first_failure;
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_TRUE(old_connection_survived) << "a connection from before the rotation was dropped";
  EXPECT_TRUE(names_seen.count("upstream.test"));
  EXPECT_TRUE(names_seen.count("rotated-2.test")) << "clients never saw the new certificate";
}

TEST_F(IngressTls, AdminListenerRequiresAClientCertificate) {
  ASSERT_TRUE(start(/*admin_mtls=*/true));
  std::string err;
  HttpsClient anonymous(d_.adminPort(), pki_.path("ca.pem"));
  bool served = anonymous.connect(err) &&
                anonymous.get("/admin/status", adminAuth(kAdminReadToken)).status == 200;
  EXPECT_FALSE(served) << "the admin listener served a client without a certificate";

  HttpsClient operator_(d_.adminPort(), pki_.path("ca.pem"), pki_.path("client.pem"),
                        pki_.path("client.key"));
  auto st = operator_.get("/admin/status", adminAuth(kAdminReadToken));
  EXPECT_EQ(st.status, 200) << st.error;
  EXPECT_NE(st.body.find("\"generation\""), std::string::npos);
  // The rollout CLI reaches the same listener with the CA and the client certificate.
  auto rolloutStatus = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {REGIONGATE_BIN, "rollout", "status", "--admin",
                                     "127.0.0.1:" + std::to_string(d_.adminPort()), "--tls-ca",
                                     pki_.path("ca.pem")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ChildProcess cli;
    if (!cli.start(argv)) return -1;
    cli.waitForLine("\x01never", 30000);  // collects the whole output
    return cli.wait(30000);
  };
  ::setenv("REGIONGATE_ADMIN_TOKEN", kAdminReadToken.c_str(), 1);
  EXPECT_EQ(rolloutStatus({"--tls-cert", pki_.path("client.pem"), "--tls-key",
                           pki_.path("client.key")}),
            0);
  EXPECT_NE(rolloutStatus({}), 0) << "the CLI was served without a client certificate";
  ::unsetenv("REGIONGATE_ADMIN_TOKEN");
  // A bad certificate file refuses the reload; the old certificate stays.
  std::ofstream(pki_.path("gw.pem")) << "not a certificate\n";
  auto bad = operator_.post("/admin/reload", "", adminAuth(kAdminOperateToken));
  EXPECT_EQ(bad.status, 409) << bad.body;
  EXPECT_NE(bad.body.find("tls.cert_file"), std::string::npos) << bad.body;
  EXPECT_TRUE(waitForCertificate("upstream.test"));
}

}  // namespace
}  // namespace regiongate::testing
