// Provider conformance through a real gateway: `regiongate serve` in front of a provider
// stand-in (tests/providers/provider_standin.py). The stand-in checks what the provider checks
// (Azure's api-key, Bedrock's SigV4 signature via botocore); the provider's evidence reaches the
// audit record; a stand-in answering from outside the jurisdiction is a counted violation, and
// is blocked in block mode.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "common/hash.h"
#include "testing/http_client.h"
#include "testing/process.h"

namespace regiongate {
namespace {

using testing::ChildProcess;
using testing::HttpClient;
using testing::HttpReply;

const char* kPython = "/usr/bin/python3";
const std::string kTenantKey = "sk-conformance-eu";
const std::string kUsTenantKey = "sk-conformance-us";
const char* kAwsSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  ::pclose(p);
  return out;
}

double metric(const std::string& text, const std::string& name,
              const std::vector<std::string>& fragments) {
  double sum = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + "{", 0) != 0) continue;
    bool all = true;
    for (const auto& f : fragments) all = all && line.find(f) != std::string::npos;
    if (all) sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

// One stand-in and one gateway in front of it, on loopback ports chosen by the OS.
class ProviderGateway : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kPython, X_OK) != 0) GTEST_SKIP() << "no " << kPython;
    dir_ = testing::makeTempDir("provgw");
    ASSERT_FALSE(dir_.empty());
  }

  void startStandIn(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {
        kPython, std::string(REGIONGATE_SOURCE_DIR) + "/tests/providers/provider_standin.py"};
    argv.insert(argv.end(), args.begin(), args.end());
    ASSERT_TRUE(standin_.start(argv, dir_ + "/standin.stderr"));
    std::string line = standin_.waitForLine("listening on ", 30000);
    ASSERT_FALSE(line.empty()) << readFile(dir_ + "/standin.stderr");
    standin_port_ = std::stoi(line.substr(13));
  }

  // `endpoint` is one YAML flow mapping without the url (filled in).
  void startGateway(const std::string& endpoint, const std::string& on_violation = "alert") {
    std::string url = "url: 'http://127.0.0.1:" + std::to_string(standin_port_);
    std::string ep = endpoint;
    ep.replace(ep.find("url: '"), 6, url);
    std::string yaml =
        "listen: 127.0.0.1:0\nadmin_listen: 127.0.0.1:0\nworkers: 1\n"
        "jurisdictions: { EU: { preset: EEA }, US: { countries: [US] } }\n"
        "regions: { swedencentral: { country: SE }, eu-central-1: { country: DE },"
        " anthropic-us: { country: US }, openai-us: { country: US } }\n"
        "endpoints:\n  - " + ep + "\n"
        "tenants:\n  - { name: acme, key_sha256: " + sha256Hex(kTenantKey) + ", jurisdiction: EU }\n"
        "  - { name: shop-us, key_sha256: " + sha256Hex(kUsTenantKey) + ", jurisdiction: US }\n"
        "residency: { on_violation: " + on_violation + " }\n"
        "audit: { dir: " + dir_ + "/audit }\n";
    std::ofstream(dir_ + "/gw.yaml") << yaml;
    ASSERT_TRUE(gateway_.start({REGIONGATE_BIN, "serve", "--config", dir_ + "/gw.yaml",
                                "--log-level", "warn"},
                               dir_ + "/gateway.stderr"));
    std::string line = gateway_.waitForLine("listening ", 30000);
    ASSERT_FALSE(line.empty()) << readFile(dir_ + "/gateway.stderr");
    auto d = line.find("data=");
    auto a = line.find(" admin=");
    std::string data = line.substr(d + 5, a - d - 5);
    std::string admin = line.substr(a + 7);
    port_ = static_cast<uint16_t>(std::stoi(data.substr(data.rfind(':') + 1)));
    admin_port_ = static_cast<uint16_t>(std::stoi(admin.substr(admin.rfind(':') + 1)));
  }

  HttpReply chat(const std::string& model, bool stream = false) {
    return HttpClient(port_).post(
        "/v1/chat/completions",
        R"({"model":")" + model + R"(","stream":)" + (stream ? "true" : "false") +
            R"(,"messages":[{"role":"user","content":"where do I run?"}]})",
        {{"authorization", "Bearer " + kTenantKey}});
  }

  HttpReply post(const std::string& path, const std::string& body,
                 const std::string& key = kTenantKey) {
    return HttpClient(port_).post(path, body, {{"authorization", "Bearer " + key}});
  }

  std::string audit() {
    gateway_.stop();  // the store is complete once the gateway has drained
    return run(std::string("'") + REGIONGATE_BIN + "' audit query --dir '" + dir_ +
               "/audit' --format jsonl");
  }
  std::string received() {
    return HttpClient(static_cast<uint16_t>(standin_port_)).get("/_standin/requests").body;
  }

  std::string dir_;
  ChildProcess standin_, gateway_;
  int standin_port_ = 0;
  uint16_t port_ = 0, admin_port_ = 0;
};

const std::string kAzureEndpoint =
    "{ name: azure-swc, url: '', region: swedencentral, models: [gpt-4o], api: azure_openai,"
    " credential_env: RG_CONF_AZURE_KEY, azure: { deployment: gpt4o, api_version: 2024-10-21 } }";

TEST_F(ProviderGateway, AzureEvidenceReachesTheAudit) {
  ::setenv("RG_CONF_AZURE_KEY", "azure-conformance-key", 1);
  startStandIn({"--api", "azure", "--key", "azure-conformance-key", "--geo", "Sweden Central"});
  startGateway(kAzureEndpoint);
  auto r = chat("gpt-4o");
  ASSERT_EQ(r.status, 200) << r.body << readFile(dir_ + "/gateway.stderr");
  EXPECT_EQ(r.header("x-regiongate-region"), "swedencentral");
  EXPECT_EQ(r.header("x-regiongate-endpoint"), "azure-swc");
  auto s = chat("gpt-4o", true);
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_NE(s.body.find("data: [DONE]"), std::string::npos) << s.body;
  std::string seen = received();
  EXPECT_NE(seen.find("/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21"),
            std::string::npos)
      << seen;
  EXPECT_EQ(seen.find("\"verdict\": \"missing_api_key\""), std::string::npos) << seen;
  std::string records = audit();
  EXPECT_NE(records.find("\"evidence_value\":\"Sweden Central\""), std::string::npos) << records;
  EXPECT_NE(records.find("\"actual_region\":\"swedencentral\""), std::string::npos) << records;
  EXPECT_EQ(records.find("azure-conformance-key"), std::string::npos);
}

TEST_F(ProviderGateway, AzureAnsweringFromOutsideIsCountedInAlertMode) {
  ::setenv("RG_CONF_AZURE_KEY", "azure-conformance-key", 1);
  startStandIn({"--api", "azure", "--key", "azure-conformance-key", "--geo", "East US"});
  startGateway(kAzureEndpoint);
  for (int i = 0; i < 3; ++i) {
    auto r = chat("gpt-4o");
    ASSERT_EQ(r.status, 200) << r.body;  // alert: served, counted
    EXPECT_EQ(r.header("x-regiongate-region"), "eastus");
  }
  auto m = HttpClient(admin_port_).get("/metrics").body;
  EXPECT_EQ(metric(m, "regiongate_residency_violations_total",
                   {"jurisdiction=\"EU\"", "actual_region=\"eastus\"", "kind=\"outside_jurisdiction\""}),
            3)
      << m;
  std::string records = audit();
  EXPECT_NE(records.find("\"violation\":\"outside_jurisdiction\""), std::string::npos) << records;
}

TEST_F(ProviderGateway, AzureAnsweringFromOutsideIsBlockedInBlockMode) {
  ::setenv("RG_CONF_AZURE_KEY", "azure-conformance-key", 1);
  startStandIn({"--api", "azure", "--key", "azure-conformance-key", "--geo", "East US"});
  startGateway(kAzureEndpoint, "block");
  auto r = chat("gpt-4o");
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_NE(r.body.find("\"type\":\"residency_violation\""), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("stand-in reply"), std::string::npos) << "content leaked: " << r.body;
  auto m = HttpClient(admin_port_).get("/metrics").body;
  EXPECT_EQ(metric(m, "regiongate_residency_violations_total", {"kind=\"outside_jurisdiction\""}), 1)
      << m;
}

const std::string kBedrockEndpoint =
    "{ name: bedrock-fra, url: '/openai', region: eu-central-1, models: [eu.meta.llama3],"
    " api: bedrock, bedrock: { region: eu-central-1 }, evidence: 'header:x-standin-region' }";

TEST_F(ProviderGateway, BedrockSignedThroughTheGatewayAndJudged) {
  ::setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", kAwsSecret, 1);
  ::unsetenv("AWS_SESSION_TOKEN");
  startStandIn({"--api", "bedrock", "--access-key", "AKIDEXAMPLE", "--secret-key", kAwsSecret,
                "--region", "eu-central-1", "--geo", "eu-west-3"});
  std::string ep = kBedrockEndpoint;
  startGateway(ep);
  auto r = chat("eu.meta.llama3");
  ASSERT_EQ(r.status, 200) << r.body << readFile(dir_ + "/gateway.stderr");
  EXPECT_EQ(r.header("x-regiongate-region"), "eu-west-3");  // a provider region: FR, inside
  auto s = chat("eu.meta.llama3", true);
  ASSERT_EQ(s.status, 200) << s.body;
  std::string seen = received();
  EXPECT_NE(seen.find("\"verdict\": \"ok\""), std::string::npos) << seen;
  EXPECT_EQ(seen.find("bad_signature"), std::string::npos) << seen;
  std::string records = audit();
  EXPECT_NE(records.find("\"evidence_value\":\"eu-west-3\""), std::string::npos) << records;
  EXPECT_EQ(records.find(kAwsSecret), std::string::npos);
}

TEST_F(ProviderGateway, BedrockWithWrongKeysIsRefusedByTheProvider) {
  ::setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret-the-provider-knows", 1);
  startStandIn({"--api", "bedrock", "--access-key", "AKIDEXAMPLE", "--secret-key", kAwsSecret,
                "--region", "eu-central-1", "--geo", "eu-west-3"});
  startGateway(kBedrockEndpoint);
  auto r = chat("eu.meta.llama3");
  EXPECT_NE(r.status, 200) << r.body;
  EXPECT_NE(received().find("\"verdict\": \"bad_signature\""), std::string::npos);
}

// -- Anthropic's Messages API -----------------------------------------------------------------

const std::string kAnthropicEndpoint =
    "{ name: anthropic, url: '', region: anthropic-us, models: [claude-opus-4-6], api: anthropic,"
    " credential_env: RG_CONF_ANTHROPIC_KEY, anthropic: { version: '2023-06-01' } }";

std::string messagesBody(bool stream) {
  return std::string(R"({"model":"claude-opus-4-6","max_tokens":64,"stream":)") +
         (stream ? "true" : "false") +
         R"(,"system":"be brief","messages":[{"role":"user","content":"where do I run?"}]})";
}

TEST_F(ProviderGateway, AnthropicMessagesPassThroughWithInferenceGeoInjected) {
  ::setenv("RG_CONF_ANTHROPIC_KEY", "anthropic-conformance-key", 1);
  startStandIn({"--api", "anthropic", "--key", "anthropic-conformance-key"});
  startGateway(kAnthropicEndpoint);
  auto r = post("/v1/messages", messagesBody(false), kUsTenantKey);
  ASSERT_EQ(r.status, 200) << r.body << readFile(dir_ + "/gateway.stderr");
  EXPECT_NE(r.body.find("\"type\": \"message\""), std::string::npos) << r.body;
  EXPECT_EQ(r.header("x-regiongate-endpoint"), "anthropic");
  auto s = post("/v1/messages", messagesBody(true), kUsTenantKey);
  ASSERT_EQ(s.status, 200) << s.body;
  for (const char* ev : {"event: message_start", "event: content_block_delta",
                         "event: message_delta", "event: message_stop"})
    EXPECT_NE(s.body.find(ev), std::string::npos) << ev << " missing: " << s.body;
  std::string seen = received();
  // Both requests reached the provider with its headers (verdict ok) and the US geography.
  size_t ok = 0;
  for (size_t at = 0; (at = seen.find("\"verdict\": \"ok\"", at)) != std::string::npos; ++at) ++ok;
  EXPECT_EQ(ok, 2u) << seen;
  EXPECT_NE(seen.find("\\\"inference_geo\\\":\\\"us\\\""), std::string::npos) << seen;
  EXPECT_NE(seen.find("\"anthropic-version\": \"2023-06-01\""), std::string::npos) << seen;
  std::string records = audit();
  EXPECT_NE(records.find("\"evidence_value\":\"us\""), std::string::npos) << records;
  EXPECT_EQ(records.find("\"violation\":\"outside"), std::string::npos) << records;
  EXPECT_NE(records.find("\"prompt_tokens\":9"), std::string::npos) << records;
  EXPECT_EQ(records.find("anthropic-conformance-key"), std::string::npos);
}

TEST_F(ProviderGateway, AnthropicAnsweringFromAnywhereIsBlockedInBlockModeStreamsToo) {
  ::setenv("RG_CONF_ANTHROPIC_KEY", "anthropic-conformance-key", 1);
  // "global" may run anywhere: not inside the US jurisdiction.
  startStandIn({"--api", "anthropic", "--key", "anthropic-conformance-key", "--geo", "global"});
  startGateway(kAnthropicEndpoint, "block");
  auto r = post("/v1/messages", messagesBody(false), kUsTenantKey);
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_NE(r.body.find("\"type\":\"residency_violation\""), std::string::npos) << r.body;
  auto s = post("/v1/messages", messagesBody(true), kUsTenantKey);
  EXPECT_EQ(s.status, 502) << s.body;
  EXPECT_EQ(s.body.find("stand-in reply"), std::string::npos) << "content leaked: " << s.body;
  auto m = HttpClient(admin_port_).get("/metrics").body;
  EXPECT_EQ(metric(m, "regiongate_residency_violations_total", {"jurisdiction=\"US\""}), 2) << m;
}

TEST_F(ProviderGateway, AnthropicWithNoGeographyInsideIsRefusedBeforeTheRequestLeaves) {
  ::setenv("RG_CONF_ANTHROPIC_KEY", "anthropic-conformance-key", 1);
  startStandIn({"--api", "anthropic", "--key", "anthropic-conformance-key"});
  // An EU tenant: Anthropic documents no inference_geo inside the EEA.
  startGateway(
      "{ name: anthropic-eu, url: '', region: eu-central-1, models: [claude-opus-4-6],"
      " api: anthropic, credential_env: RG_CONF_ANTHROPIC_KEY }");
  auto r = post("/v1/messages", messagesBody(false));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("provider_geography_unavailable"), std::string::npos) << r.body;
  EXPECT_EQ(received().find("/v1/messages"), std::string::npos) << received();
}

TEST_F(ProviderGateway, MessagesToAPoolWithoutAnthropicIs404ApiNotServed) {
  ::setenv("RG_CONF_AZURE_KEY", "azure-conformance-key", 1);
  startStandIn({"--api", "azure", "--key", "azure-conformance-key", "--geo", "Sweden Central"});
  startGateway(kAzureEndpoint);
  auto r = post("/v1/messages",
                R"({"model":"gpt-4o","max_tokens":8,"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_NE(r.body.find("\"code\":\"api_not_served\""), std::string::npos) << r.body;
  EXPECT_EQ(received().find("\"path\""), std::string::npos) << received();
}

// -- OpenAI: the Responses and Embeddings APIs ---------------------------------------------------

const std::string kOpenAiEndpoint =
    "{ name: openai-us, url: '', region: openai-us, models: [gpt-4.1], api: openai,"
    " credential_env: RG_CONF_OPENAI_KEY, openai: { residency: us } }";

TEST_F(ProviderGateway, OpenAiResponsesAndEmbeddingsPassThroughAndAreAudited) {
  ::setenv("RG_CONF_OPENAI_KEY", "openai-conformance-key", 1);
  startStandIn({"--api", "openai", "--key", "openai-conformance-key"});
  startGateway(kOpenAiEndpoint);
  auto r = post("/v1/responses", R"({"model":"gpt-4.1","instructions":"be brief","input":"hi"})",
                kUsTenantKey);
  ASSERT_EQ(r.status, 200) << r.body << readFile(dir_ + "/gateway.stderr");
  EXPECT_NE(r.body.find("\"object\": \"response\""), std::string::npos) << r.body;
  auto s = post("/v1/responses", R"({"model":"gpt-4.1","stream":true,"input":[)"
                                 R"({"role":"user","content":[{"type":"input_text","text":"hi"}]}]})",
                kUsTenantKey);
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_NE(s.body.find("event: response.completed"), std::string::npos) << s.body;
  auto e = post("/v1/embeddings", R"({"model":"gpt-4.1","input":["one","two"]})", kUsTenantKey);
  ASSERT_EQ(e.status, 200) << e.body;
  EXPECT_NE(e.body.find("\"embedding\""), std::string::npos) << e.body;
  std::string seen = received();
  EXPECT_NE(seen.find("\"path\": \"/v1/responses\""), std::string::npos) << seen;
  EXPECT_NE(seen.find("\"path\": \"/v1/embeddings\""), std::string::npos) << seen;
  EXPECT_EQ(seen.find("missing_api_key"), std::string::npos) << seen;
  std::string records = audit();
  // The Responses API's usage (input_tokens 11, output_tokens 5, 3 cached), streams included.
  size_t responses = 0;
  for (size_t at = 0; (at = records.find("\"prompt_tokens\":11", at)) != std::string::npos; ++at)
    ++responses;
  EXPECT_EQ(responses, 2u) << records;
  EXPECT_NE(records.find("\"completion_tokens\":5"), std::string::npos) << records;
  EXPECT_NE(records.find("\"prompt_tokens\":7"), std::string::npos) << records;  // embeddings
  EXPECT_EQ(records.find("openai-conformance-key"), std::string::npos);
}

// A self-hosted engine (vLLM, SGLang) serves the same routes: openai_compatible passes them too.
TEST_F(ProviderGateway, OpenAiCompatibleEnginesCarryResponsesAndEmbeddings) {
  ::setenv("RG_CONF_OPENAI_KEY", "openai-conformance-key", 1);
  startStandIn({"--api", "openai", "--key", "openai-conformance-key"});
  startGateway(
      "{ name: vllm-fra, url: '', region: eu-central-1, models: [llama], health_path: none,"
      " credential_env: RG_CONF_OPENAI_KEY }");
  auto s = post("/v1/responses", R"({"model":"llama","stream":true,"input":"hi"})");
  ASSERT_EQ(s.status, 200) << s.body << readFile(dir_ + "/gateway.stderr");
  EXPECT_NE(s.body.find("event: response.output_text.delta"), std::string::npos) << s.body;
  EXPECT_EQ(s.header("x-regiongate-endpoint"), "vllm-fra");
  auto e = post("/v1/embeddings", R"({"model":"llama","input":[[1,2,3]]})");
  ASSERT_EQ(e.status, 200) << e.body;
  std::string seen = received();
  EXPECT_NE(seen.find("\"path\": \"/v1/responses\""), std::string::npos) << seen;
  EXPECT_NE(seen.find("\"path\": \"/v1/embeddings\""), std::string::npos) << seen;
  std::string records = audit();
  EXPECT_NE(records.find("\"prompt_tokens\":11"), std::string::npos) << records;
}

TEST_F(ProviderGateway, MalformedResponsesAndEmbeddingsBodiesGetTypedErrors) {
  ::setenv("RG_CONF_OPENAI_KEY", "openai-conformance-key", 1);
  startStandIn({"--api", "openai", "--key", "openai-conformance-key"});
  startGateway(kOpenAiEndpoint);
  auto a = post("/v1/responses", R"({"model":"gpt-4.1"})", kUsTenantKey);
  EXPECT_EQ(a.status, 400);
  EXPECT_NE(a.body.find("\"code\":\"missing_input\""), std::string::npos) << a.body;
  auto b = post("/v1/embeddings", R"({"model":"gpt-4.1","input":[1,"x"]})", kUsTenantKey);
  EXPECT_EQ(b.status, 400);
  EXPECT_NE(b.body.find("\"code\":\"invalid_input\""), std::string::npos) << b.body;
  auto c = post("/v1/responses", R"({"model":"gpt-4.1","input":[42]})", kUsTenantKey);
  EXPECT_EQ(c.status, 400);
  EXPECT_NE(c.body.find("\"code\":\"invalid_input\""), std::string::npos) << c.body;
  EXPECT_EQ(received().find("\"path\""), std::string::npos) << received();
}

}  // namespace
}  // namespace regiongate
