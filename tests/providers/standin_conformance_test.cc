// The provider adapters against local stand-ins that speak each provider's wire format and check
// what the provider checks (tests/providers/provider_standin.py, botocore for SigV4): what the
// adapter builds is accepted, what it omits is rejected, and the evidence each stand-in returns
// is read back and judged against the provider geographies table.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <string>

#include "config/loader.h"
#include "http/sse.h"
#include "residency/evidence.h"
#include "testing/http_client.h"
#include "testing/process.h"
#include "upstream/provider_adapter.h"

namespace regiongate {
namespace {

using testing::HttpClient;
using testing::HttpReply;
using upstream::providerAdapter;
using upstream::AttemptInput;
using upstream::ProviderReadout;

const char* kPython = "/usr/bin/python3";  // Debian's, with python3-botocore
const char* kAwsSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

// A stand-in process on a free loopback port.
class StandIn {
 public:
  bool start(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {
        kPython, std::string(REGIONGATE_SOURCE_DIR) + "/tests/providers/provider_standin.py"};
    argv.insert(argv.end(), args.begin(), args.end());
    if (!proc_.start(argv)) return false;
    std::string line = proc_.waitForLine("listening on ", 30000);
    if (line.empty()) return false;
    port_ = static_cast<uint16_t>(std::stoi(line.substr(13)));
    return true;
  }
  uint16_t port() const { return port_; }
  // What the stand-in received, as its JSON list.
  std::string received() { return HttpClient(port_).get("/_standin/requests").body; }

 private:
  testing::ChildProcess proc_;
  uint16_t port_ = 0;
};

ConfigPtr config(const std::string& endpoints) {
  ::setenv("RG_STANDIN_KEY", "standin-key-1", 1);
  ::setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", kAwsSecret, 1);
  ::unsetenv("AWS_SESSION_TOKEN");
  auto r = loadConfigString(
      "jurisdictions:\n  EEA: { preset: EEA }\n  SE: { countries: [SE] }\n  US: { countries: [US] }\n"
      "regions:\n  swc: { country: SE }\n  fra: { country: DE }\n  claude-us: { country: US }\n"
      "endpoints:\n" + endpoints,
      "c.yaml");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : nullptr;
}

// Sends what the adapter built (plus the headers the request path always writes).
HttpReply send(uint16_t port, const upstream::UpstreamRequest& r, std::string_view client_body) {
  std::vector<std::pair<std::string, std::string>> headers(r.headers.begin(), r.headers.end());
  headers.emplace_back("x-regiongate-request-id", "req-1");
  return HttpClient(port).post(r.target, r.body ? *r.body : std::string(client_body), headers);
}

residency::EvidenceKind judge(const Config& c, const char* jurisdiction, const ProviderReadout& o,
                              UpstreamApi api) {
  std::optional<std::string_view> v;
  if (o.evidence) v = *o.evidence;
  return residency::judgeEvidence(c, *c.jurisdiction(jurisdiction), v, api).kind;
}

class StandInTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kPython, X_OK) != 0) GTEST_SKIP() << "no " << kPython;
  }
};

TEST_F(StandInTest, AzureAcceptsTheAdaptersApiKeyAndReportsItsRegion) {
  StandIn azure;
  ASSERT_TRUE(azure.start({"--api", "azure", "--key", "standin-key-1", "--geo", "Sweden Central"}));
  auto cfg = config(
      "  - { name: az, url: 'http://127.0.0.1:" + std::to_string(azure.port()) +
      "', region: swc, models: [gpt-4o], api: azure_openai, credential_env: RG_STANDIN_KEY,"
      " azure: { deployment: gpt4o, api_version: 2024-10-21 } }\n");
  ASSERT_TRUE(cfg);
  const auto& ep = cfg->endpoints[0];
  const auto& az = providerAdapter(UpstreamApi::AzureOpenAi);
  std::string body = R"({"model":"gpt-4o","messages":[{"role":"user","content":"hello"}]})";
  auto req = az.buildRequest(ep, AttemptInput{"/v1/chat/completions", body, "EEA", "127.0.0.1"});
  ASSERT_TRUE(req.ok());
  auto reply = send(azure.port(), *req, body);
  ASSERT_EQ(reply.status, 200) << reply.body;
  boost::beast::http::fields head;
  head.set("x-ms-region", reply.header("x-ms-region"));
  ProviderReadout out;
  az.readHead(ep, head, out);
  az.readJson(reply.body, ep.evidence.path, out);
  EXPECT_EQ(out.evidence.value_or(""), "Sweden Central");
  EXPECT_EQ(out.prompt_tokens, 7);
  EXPECT_EQ(judge(*cfg, "EEA", out, UpstreamApi::AzureOpenAi), residency::EvidenceKind::Ok);
  EXPECT_EQ(judge(*cfg, "US", out, UpstreamApi::AzureOpenAi),
            residency::EvidenceKind::OutsideJurisdiction);

  // Without the api-key header (what a generic OpenAI client would send): 401.
  auto bare = HttpClient(azure.port()).post(req->target, body, {{"Authorization", "Bearer x"}});
  EXPECT_EQ(bare.status, 401) << bare.body;
  std::string seen = azure.received();
  EXPECT_NE(seen.find("\"path\": \"/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21\""),
            std::string::npos)
      << seen;
  EXPECT_NE(seen.find("\"verdict\": \"missing_api_key\""), std::string::npos) << seen;
  EXPECT_EQ(seen.find("standin-key-1"), std::string::npos);  // the stand-in redacts credentials
}

TEST_F(StandInTest, AzureRegionOutsideTheJurisdictionIsAViolation) {
  StandIn azure;
  ASSERT_TRUE(azure.start({"--api", "azure", "--key", "standin-key-1", "--geo", "East US"}));
  auto cfg = config("  - { name: az, url: 'http://127.0.0.1:" + std::to_string(azure.port()) +
                    "', region: swc, models: [gpt-4o], api: azure_openai, credential_env: RG_STANDIN_KEY }\n");
  ASSERT_TRUE(cfg);
  const auto& az = providerAdapter(UpstreamApi::AzureOpenAi);
  auto req = az.buildRequest(cfg->endpoints[0], AttemptInput{"/v1/chat/completions", "{}", "SE", "127.0.0.1"});
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(req->target, "/openai/v1/chat/completions");
  auto reply = send(azure.port(), *req, "{}");
  ASSERT_EQ(reply.status, 200) << reply.body;
  boost::beast::http::fields head;
  head.set("x-ms-region", reply.header("x-ms-region"));
  ProviderReadout out;
  az.readHead(cfg->endpoints[0], head, out);
  EXPECT_EQ(judge(*cfg, "SE", out, UpstreamApi::AzureOpenAi),
            residency::EvidenceKind::OutsideJurisdiction);
}

TEST_F(StandInTest, AnthropicChecksHeadersAndReturnsInferenceGeoInStreams) {
  StandIn claude;
  ASSERT_TRUE(claude.start({"--api", "anthropic", "--key", "standin-key-1"}));
  auto cfg = config("  - { name: claude, url: 'http://127.0.0.1:" + std::to_string(claude.port()) +
                    "', region: claude-us, models: [claude], api: anthropic,"
                    " credential_env: RG_STANDIN_KEY }\n");
  ASSERT_TRUE(cfg);
  const auto& ep = cfg->endpoints[0];
  const auto& an = providerAdapter(UpstreamApi::Anthropic);
  std::string body = R"({"model":"claude","max_tokens":16,"stream":true,)"
                     R"("messages":[{"role":"user","content":"hello"}]})";
  auto req = an.buildRequest(ep, AttemptInput{"/v1/messages", body, "US", "127.0.0.1", true});
  ASSERT_TRUE(req.ok()) << req.error().message;
  auto reply = send(claude.port(), *req, body);
  ASSERT_EQ(reply.status, 200) << reply.body;
  ProviderReadout out;
  std::vector<std::string> types;
  http::SseParser sse;
  ASSERT_TRUE(sse.feed(reply.body, [&](std::string_view data) {
    an.readJson(data, ep.evidence.path, out);
    auto t = data.find("\"type\": \"");
    if (t != std::string_view::npos) types.emplace_back(data.substr(t + 9, data.find('"', t + 9) - t - 9));
  }));
  for (const char* want : {"message_start", "content_block_delta", "message_delta", "message_stop"})
    EXPECT_NE(std::find(types.begin(), types.end(), want), types.end()) << want;
  EXPECT_EQ(out.evidence.value_or(""), "us");  // the injected inference_geo, echoed back
  EXPECT_EQ(out.prompt_tokens, 9);
  EXPECT_EQ(out.completion_tokens, 4);
  EXPECT_EQ(judge(*cfg, "US", out, UpstreamApi::Anthropic), residency::EvidenceKind::Ok);
  std::string seen = claude.received();
  EXPECT_NE(seen.find("\\\"inference_geo\\\":\\\"us\\\""), std::string::npos) << seen;

  // What the provider rejects: no x-api-key, or no anthropic-version.
  auto no_key = HttpClient(claude.port()).post("/v1/messages", *req->body,
                                              {{"anthropic-version", "2023-06-01"}});
  EXPECT_EQ(no_key.status, 401) << no_key.body;
  auto no_version = HttpClient(claude.port()).post("/v1/messages", *req->body,
                                                  {{"x-api-key", "standin-key-1"}});
  EXPECT_EQ(no_version.status, 400) << no_version.body;
  EXPECT_NE(no_version.body.find("anthropic-version"), std::string::npos);
}

TEST_F(StandInTest, AnthropicAnsweringFromOutsideIsAViolation) {
  StandIn claude;
  ASSERT_TRUE(claude.start({"--api", "anthropic", "--key", "standin-key-1", "--geo", "global"}));
  auto cfg = config("  - { name: claude, url: 'http://127.0.0.1:" + std::to_string(claude.port()) +
                    "', region: claude-us, models: [claude], api: anthropic,"
                    " credential_env: RG_STANDIN_KEY }\n");
  ASSERT_TRUE(cfg);
  const auto& an = providerAdapter(UpstreamApi::Anthropic);
  std::string body = R"({"model":"claude","max_tokens":16,"messages":[{"role":"user","content":"x"}]})";
  auto req = an.buildRequest(cfg->endpoints[0], AttemptInput{"/v1/messages", body, "US", "127.0.0.1"});
  ASSERT_TRUE(req.ok());
  auto reply = send(claude.port(), *req, body);
  ASSERT_EQ(reply.status, 200) << reply.body;
  ProviderReadout out;
  an.readJson(reply.body, cfg->endpoints[0].evidence.path, out);
  EXPECT_EQ(out.evidence.value_or(""), "global");
  EXPECT_EQ(judge(*cfg, "US", out, UpstreamApi::Anthropic),
            residency::EvidenceKind::OutsideJurisdiction);
}

TEST_F(StandInTest, BedrockVerifiesTheSigV4SignatureWithBotocore) {
  StandIn bedrock;
  ASSERT_TRUE(bedrock.start({"--api", "bedrock", "--access-key", "AKIDEXAMPLE", "--secret-key",
                             kAwsSecret, "--region", "eu-central-1", "--api-key", "br-api-key",
                             "--geo", "eu-west-3"}));
  ::setenv("RG_BEDROCK_KEY", "br-api-key", 1);
  auto cfg = config("  - { name: br, url: 'http://127.0.0.1:" + std::to_string(bedrock.port()) +
                    "/openai', region: fra, models: [eu.m], api: bedrock,"
                    " bedrock: { region: eu-central-1 } }\n"
                    "  - { name: key, url: 'http://127.0.0.1:" + std::to_string(bedrock.port()) +
                    "/openai', region: fra, models: [eu.m], api: bedrock,"
                    " credential_env: RG_BEDROCK_KEY, bedrock: { region: eu-central-1, auth: api_key } }\n");
  ASSERT_TRUE(cfg);
  const auto& br = providerAdapter(UpstreamApi::Bedrock);
  std::string body = R"({"model":"eu.m","messages":[{"role":"user","content":"hello"}]})";
  AttemptInput in{"/v1/chat/completions", body, "EEA", "127.0.0.1", false, std::time(nullptr)};
  auto req = br.buildRequest(cfg->endpoints[0], in);
  ASSERT_TRUE(req.ok()) << req.error().message;
  auto ok = send(bedrock.port(), *req, body);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.header("x-standin-region"), "eu-west-3");

  // A signature over other bytes than those sent is rejected.
  auto tampered = send(bedrock.port(), *req, body + " ");
  EXPECT_EQ(tampered.status, 403) << tampered.body;
  std::string seen = bedrock.received();
  EXPECT_NE(seen.find("\"verdict\": \"ok\""), std::string::npos) << seen;
  EXPECT_NE(seen.find("\"verdict\": \"bad_signature\""), std::string::npos) << seen;
  // Unsigned: rejected.
  auto unsigned_reply = HttpClient(bedrock.port()).post("/openai/v1/chat/completions", body);
  EXPECT_EQ(unsigned_reply.status, 401) << unsigned_reply.body;

  // The Bedrock API key alternative.
  auto keyed = br.buildRequest(cfg->endpoints[1], in);
  ASSERT_TRUE(keyed.ok());
  EXPECT_EQ(send(bedrock.port(), *keyed, body).status, 200);
}

}  // namespace
}  // namespace regiongate
