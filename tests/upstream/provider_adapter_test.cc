// The upstream adapters, standalone: each api's request (target, provider headers, body) for an
// endpoint, and the usage and evidence each reads from a response head, a whole body or an SSE
// event.
#include "upstream/provider_adapter.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "config/loader.h"
#include "upstream/sigv4.h"

namespace regiongate::upstream {
namespace {

const char* kHead = R"(jurisdictions:
  EEA: { preset: EEA }
  US: { countries: [US] }
regions:
  swc: { country: SE }
  fra: { country: DE }
  iad: { country: US }
endpoints:
)";

ConfigPtr load(const std::string& endpoints) {
  ::setenv("RG_ADAPTER_KEY", "provider-secret", 1);
  ::setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
  ::unsetenv("AWS_SESSION_TOKEN");
  auto r = loadConfigString(std::string(kHead) + endpoints, "a.yaml");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : nullptr;
}

std::string header(const UpstreamRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "<absent>";
}

AttemptInput input(std::string_view route, std::string_view body, std::string_view jurisdiction) {
  return AttemptInput{route, body, jurisdiction, "h", false, 1764936000};
}

TEST(OpenAiAdapterTest, RouteUnderBasePathWithBearer) {
  auto cfg = load(
      "  - { name: a, url: 'http://h:1/base', region: fra, models: [m], credential_env: RG_ADAPTER_KEY }\n"
      "  - { name: o, url: 'http://eu.api.openai.com', region: fra, models: [m], api: openai,"
      " credential_env: RG_ADAPTER_KEY }\n");
  ASSERT_TRUE(cfg);
  const auto& generic = providerAdapter(UpstreamApi::OpenAiCompatible);
  auto r = generic.buildRequest(cfg->endpoints[0], input("/v1/chat/completions", "{}", "EEA"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->target, "/base/v1/chat/completions");
  EXPECT_EQ(header(*r, "Authorization"), "Bearer provider-secret");
  EXPECT_FALSE(r->body.has_value());
  EXPECT_TRUE(generic.servesRoute("/v1/responses"));
  EXPECT_TRUE(generic.servesRoute("/v1/embeddings"));
  EXPECT_FALSE(generic.servesRoute("/v1/messages"));
  auto o = providerAdapter(UpstreamApi::OpenAi).buildRequest(cfg->endpoints[1],
                                                         input("/v1/responses", "{}", "EEA"));
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->target, "/v1/responses");
  EXPECT_EQ(header(*o, "Authorization"), "Bearer provider-secret");
}

TEST(AzureAdapterTest, V1AndDeploymentPathsWithApiKey) {
  auto cfg = load(
      "  - { name: v1, url: 'http://h:1', region: swc, models: [m], api: azure_openai,"
      " credential_env: RG_ADAPTER_KEY }\n"
      "  - { name: dep, url: 'http://h:2', region: swc, models: [m], api: azure_openai,"
      " credential_env: RG_ADAPTER_KEY, azure: { deployment: gpt4o, api_version: 2024-10-21 } }\n");
  ASSERT_TRUE(cfg);
  const auto& az = providerAdapter(UpstreamApi::AzureOpenAi);
  auto v1 = az.buildRequest(cfg->endpoints[0], input("/v1/chat/completions", "{}", "EEA"));
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->target, "/openai/v1/chat/completions");
  EXPECT_EQ(header(*v1, "api-key"), "provider-secret");
  EXPECT_EQ(header(*v1, "Authorization"), "<absent>");
  auto dep = az.buildRequest(cfg->endpoints[1], input("/v1/embeddings", "{}", "EEA"));
  ASSERT_TRUE(dep.ok());
  EXPECT_EQ(dep->target, "/openai/deployments/gpt4o/embeddings?api-version=2024-10-21");
  EXPECT_FALSE(az.servesRoute("/v1/messages"));

  boost::beast::http::fields head;
  head.set("x-ms-region", "Sweden Central");
  ProviderReadout out;
  az.readHead(cfg->endpoints[0], head, out);
  ASSERT_TRUE(out.evidence);
  EXPECT_EQ(*out.evidence, "Sweden Central");
  head.set("x-ms-region", "Sweden\x01" "Central");
  az.readHead(cfg->endpoints[0], head, out);
  EXPECT_EQ(*out.evidence, "");  // unprintable: judged unknown_region, never echoed
  az.readJson(R"({"usage":{"prompt_tokens":7,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":2}}})",
              cfg->endpoints[0].evidence.path, out);
  EXPECT_TRUE(out.has_usage);
  EXPECT_EQ(out.prompt_tokens, 7);
  EXPECT_EQ(out.completion_tokens, 3);
  EXPECT_EQ(out.cached_tokens, 2);
}

TEST(AnthropicAdapterTest, HeadersAndInferenceGeoFromTheJurisdiction) {
  auto cfg = load(
      "  - { name: c, url: 'http://h:1', region: iad, models: [claude], api: anthropic,"
      " credential_env: RG_ADAPTER_KEY }\n");
  ASSERT_TRUE(cfg);
  const auto& ep = cfg->endpoints[0];
  const auto& an = providerAdapter(UpstreamApi::Anthropic);
  EXPECT_TRUE(an.servesRoute("/v1/messages"));
  EXPECT_FALSE(an.servesRoute("/v1/chat/completions"));
  auto r = an.buildRequest(ep, input("/v1/messages", R"({"model":"claude","max_tokens":5})", "US"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->target, "/v1/messages");
  EXPECT_EQ(header(*r, "x-api-key"), "provider-secret");
  EXPECT_EQ(header(*r, "anthropic-version"), "2023-06-01");
  ASSERT_TRUE(r->body);
  EXPECT_EQ(*r->body, R"({"inference_geo":"us","model":"claude","max_tokens":5})");
  auto empty = an.buildRequest(ep, input("/v1/messages", " { } ", "US"));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty->body, R"( {"inference_geo":"us" } )");
  // The same value from the client is kept as sent; another one is refused.
  auto same = an.buildRequest(ep, input("/v1/messages", R"({"inference_geo":"us"})", "US"));
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->body.has_value());
  auto other = an.buildRequest(ep, input("/v1/messages", R"({"inference_geo":"global"})", "US"));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, "inference_geo_not_allowed");
  // No Anthropic geography lies inside the EEA: refused before anything is sent.
  auto eea = an.buildRequest(ep, input("/v1/messages", "{}", "EEA"));
  ASSERT_FALSE(eea.ok());
  EXPECT_EQ(eea.error().code, "provider_geography_unavailable");
  EXPECT_EQ(eea.error().source, ErrorSource::Policy);
  auto bad = an.buildRequest(ep, input("/v1/messages", "[1]", "US"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "invalid_request_body");
}

TEST(AnthropicAdapterTest, UsageAndInferenceGeoFromWholeMessagesAndStreams) {
  auto cfg = load(
      "  - { name: c, url: 'http://h:1', region: iad, models: [claude], api: anthropic,"
      " credential_env: RG_ADAPTER_KEY }\n");
  ASSERT_TRUE(cfg);
  const auto& ep = cfg->endpoints[0];
  const auto& an = providerAdapter(UpstreamApi::Anthropic);
  ProviderReadout whole;
  an.readJson(R"({"type":"message","usage":{"input_tokens":9,"output_tokens":4,)"
              R"("cache_read_input_tokens":2,"inference_geo":"us"}})",
              ep.evidence.path, whole);
  EXPECT_TRUE(whole.has_usage);
  EXPECT_EQ(whole.prompt_tokens, 9);
  EXPECT_EQ(whole.completion_tokens, 4);
  EXPECT_EQ(whole.cached_tokens, 2);
  ASSERT_TRUE(whole.evidence);
  EXPECT_EQ(*whole.evidence, "us");

  ProviderReadout stream;
  an.readJson(R"({"type":"message_start","message":{"usage":{"input_tokens":9,"output_tokens":1,)"
              R"("inference_geo":"global"}}})",
              ep.evidence.path, stream);
  EXPECT_EQ(*stream.evidence, "global");
  an.readJson(R"({"type":"content_block_delta","index":0,"delta":{"text":"hi"}})",
              ep.evidence.path, stream);
  EXPECT_TRUE(stream.has_content);
  an.readJson(R"({"type":"message_delta","usage":{"output_tokens":4,"inference_geo":"us"}})",
              ep.evidence.path, stream);
  an.readJson(R"({"type":"message_stop"})", ep.evidence.path, stream);
  // With evidence: endpoint configured, the body's geography is not read as evidence.
  ProviderReadout no_body_evidence;
  an.readJson(R"({"usage":{"input_tokens":1,"inference_geo":"us"}})", {}, no_body_evidence);
  EXPECT_FALSE(no_body_evidence.evidence.has_value());
  EXPECT_EQ(no_body_evidence.prompt_tokens, 1);
  EXPECT_EQ(stream.prompt_tokens, 9);
  EXPECT_EQ(stream.completion_tokens, 4);
  EXPECT_EQ(*stream.evidence, "us");
}

TEST(BedrockAdapterTest, SignsEveryAttemptOrSendsTheApiKey) {
  auto cfg = load(
      "  - { name: b, url: 'http://h:1/openai', region: fra, models: [eu.m], api: bedrock,"
      " bedrock: { region: eu-central-1 } }\n"
      "  - { name: k, url: 'http://h:2/openai', region: fra, models: [eu.m], api: bedrock,"
      " credential_env: RG_ADAPTER_KEY, bedrock: { region: eu-central-1, auth: api_key } }\n");
  ASSERT_TRUE(cfg);
  const auto& br = providerAdapter(UpstreamApi::Bedrock);
  EXPECT_TRUE(br.servesRoute("/v1/chat/completions"));
  EXPECT_FALSE(br.servesRoute("/v1/embeddings"));
  std::string body = R"({"model":"eu.m","messages":[]})";
  AttemptInput in{"/v1/chat/completions", body, "EEA", "127.0.0.1:9000", false, 1764936000};
  auto r = br.buildRequest(cfg->endpoints[0], in);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->target, "/openai/v1/chat/completions");
  EXPECT_EQ(header(*r, "x-amz-date"), "20251205T120000Z");
  // The same signature the signer gives for exactly what is sent.
  SigV4Request sent{"POST", "127.0.0.1:9000", "/openai/v1/chat/completions", "",
                    {{"content-type", "application/json"}}, body};
  auto expect = signSigV4(sent, {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""},
                          "eu-central-1", "bedrock", 1764936000);
  ASSERT_TRUE(expect.ok());
  EXPECT_EQ(header(*r, "Authorization"), expect->authorization);
  // A later attempt is signed afresh.
  in.unix_seconds += 7;
  auto later = br.buildRequest(cfg->endpoints[0], in);
  ASSERT_TRUE(later.ok());
  EXPECT_NE(header(*later, "Authorization"), header(*r, "Authorization"));

  auto k = br.buildRequest(cfg->endpoints[1], in);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(header(*k, "Authorization"), "Bearer provider-secret");
  EXPECT_EQ(header(*k, "x-amz-date"), "<absent>");
}

TEST(CheckedEvidenceTest, OnlyShortPrintableValues) {
  EXPECT_EQ(checkedEvidence(" us "), "us");
  EXPECT_EQ(checkedEvidence("Sweden Central"), "Sweden Central");
  EXPECT_EQ(checkedEvidence(std::string(65, 'a')), "");
  EXPECT_EQ(checkedEvidence("a\r\nb"), "");
  EXPECT_EQ(checkedEvidence("caf\xc3\xa9"), "");
  EXPECT_EQ(checkedEvidence("a\"b"), "");
  EXPECT_EQ(checkedEvidence(""), "");
}

}  // namespace
}  // namespace regiongate::upstream
