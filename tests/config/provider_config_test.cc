// Per-endpoint `api:` and the provider settings: credentials from the environment or a file
// (inline only when allowed, never in a message), health paths by api, Azure's two URL forms,
// Bedrock's signing region and credentials, Anthropic's inference_geo per jurisdiction, OpenAI's
// residency hosts.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/loader.h"
#include "config/secrets.h"

namespace regiongate {
namespace {

const char* kHead = R"(jurisdictions:
  EU: { preset: EEA }
  DE-ONLY: { countries: [DE] }
  US: { countries: [US] }
regions:
  swc: { country: SE }
  fra: { country: DE }
  iad: { country: US }
endpoints:
)";

Result<ConfigPtr> load(const std::string& endpoints) {
  return loadConfigString(std::string(kHead) + endpoints, "p.yaml");
}

// Sets an environment variable for one test and removes it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

std::string tempFile(const std::string& name, const std::string& content) {
  auto path = std::filesystem::temp_directory_path() /
              ("rg-provider-config-" + std::to_string(::getpid()) + "-" + name);
  std::ofstream(path) << content;
  return path.string();
}

TEST(ProviderConfigTest, ApiParsesIntoTheEnumAndDefaultsToOpenAiCompatible) {
  ScopedEnv key("RG_TEST_AZURE_KEY", "azure-secret-1");
  auto r = load(
      "  - { name: a, url: 'http://h:1', region: fra, models: [m] }\n"
      "  - { name: b, url: 'http://h:2', region: swc, models: [gpt-4o], api: azure_openai,"
      " credential_env: RG_TEST_AZURE_KEY }\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& a = (*r)->endpoints[0];
  const auto& b = (*r)->endpoints[1];
  EXPECT_EQ(a.api, UpstreamApi::OpenAiCompatible);
  EXPECT_EQ(a.provider, "self");
  EXPECT_EQ(a.health_path, "/health");  // health.path's default
  EXPECT_EQ(b.api, UpstreamApi::AzureOpenAi);
  EXPECT_EQ(b.provider, "third_party");
  EXPECT_EQ(b.health_path, "");  // managed: none
  EXPECT_EQ(b.evidence.raw, "header:x-ms-region");
  EXPECT_EQ(b.secret.value, "azure-secret-1");
  EXPECT_EQ(b.secret.source, "env:RG_TEST_AZURE_KEY");
  EXPECT_EQ(b.credential, "");  // the adapter sends api-key, not Authorization
  EXPECT_EQ(b.azure.deployment, "");  // v1 path
  EXPECT_EQ(b.azure.deployment_type, "standard");
  EXPECT_EQ(upstreamApiName(b.api), "azure_openai");
}

TEST(ProviderConfigTest, CredentialFromEnvOrFileBecomesBearerForOpenAiShapes) {
  ScopedEnv key("RG_TEST_OPENAI_KEY", "sk-from-env");
  std::string file = tempFile("key", "sk-from-file\n");
  auto r = load(
      "  - { name: a, url: 'http://h:1', region: fra, models: [m],"
      " credential_env: RG_TEST_OPENAI_KEY }\n"
      "  - { name: b, url: 'http://h:2', region: fra, models: [m], credential_file: '" +
      file + "' }\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)->endpoints[0].credential, "Bearer sk-from-env");
  EXPECT_EQ((*r)->endpoints[1].credential, "Bearer sk-from-file");
  EXPECT_EQ((*r)->endpoints[1].secret.source, "file:" + file);
  std::remove(file.c_str());
}

TEST(ProviderConfigTest, ReloadRereadsTheCredential) {
  std::string file = tempFile("rotating", "first\n");
  std::string yaml = "  - { name: a, url: 'http://h:1', region: fra, models: [m], credential_file: '" +
                     file + "' }\n";
  auto first = load(yaml);
  ASSERT_TRUE(first.ok()) << first.error().message;
  std::ofstream(file) << "second\n";
  auto second = load(yaml);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ((*first)->endpoints[0].credential, "Bearer first");
  EXPECT_EQ((*second)->endpoints[0].credential, "Bearer second");
  std::remove(file.c_str());
}

TEST(ProviderConfigTest, InlineSecretRefusedUnlessAllowed) {
  auto refused = load(
      "  - { name: a, url: 'http://h:1', region: fra, models: [m], credential: 'Bearer sk-x1' }\n");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("endpoints[0].credential: an inline secret"),
            std::string::npos)
      << refused.error().message;
  EXPECT_EQ(refused.error().message.find("sk-x1"), std::string::npos);
  auto allowed = load(
      "  - { name: a, url: 'http://h:1', region: fra, models: [m], credential: 'Bearer sk-x1',"
      " allow_inline_credential: true }\n");
  ASSERT_TRUE(allowed.ok()) << allowed.error().message;
  EXPECT_EQ((*allowed)->endpoints[0].credential, "Bearer sk-x1");
  EXPECT_EQ((*allowed)->endpoints[0].secret.source, "inline");
}

struct BadProvider {
  const char* name;
  std::string endpoints;
  std::string expected;  // substring of the message
};

class ProviderConfigErrorTest : public testing::TestWithParam<BadProvider> {};

TEST_P(ProviderConfigErrorTest, RefusedWithoutLeakingSecrets) {
  ScopedEnv key("RG_TEST_SECRET", "very-secret-value");
  ::unsetenv("RG_TEST_UNSET");
  auto r = load(GetParam().endpoints);
  ASSERT_FALSE(r.ok()) << GetParam().name;
  EXPECT_NE(r.error().message.find(GetParam().expected), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find("very-secret-value"), std::string::npos) << r.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ProviderConfigErrorTest,
    testing::Values(
        BadProvider{"unknown_api", "  - { name: a, url: 'http://h:1', region: fra, models: [m], api: gemini }\n",
                    "endpoints[0].api: 'gemini' is not one of"},
        BadProvider{"env_unset",
                    "  - { name: a, url: 'http://h:1', region: fra, models: [m], credential_env: RG_TEST_UNSET }\n",
                    "environment variable 'RG_TEST_UNSET' is not set or empty"},
        BadProvider{"file_missing",
                    "  - { name: a, url: 'http://h:1', region: fra, models: [m], credential_file: /nonexistent/k }\n",
                    "cannot read credential file '/nonexistent/k'"},
        BadProvider{"two_sources",
                    "  - { name: a, url: 'http://h:1', region: fra, models: [m], credential_env: RG_TEST_SECRET,"
                    " credential_file: /x }\n",
                    "at most one of credential, credential_env and credential_file"},
        BadProvider{"managed_without_credential",
                    "  - { name: a, url: 'http://h:1', region: swc, models: [m], api: azure_openai }\n",
                    "api: azure_openai needs a credential"},
        BadProvider{"settings_for_other_api",
                    "  - { name: a, url: 'http://h:1', region: fra, models: [m], azure: { deployment: d } }\n",
                    "endpoints[0].azure: only for api: azure_openai"},
        BadProvider{"azure_deployment_without_version",
                    "  - { name: a, url: 'http://h:1', region: swc, models: [m], api: azure_openai,"
                    " credential_env: RG_TEST_SECRET, azure: { deployment: gpt4o } }\n",
                    "azure.api_version: required with deployment"},
        BadProvider{"azure_bad_deployment_type",
                    "  - { name: a, url: 'http://h:1', region: fra, models: [m], api: azure_openai,"
                    " credential_env: RG_TEST_SECRET, azure: { deployment_type: galaxy } }\n",
                    "'galaxy' is not one of: standard, data_zone, global"},
        BadProvider{"bedrock_region_required",
                    "  - { name: a, url: 'http://h:1', region: fra, models: [m], api: bedrock,"
                    " credential_env: RG_TEST_SECRET, bedrock: { auth: api_key } }\n",
                    "bedrock.region: required"},
        BadProvider{"bedrock_sigv4_without_aws_keys",
                    "  - { name: a, url: 'http://h:1', region: fra, models: [m], api: bedrock,"
                    " bedrock: { region: eu-central-1, credentials_file: /nonexistent/aws } }\n",
                    "cannot read credential file '/nonexistent/aws'"},
        BadProvider{"bedrock_key_without_api_key_auth",
                    "  - { name: a, url: 'http://h:1', region: fra, models: [m], api: bedrock,"
                    " credential_env: RG_TEST_SECRET, bedrock: { region: eu-central-1 } }\n",
                    "set auth: api_key"},
        BadProvider{"anthropic_geo_outside",
                    "  - { name: a, url: 'http://h:1', region: iad, models: [m], api: anthropic,"
                    " credential_env: RG_TEST_SECRET, anthropic: { inference_geo: { EU: us } } }\n",
                    "inference_geo 'us' reaches outside jurisdiction EU"},
        BadProvider{"anthropic_geo_unknown",
                    "  - { name: a, url: 'http://h:1', region: iad, models: [m], api: anthropic,"
                    " credential_env: RG_TEST_SECRET, anthropic: { inference_geo: { US: mars } } }\n",
                    "'mars' is not an inference_geo"},
        BadProvider{"openai_host_without_residency",
                    "  - { name: a, url: 'http://h:1', region: fra, models: [m], api: openai,"
                    " credential_env: RG_TEST_SECRET }\n",
                    "openai.residency: required"},
        BadProvider{"health_path_relative",
                    "  - { name: a, url: 'http://h:1', region: fra, models: [m], health_path: ready }\n",
                    "health_path: expected an absolute path"}),
    [](const testing::TestParamInfo<BadProvider>& i) { return std::string(i.param.name); });

TEST(ProviderConfigTest, HealthPathExplicitOrNone) {
  auto r = load(
      "  - { name: a, url: 'http://h:1', region: fra, models: [m], health_path: none }\n"
      "  - { name: b, url: 'http://h:2', region: fra, models: [m], health_path: /v1/models }\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)->endpoints[0].health_path, "");
  EXPECT_EQ((*r)->endpoints[1].health_path, "/v1/models");
}

TEST(ProviderConfigTest, AzureDeploymentFormAndDataZone) {
  ScopedEnv key("RG_TEST_AZURE_KEY", "k");
  auto r = load(
      "  - { name: a, url: 'http://h:1', region: swc, models: [gpt-4o], api: azure_openai,"
      " credential_env: RG_TEST_AZURE_KEY,"
      " azure: { deployment: gpt4o-prod, api_version: 2024-10-21, deployment_type: data_zone } }\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& az = (*r)->endpoints[0].azure;
  EXPECT_EQ(az.deployment, "gpt4o-prod");
  EXPECT_EQ(az.api_version, "2024-10-21");
  EXPECT_EQ(az.deployment_type, "data_zone");
}

TEST(ProviderConfigTest, BedrockSigV4FromEnvOrProfileFileAndApiKey) {
  ScopedEnv id("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE");
  ScopedEnv secret("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
  std::string file = tempFile("aws", "[default]\naws_access_key_id = AKIDFILE\n"
                                     "aws_secret_access_key = file-secret\n"
                                     "[eu]\naws_access_key_id=AKIDEU\naws_secret_access_key=eu-secret\n"
                                     "aws_session_token = tok\n");
  ScopedEnv bearer("RG_TEST_BEDROCK_KEY", "bedrock-api-key");
  auto r = load(
      "  - { name: a, url: 'http://bedrock-runtime.eu-central-1.amazonaws.com', region: fra,"
      " models: [eu.anthropic.claude], api: bedrock }\n"
      "  - { name: b, url: 'http://h:2', region: fra, models: [m], api: bedrock,"
      " bedrock: { region: eu-west-1, credentials_file: '" + file + "', profile: eu } }\n"
      "  - { name: c, url: 'http://h:3', region: fra, models: [m], api: bedrock,"
      " credential_env: RG_TEST_BEDROCK_KEY, bedrock: { region: eu-west-3, auth: api_key } }\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& a = (*r)->endpoints[0].bedrock;
  EXPECT_EQ(a.region, "eu-central-1");  // from the host
  EXPECT_EQ(a.auth, "sigv4");
  EXPECT_EQ(a.aws.access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(a.aws.secret_access_key.source, "env:AWS_SECRET_ACCESS_KEY");
  EXPECT_TRUE(a.aws.session_token.empty());
  const auto& b = (*r)->endpoints[1].bedrock;
  EXPECT_EQ(b.aws.access_key_id, "AKIDEU");
  EXPECT_EQ(b.aws.secret_access_key.value, "eu-secret");
  EXPECT_EQ(b.aws.session_token.value, "tok");
  EXPECT_EQ((*r)->endpoints[1].credential, "");  // signed, not bearer
  EXPECT_EQ((*r)->endpoints[2].credential, "Bearer bedrock-api-key");
  std::remove(file.c_str());
}

TEST(ProviderConfigTest, AnthropicInferenceGeoPerJurisdiction) {
  ScopedEnv key("RG_TEST_ANTHROPIC_KEY", "k");
  auto r = load(
      "  - { name: a, url: 'http://h:1', region: iad, models: [claude], api: anthropic,"
      " credential_env: RG_TEST_ANTHROPIC_KEY }\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& ep = (*r)->endpoints[0];
  EXPECT_EQ(ep.anthropic.version, "2023-06-01");
  EXPECT_EQ(ep.anthropic.inference_geo.at("US"), "us");
  EXPECT_EQ(ep.anthropic.inference_geo.count("EU"), 0u);  // no Anthropic geography inside
  EXPECT_EQ(ep.evidence.raw, "body:usage.inference_geo");
}

TEST(ProviderConfigTest, OpenAiResidencyFromHostOrSetting) {
  ScopedEnv key("RG_TEST_OPENAI_KEY", "k");
  auto r = load(
      "  - { name: a, url: 'http://eu.api.openai.com', region: fra, models: [m], api: openai,"
      " credential_env: RG_TEST_OPENAI_KEY }\n"
      "  - { name: b, url: 'http://127.0.0.1:9', region: iad, models: [m], api: openai,"
      " credential_env: RG_TEST_OPENAI_KEY, openai: { residency: us } }\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)->endpoints[0].openai.residency, "eu");
  EXPECT_EQ((*r)->endpoints[0].credential, "Bearer k");
  EXPECT_EQ((*r)->endpoints[1].openai.residency, "us");
}

TEST(SecretsTest, FileIsTrimmedAndOneLineOnly) {
  std::string ok = tempFile("ok", "  abc \n");
  auto s = secretFromFile(ok);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->value, "abc");
  std::string two = tempFile("two", "abc\ndef\n");
  auto bad = secretFromFile(two);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.find("def"), std::string::npos);
  std::string empty = tempFile("empty", "\n");
  EXPECT_FALSE(secretFromFile(empty).ok());
  for (const auto& f : {ok, two, empty}) std::remove(f.c_str());
}

}  // namespace
}  // namespace regiongate
