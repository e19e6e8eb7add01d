// The official `openai` npm client through a real gateway (streaming and not): starts the
// Deployment fixture (five mock backends + `regiongate serve`), installs the pinned client with
// `npm ci` into a temp copy of tests/clients/, then runs `node --test openai_client.test.mjs`
// with GATEWAY_URL / REGIONGATE_KEY / ALLOWED_REGIONS. Skipped only when node or npm is missing.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "../admin/run_command.h"
#include "../gateway/gateway_fixture.h"
#include "testing/pki.h"

namespace regiongate::testing {
namespace {

namespace fs = std::filesystem;

struct NodeRun {
  CommandResult result;
  int pass = -1, fail = -1, skipped = -1;
};

int tapCount(const std::string& out, const std::string& what) {
  std::smatch m;
  if (std::regex_search(out, m, std::regex("# " + what + " (\\d+)"))) return std::stoi(m[1]);
  return -1;
}

class OpenAiClient : public ::testing::Test {
protected:
  void SetUp() override {
    node_ = findProgram("node");
    npm_ = findProgram("npm");
    if (node_.empty() || npm_.empty())
      GTEST_SKIP() << "node/npm are not installed (Debian packages nodejs and npm; "
                      "scripts/bootstrap.sh installs them when node is absent)";
    work_ = makeTempDir("clients");
    std::string src = std::string(REGIONGATE_SOURCE_DIR) + "/tests/clients/";
    for (const char* f : {"package.json", "package-lock.json", "openai_client.test.mjs"})
      fs::copy_file(src + f, work_ + "/" + f);
    // The lockfile pins the exact tarball (integrity hash); npm's cache makes reruns offline.
    auto r = runCommand("cd " + shellQuote(work_) + " && timeout 300 " + shellQuote(npm_) +
                        " ci --no-audit --no-fund --prefer-offline --loglevel=error");
    ASSERT_EQ(r.exit_code, 0) << "npm ci failed (is the npm registry or cache reachable?):\n"
                              << r.output;
  }
  void TearDown() override {
    if (!work_.empty()) fs::remove_all(work_);
  }

  // `env`: extra VAR=value words before node (e.g. NODE_EXTRA_CA_CERTS=...).
  NodeRun runNode(uint16_t port, const std::string& key, const std::string& regions,
                  const std::string& scheme = "http", const std::string& env = "") {
    NodeRun run;
    run.result = runCommand(
        "cd " + shellQuote(work_) + " && " + env + " GATEWAY_URL=" + scheme + "://127.0.0.1:" +
        std::to_string(port) + "/v1 REGIONGATE_KEY=" + shellQuote(key) +
        " ALLOWED_REGIONS=" + shellQuote(regions) +
        " timeout 120 " + shellQuote(node_) + " --test --test-reporter=tap openai_client.test.mjs");
    run.pass = tapCount(run.result.output, "pass");
    run.fail = tapCount(run.result.output, "fail");
    run.skipped = tapCount(run.result.output, "skipped");
    return run;
  }

  std::string node_, npm_, work_;
};

TEST_F(OpenAiClient, StreamingAndNonStreamingThroughTheGateway) {
  Deployment d;
  ASSERT_TRUE(d.startGateway());
  auto eu = runNode(d.port(), kEuKey, "eu-central-1,eu-west-1");
  EXPECT_EQ(eu.result.exit_code, 0) << eu.result.output;
  EXPECT_EQ(eu.fail, 0) << eu.result.output;
  EXPECT_EQ(eu.skipped, 0) << eu.result.output;
  EXPECT_GE(eu.pass, 6) << eu.result.output;
  // The requests really went through the gateway to EU backends, and only to them.
  EXPECT_FALSE(d.requestIdsInJurisdiction("EU").empty());
  EXPECT_TRUE(d.requestIdsInJurisdiction("US").empty());

  auto us = runNode(d.port(), kUsKey, "us-east-1,us-west-2");
  EXPECT_EQ(us.result.exit_code, 0) << us.result.output;
  EXPECT_EQ(us.fail, 0) << us.result.output;
  EXPECT_GE(us.pass, 6) << us.result.output;
}

// Ingress TLS: the gateway serves https:// with a certificate from a private CA that Node trusts
// through NODE_EXTRA_CA_CERTS (and, as a check that TLS is verified, refuses without it).
TEST_F(OpenAiClient, OverTlsTrustingACustomCa) {
  TestPki pki;
  ASSERT_TRUE(pki.make()) << pki.error();
  Deployment d;
  GatewaySettings s;
  s.extra_yaml = "tls: { cert_file: " + pki.path("server.pem") + ", key_file: " +
                 pki.path("server.key") + " }\n";
  ASSERT_TRUE(d.startGateway(s));
  auto eu = runNode(d.port(), kEuKey, "eu-central-1,eu-west-1", "https",
                    "NODE_EXTRA_CA_CERTS=" + shellQuote(pki.path("ca.pem")));
  EXPECT_EQ(eu.result.exit_code, 0) << eu.result.output;
  EXPECT_EQ(eu.fail, 0) << eu.result.output;
  EXPECT_EQ(eu.skipped, 0) << eu.result.output;
  EXPECT_GE(eu.pass, 6) << eu.result.output;
  EXPECT_FALSE(d.requestIdsInJurisdiction("EU").empty());
  EXPECT_TRUE(d.requestIdsInJurisdiction("US").empty());

  auto untrusted = runNode(d.port(), kEuKey, "eu-central-1,eu-west-1", "https");
  EXPECT_NE(untrusted.result.exit_code, 0) << untrusted.result.output;
  EXPECT_GE(untrusted.fail, 2) << untrusted.result.output;
}

// The client test is able to fail: told that only the US is acceptable, the EU tenant's
// completions are reported as served in the wrong region.
TEST_F(OpenAiClient, ClientTestDetectsAWrongRegion) {
  Deployment d;
  ASSERT_TRUE(d.startGateway());
  auto run = runNode(d.port(), kEuKey, "us-east-1");
  EXPECT_NE(run.result.exit_code, 0) << run.result.output;
  EXPECT_GE(run.fail, 2) << run.result.output;
}

}  // namespace
}  // namespace regiongate::testing
