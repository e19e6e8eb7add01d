// The residency proof over the provider examples (examples/providers/*.yaml) and over the
// provider forwarding sets: a Bedrock eu. profile passes for an EEA tenant, us. and global. fail
// naming the path; an Azure EU data zone passes for an EU tenant and fails for a one-country
// tenant; Anthropic's inference_geo and OpenAI's residency regions are read from the table.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "common/hash.h"
#include "config/loader.h"
#include "residency/forwarding.h"
#include "residency/proof.h"

namespace regiongate::residency {
namespace {

// The examples name real https:// provider hosts. The proof does not depend on the scheme, so
// they are read as http:// here, which the loader accepts with or without the TLS client.
Result<ConfigPtr> loadExample(const std::string& name) {
  std::ifstream in(std::string(REGIONGATE_SOURCE_DIR) + "/examples/providers/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string yaml = std::regex_replace(ss.str(), std::regex("https://"), "http://");
  return loadConfigString(yaml, name, LoadOptions{.read_secrets = false});
}

ProofReport prove(const Config& c) { return proveResidency(c, *legal::parseDate("2026-12-05")); }

const ProofFinding* findError(const ProofReport& r, const std::string& code,
                              const std::string& model) {
  for (const auto& e : r.errors)
    if (e.code == code && e.model == model) return &e;
  return nullptr;
}

TEST(ProviderProofTest, BedrockEuProfilePassesForEeaTenant) {
  auto cfg = loadExample("bedrock-eu.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  auto r = prove(**cfg);
  EXPECT_TRUE(r.ok()) << r.table();
  // The profile's destination countries are reachable paths, each with its legal basis.
  std::set<std::string> countries;
  for (const auto& p : r.paths)
    if (p.via.find("bedrock inference profile eu.") != std::string::npos) countries.insert(p.country);
  EXPECT_EQ(countries, (std::set<std::string>{"DE", "ES", "FR", "IE", "IT", "SE"})) << r.table();
}

TEST(ProviderProofTest, BedrockUsAndGlobalProfilesFailNamingThePath) {
  auto cfg = loadExample("bedrock-us-profile.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  auto r = prove(**cfg);
  ASSERT_FALSE(r.ok());
  // No evidence source (Bedrock's default): forwarding_without_evidence, naming the path.
  const auto* us = findError(r, "forwarding_without_evidence",
                             "us.anthropic.claude-sonnet-4-5-20250929-v1:0");
  ASSERT_NE(us, nullptr) << r.table();
  EXPECT_EQ(us->tenant, "acme-bank");
  EXPECT_EQ(us->endpoint, "bedrock-fra");
  EXPECT_EQ(us->country, "US");
  EXPECT_NE(us->message.find("tenant 'acme-bank' -> model 'us.anthropic.claude-sonnet-4-5-"
                             "20250929-v1:0' -> endpoint 'bedrock-fra' (region eu-central-1) -> "
                             "bedrock inference profile us."),
            std::string::npos)
      << us->message;
  const auto* global = findError(r, "forwarding_without_evidence",
                                 "global.anthropic.claude-sonnet-4-5-20250929-v1:0");
  ASSERT_NE(global, nullptr) << r.table();
  EXPECT_EQ(global->country, "*");
  EXPECT_EQ(r.errors.size(), 2u) << r.table();
}

TEST(ProviderProofTest, BedrockForwardingOutsideFailsEvenWithEvidence) {
  std::string yaml =
      "jurisdictions: { EEA: { preset: EEA } }\n"
      "regions: { fra: { country: DE } }\n"
      "endpoints:\n"
      "  - { name: br, url: 'http://h:1', api: bedrock, region: fra, models: [us.m, eu.m],"
      " evidence: 'header:x-region', bedrock: { region: eu-central-1 } }\n"
      "tenants:\n  - { name: t, key_sha256: " + sha256Hex("k") + ", jurisdiction: EEA }\n";
  auto cfg = loadConfigString(yaml, "b.yaml", LoadOptions{.read_secrets = false});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  auto r = prove(**cfg);
  ASSERT_NE(findError(r, "forwarding_outside_jurisdiction", "us.m"), nullptr) << r.table();
  EXPECT_EQ(findError(r, "forwarding_outside_jurisdiction", "eu.m"), nullptr) << r.table();
}

TEST(ProviderProofTest, AzureEuDataZonePassesForEuAndFailsForOneCountry) {
  auto cfg = loadExample("azure-eu-data-zone.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  auto r = prove(**cfg);
  ASSERT_EQ(r.errors.size(), 1u) << r.table();
  const auto& e = r.errors[0];
  EXPECT_EQ(e.code, "forwarding_outside_jurisdiction");  // x-ms-region evidence is configured
  EXPECT_EQ(e.tenant, "bund-ag");
  EXPECT_EQ(e.jurisdiction, "DE");
  EXPECT_EQ(e.endpoint, "azure-gwc-dz");
  EXPECT_EQ(e.country, "AT");
  EXPECT_NE(e.message.find("-> azure data zone eu"), std::string::npos) << e.message;
  // The EU tenant reaches all 27 member states through the data zone, each a proven path.
  std::set<std::string> eu;
  for (const auto& p : r.paths)
    if (p.tenant == "acme-bank" && p.via.find("azure data zone eu") != std::string::npos)
      eu.insert(p.country);
  EXPECT_EQ(eu.size(), 27u) << r.table();
}

TEST(ProviderProofTest, AnthropicInferenceGeoInsideJurisdictionPasses) {
  auto cfg = loadExample("anthropic-us.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  auto r = prove(**cfg);
  EXPECT_TRUE(r.ok()) << r.table();
  const auto& ep = (*cfg)->endpoints[0];
  auto f = forwardingSet(**cfg, ep, "claude-opus-4-6", *(*cfg)->jurisdiction("US"));
  EXPECT_EQ(f.kind, ForwardingSet::Kind::Countries);
  EXPECT_EQ(f.countries, std::vector<std::string>{"US"});
}

TEST(ProviderProofTest, AnthropicWithoutFittingGeographyIsRefusedBeforeSending) {
  std::string yaml =
      "jurisdictions: { EEA: { preset: EEA } }\n"
      "regions: { claude-eu: { country: IE } }\n"
      "endpoints:\n"
      "  - { name: claude, url: 'http://h:1', api: anthropic, region: claude-eu, models: [c],"
      " credential_env: X }\n"
      "tenants:\n  - { name: t, key_sha256: " + sha256Hex("k") + ", jurisdiction: EEA }\n";
  auto cfg = loadConfigString(yaml, "a.yaml", LoadOptions{.read_secrets = false});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  auto r = prove(**cfg);
  EXPECT_TRUE(r.ok()) << r.table();  // nothing leaves: requests are refused
  bool warned = false;
  for (const auto& w : r.warnings) warned |= w.code == "inference_geo_unavailable";
  EXPECT_TRUE(warned) << r.table();
}

TEST(ProviderProofTest, OpenAiEuropeRegionNeedsSwitzerland) {
  auto cfg = loadExample("openai-eu.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  auto r = prove(**cfg);
  EXPECT_TRUE(r.ok()) << r.table();  // EEA+adequacy covers CH
  // The same endpoint for an EEA-only tenant: OpenAI's Europe region includes CH.
  std::ifstream in(std::string(REGIONGATE_SOURCE_DIR) + "/examples/providers/openai-eu.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string yaml = std::regex_replace(ss.str(), std::regex("https://"), "http://");
  yaml = std::regex_replace(yaml, std::regex("preset: EEA\\+adequacy"), "preset: EEA");
  auto eea = loadConfigString(yaml, "openai-eea.yaml", LoadOptions{.read_secrets = false});
  ASSERT_TRUE(eea.ok()) << eea.error().message;
  auto r2 = prove(**eea);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.errors[0].code, "forwarding_without_evidence");
  EXPECT_EQ(r2.errors[0].country, "CH");
}

TEST(ProviderProofTest, BedrockProfilePrefixes) {
  EXPECT_EQ(bedrockProfileGeography("eu.anthropic.claude-3-7-sonnet-20250219-v1:0"), "eu");
  EXPECT_EQ(bedrockProfileGeography("us.meta.llama3-1-8b-instruct-v1:0"), "us");
  EXPECT_EQ(bedrockProfileGeography("apac.amazon.nova-pro-v1:0"), "apac");
  EXPECT_EQ(bedrockProfileGeography("global.anthropic.claude-sonnet-4-5"), "global");
  EXPECT_EQ(bedrockProfileGeography("anthropic.claude-3-haiku-20240307-v1:0"), "");  // in-region
  EXPECT_EQ(bedrockProfileGeography("openai.gpt-oss-20b-1:0"), "");
  EXPECT_EQ(bedrockProfileGeography(".x"), "");
}

}  // namespace
}  // namespace regiongate::residency
