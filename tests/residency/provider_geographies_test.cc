// The provider geographies table (data/provider_geographies.csv) and the evidence judgement that
// reads it: a region, a country or a geography; a geography is inside only if all its countries
// are; an unknown value is unknown_region.
#include "legal/provider_geographies.h"

#include <gtest/gtest.h>

#include <set>

#include "config/loader.h"
#include "residency/evidence.h"

namespace regiongate::residency {
namespace {

using legal::looseEquals;
using legal::ProviderGeographies;
using legal::ProviderGeography;

TEST(ProviderGeographiesTest, EmbeddedTableParsesAndEveryRowIsSourced) {
  const auto& t = ProviderGeographies::builtin();
  ASSERT_TRUE(t.error().empty()) << t.error();
  ASSERT_GT(t.all().size(), 60u);
  std::set<std::string> providers;
  for (const auto& r : t.all()) {
    providers.insert(r.provider);
    EXPECT_EQ(r.source.rfind("https://", 0), 0u) << r.name;
    EXPECT_EQ(r.read_on.size(), 10u) << r.name;
    if (r.isRegion()) EXPECT_EQ(r.countries.size(), 1u) << r.name;
  }
  EXPECT_EQ(providers, (std::set<std::string>{"aws", "azure", "anthropic", "openai"}));
}

TEST(ProviderGeographiesTest, KnownRowsMapToTheirCountries) {
  const auto& t = ProviderGeographies::builtin();
  ASSERT_NE(t.region("eu-central-1"), nullptr);
  EXPECT_EQ(t.region("eu-central-1")->countries, std::vector<std::string>{"DE"});
  EXPECT_EQ(t.region("eu-central-2")->countries, std::vector<std::string>{"CH"});
  EXPECT_EQ(t.region("eu-west-2")->countries, std::vector<std::string>{"GB"});
  // Azure's x-ms-region carries display names.
  ASSERT_NE(t.region("Sweden Central"), nullptr);
  EXPECT_EQ(t.region("Sweden Central")->countries, std::vector<std::string>{"SE"});
  EXPECT_EQ(t.region("westeurope")->countries, std::vector<std::string>{"NL"});
  EXPECT_EQ(t.region("East US 2")->countries, std::vector<std::string>{"US"});

  const auto* eu = t.geography("aws", "eu");
  ASSERT_NE(eu, nullptr);
  EXPECT_EQ(std::set<std::string>(eu->countries.begin(), eu->countries.end()),
            (std::set<std::string>{"DE", "FR", "IE", "IT", "ES", "SE"}));
  EXPECT_TRUE(t.geography("aws", "global")->anywhere);
  EXPECT_EQ(t.geography("aws", "us")->countries, std::vector<std::string>{"US"});
  const auto* zone = t.geography("azure", "eu");
  ASSERT_NE(zone, nullptr);
  EXPECT_EQ(zone->kind, "data_zone");
  EXPECT_EQ(zone->countries.size(), 27u);  // the EU preset
  EXPECT_EQ(t.geography("anthropic", "us")->countries, std::vector<std::string>{"US"});
  EXPECT_TRUE(t.geography("anthropic", "global")->anywhere);
  // Geographies are scoped by provider: Anthropic has no "eu".
  EXPECT_EQ(t.geography("anthropic", "eu"), nullptr);
  EXPECT_EQ(t.region("eu"), nullptr);
}

TEST(ProviderGeographiesTest, MalformedTablesAreTypedErrors) {
  const std::string head = "provider,kind,name,countries,source,read_on,note\n";
  const std::string ok_row = "aws,region,r-1,DE,https://x,2026-01-01,\n";
  ASSERT_TRUE(ProviderGeographies::parse(head + ok_row).ok());
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "empty"},
      {"p,k\n", "header"},
      {head + "aws,region,r-1,DE,https://x,2026-01-01\n", "expected 7 fields"},
      {head + "gcp,region,r-1,DE,https://x,2026-01-01,\n", "unknown provider"},
      {head + "aws,region,r-1,XX,https://x,2026-01-01,\n", "'XX'"},
      {head + "aws,region,r-1,de,https://x,2026-01-01,\n", "'de'"},
      {head + "aws,region,r-1,DE FR,https://x,2026-01-01,\n", "exactly one country"},
      {head + "aws,bedrock_profile,g,* DE,https://x,2026-01-01,\n", "cannot be combined"},
      {head + "aws,bedrock_profile,g,,https://x,2026-01-01,\n", "no countries"},
      {head + "aws,region,r-1,DE,http://x,2026-01-01,\n", "https://"},
      {head + "aws,region,r-1,DE,https://x,2026-02-30,\n", "read_on"},
      {head + ok_row + "azure,region,R-1,FR,https://x,2026-01-01,\n", "duplicate"},
      {head + "aws,region,r-1,DE,https://x,2026-01-01,\"open\n", "unterminated"},
  };
  for (const auto& [csv, want] : bad) {
    auto r = ProviderGeographies::parse(csv);
    ASSERT_FALSE(r.ok()) << csv;
    EXPECT_NE(r.error().message.find(want), std::string::npos) << r.error().message;
  }
}

TEST(ProviderGeographiesTest, LooseEqualsIgnoresCaseAndSpacesOnly) {
  EXPECT_TRUE(looseEquals("Sweden Central", "swedencentral"));
  EXPECT_TRUE(looseEquals(" EU-Central-1 ", "eu-central-1"));
  EXPECT_FALSE(looseEquals("eu-central-1", "eucentral1"));
  EXPECT_FALSE(looseEquals("swedencentral", "swedencentra"));
  EXPECT_FALSE(looseEquals("", "a"));
  EXPECT_TRUE(looseEquals("  ", ""));
}

std::shared_ptr<const Config> world() {
  auto cfg = loadConfigString(
      "jurisdictions:\n  EEA: { preset: EEA }\n  DE-only: { countries: [DE] }\n"
      "  US: { countries: [US] }\n"
      "regions:\n  fra: { country: DE }\n",
      "w.yaml");
  EXPECT_TRUE(cfg.ok()) << (cfg.ok() ? "" : cfg.error().message);
  return cfg.ok() ? *cfg : nullptr;
}

struct Case {
  UpstreamApi api;
  const char* value;
  const char* jurisdiction;
  EvidenceKind kind;
  const char* country;
};

TEST(ProviderEvidenceTest, RegionCountryOrGeographyScopedByProvider) {
  auto cfg = world();
  ASSERT_TRUE(cfg);
  using A = UpstreamApi;
  using K = EvidenceKind;
  const std::vector<Case> cases = {
      // A configured region still comes first.
      {A::OpenAiCompatible, "fra", "DE-only", K::Ok, "DE"},
      // Provider regions, whatever the api.
      {A::AzureOpenAi, "Sweden Central", "EEA", K::Ok, "SE"},
      {A::AzureOpenAi, "Sweden Central", "DE-only", K::OutsideJurisdiction, "SE"},
      {A::AzureOpenAi, "East US", "EEA", K::OutsideJurisdiction, "US"},
      {A::OpenAiCompatible, "eu-west-3", "EEA", K::Ok, "FR"},
      {A::Bedrock, "eu-west-2", "EEA", K::OutsideJurisdiction, "GB"},
      // Geographies of the endpoint's own provider: all countries must be inside.
      {A::Bedrock, "eu", "EEA", K::Ok, ""},
      {A::Bedrock, "eu", "DE-only", K::OutsideJurisdiction, "ES"},
      {A::Bedrock, "global", "EEA", K::OutsideJurisdiction, "*"},
      {A::AzureOpenAi, "EU", "EEA", K::Ok, ""},
      {A::AzureOpenAi, "eu", "DE-only", K::OutsideJurisdiction, "AT"},
      {A::Anthropic, "us", "US", K::Ok, ""},
      {A::Anthropic, "global", "US", K::OutsideJurisdiction, "*"},
      {A::Anthropic, "us", "EEA", K::OutsideJurisdiction, "US"},
      // Not this provider's geography: "eu" means nothing for Anthropic or a self-hosted engine.
      {A::Anthropic, "eu", "EEA", K::UnknownRegion, ""},
      {A::OpenAiCompatible, "eu", "EEA", K::UnknownRegion, ""},
      {A::OpenAiCompatible, "global", "EEA", K::UnknownRegion, ""},
      // A country code.
      {A::Bedrock, "DE", "DE-only", K::Ok, "DE"},
      // Unknown.
      {A::AzureOpenAi, "Atlantis Central", "EEA", K::UnknownRegion, ""},
  };
  for (const auto& c : cases) {
    const auto* j = cfg->jurisdiction(c.jurisdiction);
    ASSERT_NE(j, nullptr);
    auto v = judgeEvidence(*cfg, *j, std::string_view(c.value), c.api);
    EXPECT_EQ(v.kind, c.kind) << upstreamApiName(c.api) << " " << c.value << " in "
                              << c.jurisdiction << " -> " << evidenceKindName(v.kind);
    EXPECT_EQ(v.country, c.country) << upstreamApiName(c.api) << " " << c.value;
  }
  // The canonical row name, never the provider's own spelling, names the region.
  const auto& eea = *cfg->jurisdiction("EEA");
  EXPECT_EQ(judgeEvidence(*cfg, eea, std::string_view("Sweden Central"), UpstreamApi::AzureOpenAi)
                .region,
            "swedencentral");
  EXPECT_EQ(judgeEvidence(*cfg, eea, std::string_view("EU"), UpstreamApi::Bedrock).region, "eu");
  EXPECT_EQ(judgeEvidence(*cfg, eea, std::string_view("Nowhere 1"), UpstreamApi::Bedrock).region,
            "");
}

}  // namespace
}  // namespace regiongate::residency
