// Endpoint credentials through a real gateway: read from a file at load, re-read on reload,
// sent upstream (a stand-in that accepts only the right key checks it), and never visible in
// /admin/status, /metrics, the audit store or the gateway's log.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/hash.h"
#include "testing/http_client.h"
#include "testing/process.h"

namespace regiongate {
namespace {

using testing::ChildProcess;
using testing::HttpClient;

// The operate token the config's admin section stores as SHA-256 (reload needs it).
const std::string kAdminToken = "rg-admin-credentials-test";
std::vector<std::pair<std::string, std::string>> admin() {
  return {{"authorization", "Bearer " + kAdminToken}};
}

const char* kPython = "/usr/bin/python3";
const std::string kTenantKey = "sk-tenant-credential-test";
const std::string kGoodSecret = "upstream-secret-7f3a9c";  // what the stand-in accepts
const std::string kOldSecret = "upstream-secret-old-1b2c";

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every file under `dir`, concatenated (the audit store: SQLite database and WAL).
std::string readTree(const std::string& dir) {
  std::string all;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) all += readFile(e.path().string());
  return all;
}

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kPython, X_OK) != 0) GTEST_SKIP() << "no " << kPython;
    dir_ = testing::makeTempDir("creds");
    ASSERT_FALSE(dir_.empty());
    // The Bedrock stand-in accepts exactly one API key as a bearer token: what the gateway sends
    // as Authorization for an openai_compatible endpoint with a credential.
    ASSERT_TRUE(standin_.start(
        {kPython, std::string(REGIONGATE_SOURCE_DIR) + "/tests/providers/provider_standin.py",
         "--api", "bedrock", "--api-key", kGoodSecret, "--geo", "eu-central-1"},
        dir_ + "/standin.stderr"));
    std::string line = standin_.waitForLine("listening on ", 30000);
    ASSERT_FALSE(line.empty()) << readFile(dir_ + "/standin.stderr");
    upstream_port_ = std::stoi(line.substr(13));
  }

  std::string config() const {
    return "listen: 127.0.0.1:0\nadmin_listen: 127.0.0.1:0\nworkers: 1\n"
           "jurisdictions: { EU: { preset: EEA } }\n"
           "regions: { eu-central-1: { country: DE } }\n"
           "endpoints:\n"
           "  - { name: up, url: 'http://127.0.0.1:" + std::to_string(upstream_port_) +
           "/openai', region: eu-central-1, models: [m], credential_file: '" + dir_ +
           "/key', evidence: 'header:x-standin-region' }\n"
           "tenants:\n  - { name: t, key_sha256: " + sha256Hex(kTenantKey) + ", jurisdiction: EU }\n"
           "health: { interval_ms: 0 }\n"
           "audit: { dir: " + dir_ + "/audit }\n"
           "admin: { tokens: [ { name: ops, sha256: " + sha256Hex(kAdminToken) +
           ", scope: operate } ] }\n";
  }

  bool startGateway() {
    std::ofstream(dir_ + "/gw.yaml") << config();
    if (!gateway_.start({REGIONGATE_BIN, "serve", "--config", dir_ + "/gw.yaml", "--log-level",
                         "debug"},
                        dir_ + "/gateway.stderr"))
      return false;
    std::string line = gateway_.waitForLine("listening ", 30000);
    if (line.empty()) return false;
    auto d = line.find("data=");
    auto a = line.find(" admin=");
    std::string data = line.substr(d + 5, a - d - 5);
    std::string admin = line.substr(a + 7);
    port_ = static_cast<uint16_t>(std::stoi(data.substr(data.rfind(':') + 1)));
    admin_port_ = static_cast<uint16_t>(std::stoi(admin.substr(admin.rfind(':') + 1)));
    return true;
  }

  int chat(const std::string& content) {
    return HttpClient(port_)
        .post("/v1/chat/completions",
              R"({"model":"m","messages":[{"role":"user","content":")" + content + "\"}]}",
              {{"authorization", "Bearer " + kTenantKey}})
        .status;
  }

  std::string dir_;
  ChildProcess standin_, gateway_;
  int upstream_port_ = 0;
  uint16_t port_ = 0, admin_port_ = 0;
};

TEST_F(CredentialsTest, ReloadRereadsTheFileAndNoSurfaceShowsTheSecret) {
  std::ofstream(dir_ + "/key") << kOldSecret << "\n";
  ASSERT_TRUE(startGateway()) << readFile(dir_ + "/gateway.stderr");
  // The old key reaches the provider and is refused there.
  EXPECT_NE(chat("with the old key"), 200);

  // Rotate the file, reload: the new key is read and accepted.
  std::ofstream(dir_ + "/key") << kGoodSecret << "\n";
  auto rr = HttpClient(admin_port_).post("/admin/reload", "", admin());
  ASSERT_EQ(rr.status, 200) << rr.body;
  EXPECT_EQ(chat("with the new key"), 200);
  std::string seen = HttpClient(upstream_port_).get("/_standin/requests").body;
  EXPECT_NE(seen.find("\"verdict\": \"bad_api_key\""), std::string::npos) << seen;
  EXPECT_NE(seen.find("\"verdict\": \"ok\""), std::string::npos) << seen;

  auto status = HttpClient(admin_port_).get("/admin/status", admin());
  ASSERT_EQ(status.status, 200);
  EXPECT_NE(status.body.find("\"credential_source\":\"file:" + dir_ + "/key\""), std::string::npos)
      << status.body;
  auto metrics = HttpClient(admin_port_).get("/metrics", admin());
  ASSERT_EQ(metrics.status, 200);
  gateway_.stop();  // flush the audit store and the log
  std::string surfaces = status.body + metrics.body + readTree(dir_ + "/audit") +
                         readFile(dir_ + "/gateway.stderr") + gateway_.output();
  for (const auto& secret : {kGoodSecret, kOldSecret})
    EXPECT_EQ(surfaces.find(secret), std::string::npos) << secret << " leaked";
  EXPECT_EQ(surfaces.find(kTenantKey), std::string::npos);
}

TEST_F(CredentialsTest, InlineSecretIsRefusedAtStartWithoutEchoingIt) {
  std::string yaml = config();
  auto pos = yaml.find("credential_file: '");
  yaml.replace(pos, yaml.find("', evidence") + 1 - pos, "credential: 'Bearer inline-secret-99'");
  std::ofstream(dir_ + "/gw.yaml") << yaml;
  ASSERT_TRUE(gateway_.start({REGIONGATE_BIN, "serve", "--config", dir_ + "/gw.yaml"},
                             dir_ + "/gateway.stderr"));
  EXPECT_EQ(gateway_.wait(30000), 2);
  std::string err = readFile(dir_ + "/gateway.stderr");
  EXPECT_NE(err.find("an inline secret in the config is refused"), std::string::npos) << err;
  EXPECT_EQ(err.find("inline-secret-99"), std::string::npos) << err;
}

}  // namespace
}  // namespace regiongate
