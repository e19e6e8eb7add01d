// ResidencyIndex: pools, narrowing, ingress, tenant lookup; evidence verdicts.
#include <gtest/gtest.h>

#include "common/hash.h"
#include "config/loader.h"
#include "residency/evidence.h"
#include "residency/residency_index.h"

namespace regiongate::residency {
namespace {

ConfigPtr load(const std::string& yaml) {
  auto r = loadConfigString(yaml, "t.yaml");
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? *r : nullptr;
}

std::string keyLine(const std::string& name, const std::string& key, const std::string& j) {
  return "  - { name: " + name + ", key_sha256: " + sha256Hex(key) + ", jurisdiction: " + j +
         " }\n";
}

std::string twoJurisdictions(const std::string& gateway = "") {
  return gateway +
         "jurisdictions:\n  EU: { preset: EEA }\n  US: { countries: [US] }\n"
         "regions:\n  eu-central-1: { country: DE }\n  eu-west-1: { country: IE }\n"
         "  us-east-1: { country: US }\n  nowhere: {}\n"
         "endpoints:\n"
         "  - { name: fra-a, url: 'http://h:1', region: eu-central-1, models: [llama@v1, qwen] }\n"
         "  - { name: dub-a, url: 'http://h:2', region: eu-west-1, models: [llama@v2] }\n"
         "  - { name: iad-a, url: 'http://h:3', region: us-east-1, models: [llama@v1, qwen] }\n"
         "  - { name: void-a, url: 'http://h:4', region: nowhere, models: [llama@v1] }\n"
         "residency: { geo_labels: { eu: [EU], emea: [EEA, GB, ZA] } }\n"
         "tenants:\n" +
         keyLine("acme", "sk-eu", "EU") + keyLine("shop", "sk-us", "US");
}

TEST(ResidencyIndexTest, PoolsAreFilteredByJurisdictionAndModel) {
  auto cfg = load(twoJurisdictions());
  ASSERT_TRUE(cfg);
  ResidencyIndex idx(cfg);
  EXPECT_EQ(idx.pool(0, "llama"), (std::vector<uint32_t>{0, 1}));  // never iad-a, never void-a
  EXPECT_EQ(idx.pool(0, "llama@v1"), (std::vector<uint32_t>{0}));
  EXPECT_EQ(idx.pool(0, "llama@v2"), (std::vector<uint32_t>{1}));
  EXPECT_EQ(idx.pool(0, "qwen"), (std::vector<uint32_t>{0}));
  EXPECT_EQ(idx.pool(1, "llama"), (std::vector<uint32_t>{2}));
  EXPECT_TRUE(idx.pool(1, "llama@v2").empty());
  EXPECT_TRUE(idx.pool(0, "gpt-4").empty());
  EXPECT_TRUE(idx.pool(99, "llama").empty());
  EXPECT_EQ(idx.models(0), (std::vector<std::string>{"llama", "qwen"}));
  EXPECT_EQ(idx.jurisdictionOf(1).name, "US");
}

TEST(ResidencyIndexTest, TenantForKeyUsesTheDigest) {
  auto cfg = load(twoJurisdictions());
  ASSERT_TRUE(cfg);
  ResidencyIndex idx(cfg);
  ASSERT_NE(idx.tenantForKey("sk-eu"), nullptr);
  EXPECT_EQ(idx.tenantForKey("sk-eu")->name, "acme");
  EXPECT_EQ(idx.tenantIndexForKey("sk-us"), 1u);
  EXPECT_EQ(idx.tenantForKey("sk-eu "), nullptr);
  EXPECT_EQ(idx.tenantForKey(""), nullptr);
  EXPECT_EQ(idx.tenantIndexForKey(sha256Hex("sk-eu")), ResidencyIndex::kNone);  // digest != key
  EXPECT_EQ(idx.tenantIndex(cfg->tenants[1]), 1u);
}

TEST(ResidencyIndexTest, NarrowingNeverWidens) {
  auto cfg = load(twoJurisdictions());
  ASSERT_TRUE(cfg);
  ResidencyIndex idx(cfg);
  auto ok = idx.narrow(0, "eu-west-1");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(cfg->regions[ok.value()].name, "eu-west-1");
  EXPECT_EQ(idx.endpointRegion(1), ok.value());

  auto foreign = idx.narrow(0, "us-east-1");
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.error().code, kRegionOutsideJurisdiction);
  EXPECT_NE(foreign.error().message.find("outside jurisdiction 'EU'"), std::string::npos);

  auto no_country = idx.narrow(0, "nowhere");
  ASSERT_FALSE(no_country.ok());
  EXPECT_EQ(no_country.error().code, kRegionOutsideJurisdiction);

  auto unknown = idx.narrow(0, "eu-west-9");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, kUnknownRegion);
  auto junk = idx.narrow(0, std::string(200, 'x') + "\r\n");
  ASSERT_FALSE(junk.ok());
  EXPECT_EQ(junk.error().message, "unknown region");  // client bytes not echoed

  auto us = idx.narrow(1, "eu-central-1");
  ASSERT_FALSE(us.ok());
  EXPECT_EQ(us.error().code, kRegionOutsideJurisdiction);
}

TEST(ResidencyIndexTest, IngressFollowsGatewayRegion) {
  {
    auto cfg = load(twoJurisdictions());
    ResidencyIndex idx(cfg);
    EXPECT_TRUE(idx.ingressAllowed(0));  // unset: unproven but allowed
    EXPECT_TRUE(idx.ingressAllowed(1));
  }
  {
    auto cfg = load(twoJurisdictions("gateway: { region: us-east-1 }\n"));
    ResidencyIndex idx(cfg);
    EXPECT_FALSE(idx.ingressAllowed(0));  // EU tenant at a US gateway -> 421
    EXPECT_TRUE(idx.ingressAllowed(1));
  }
  {
    auto cfg = load(twoJurisdictions("gateway: { region: nowhere }\n"));
    ResidencyIndex idx(cfg);
    EXPECT_FALSE(idx.ingressAllowed(0));
    EXPECT_FALSE(idx.ingressAllowed(1));
  }
}

struct EvidenceCase {
  std::optional<std::string> value;
  EvidenceKind expected;
  std::string country;
};

TEST(EvidenceTest, VerdictTable) {
  auto cfg = load(twoJurisdictions());
  ASSERT_TRUE(cfg);
  const auto& eu = *cfg->jurisdiction("EU");
  const std::vector<EvidenceCase> cases = {
      {std::nullopt, EvidenceKind::MissingEvidence, ""},
      {"", EvidenceKind::MissingEvidence, ""},
      {"  ", EvidenceKind::MissingEvidence, ""},
      {"eu-central-1", EvidenceKind::Ok, "DE"},
      {" EU-West-1 ", EvidenceKind::Ok, "IE"},
      {"us-east-1", EvidenceKind::OutsideJurisdiction, "US"},
      {"nowhere", EvidenceKind::UnknownRegion, ""},
      {"DE", EvidenceKind::Ok, "DE"},
      {"no", EvidenceKind::Ok, "NO"},  // Norway: EEA
      {"GB", EvidenceKind::OutsideJurisdiction, "GB"},
      {"eu", EvidenceKind::Ok, ""},                       // configured label, all inside
      {"EMEA", EvidenceKind::OutsideJurisdiction, "GB"},  // label reaching outside
      {"us", EvidenceKind::OutsideJurisdiction, "US"},    // no label: ISO code
      {"europe", EvidenceKind::UnknownRegion, ""},
      {"XX", EvidenceKind::UnknownRegion, ""},
  };
  for (const auto& c : cases) {
    std::optional<std::string_view> v;
    if (c.value) v = *c.value;
    auto verdict = judgeEvidence(*cfg, eu, v);
    EXPECT_EQ(verdict.kind, c.expected)
        << (c.value ? *c.value : "<none>") << " -> " << evidenceKindName(verdict.kind);
    EXPECT_EQ(verdict.country, c.country) << (c.value ? *c.value : "<none>");
  }
  EXPECT_EQ(judgeEvidence(*cfg, eu, std::string_view("eu-west-1")).region, "eu-west-1");
  EXPECT_EQ(evidenceKindName(EvidenceKind::OutsideJurisdiction), "outside_jurisdiction");
  EXPECT_EQ(evidenceKindName(EvidenceKind::MissingEvidence), "missing_evidence");
  EXPECT_EQ(evidenceKindName(EvidenceKind::UnknownRegion), "unknown_region");
}

TEST(EvidenceTest, GeoLabelsAreOnlyTrustedWhenConfigured) {
  auto cfg = load("jurisdictions: { US: { countries: [US] } }\n");
  ASSERT_TRUE(cfg);
  const auto& us = *cfg->jurisdiction("US");
  EXPECT_EQ(judgeEvidence(*cfg, us, std::string_view("eu")).kind, EvidenceKind::UnknownRegion);
  EXPECT_EQ(judgeEvidence(*cfg, us, std::string_view("us")).kind, EvidenceKind::Ok);
}

}  // namespace
}  // namespace regiongate::residency
