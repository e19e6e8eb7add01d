// The residency proof over good and bad configs, including the tricky ones.
#include "residency/proof.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "common/hash.h"
#include "config/loader.h"

namespace regiongate::residency {
namespace {

std::string tenant(const std::string& name, const std::string& j) {
  return "  - { name: " + name + ", key_sha256: " + sha256Hex("key-" + name) +
         ", jurisdiction: " + j + " }\n";
}

// EU (EEA) with two regions, US with one; evidence everywhere; one EU and one US tenant.
std::string world(const std::string& gateway = "", const std::string& extra_endpoints = "",
                  const std::string& tail = "") {
  return gateway +
         "jurisdictions:\n  EU: { preset: EEA }\n  US: { countries: [US] }\n"
         "regions:\n  eu-central-1: { country: DE }\n  eu-west-1: { country: IE }\n"
         "  us-east-1: { country: US }\n"
         "endpoints:\n"
         "  - { name: fra-a, url: 'http://h:1', region: eu-central-1, models: [llama@v1],"
         " evidence: 'header:x-inference-region' }\n"
         "  - { name: dub-a, url: 'http://h:2', region: eu-west-1, models: [llama@v1],"
         " evidence: 'header:x-inference-region' }\n"
         "  - { name: iad-a, url: 'http://h:3', region: us-east-1, models: [llama@v1, llama@v2],"
         " evidence: 'header:x-inference-region' }\n" +
         extra_endpoints + "tenants:\n" + tenant("acme", "EU") + tenant("shop", "US") + tail;
}

using Err = std::tuple<std::string, std::string, std::string, std::string, std::string>;
// code, tenant, model, endpoint, country

struct ProofCase {
  const char* name;
  std::string yaml;
  std::string today = "2026-01-15";
  std::vector<Err> errors;                // exactly these
  std::vector<std::string> warnings;      // at least these codes
  std::vector<std::string> not_warnings;  // none of these codes
};

class ProofTest : public testing::TestWithParam<ProofCase> {};

TEST_P(ProofTest, ErrorsAndWarnings) {
  const auto& c = GetParam();
  auto cfg = loadConfigString(c.yaml, "p.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  auto report = proveResidency(**cfg, *legal::parseDate(c.today));
  std::vector<Err> got;
  for (const auto& e : report.errors) {
    got.emplace_back(e.code, e.tenant, e.model, e.endpoint, e.country);
    EXPECT_FALSE(e.message.empty());
  }
  auto want = c.errors;
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want) << report.table();
  EXPECT_EQ(report.ok(), c.errors.empty());
  std::set<std::string> warn_codes;
  for (const auto& w : report.warnings) warn_codes.insert(w.code);
  for (const auto& w : c.warnings)
    EXPECT_EQ(warn_codes.count(w), 1u) << w << "\n" << report.table();
  for (const auto& w : c.not_warnings)
    EXPECT_EQ(warn_codes.count(w), 0u) << w << "\n" << report.table();
  // Whatever else happens, no reachable path may lie outside its tenant's jurisdiction.
  for (const auto& p : report.paths) {
    const auto* j = (*cfg)->jurisdiction(p.jurisdiction);
    ASSERT_NE(j, nullptr);
    EXPECT_EQ(j->resolved.count(p.country), 1u) << p.tenant << " " << p.endpoint;
    EXPECT_NE(p.basis, "(no basis)");
  }
}

const std::string kFraForwarding =
    "  - { name: bedrock-eu, url: 'http://h:9', region: eu-central-1, models: [llama@v1],"
    " provider: third_party, forwards: global }\n";

INSTANTIATE_TEST_SUITE_P(
    Cases, ProofTest,
    testing::Values(
        ProofCase{"good_two_jurisdictions",
                  world(),
                  "2026-01-15",
                  {},
                  {"ingress_unproven"},
                  {"parity_gap", "forwarding_detect_only", "jurisdiction_without_endpoints",
                   "config_evidence_on_third_party"}},
        ProofCase{"gateway_in_eu_proves_ingress_for_eu_only",
                  world("gateway: { region: eu-central-1 }\n"),
                  "2026-01-15",
                  {{"ingress_outside_jurisdiction", "shop", "", "", "DE"}},
                  {},
                  {"ingress_unproven"}},
        ProofCase{"eu_tenant_at_us_gateway",
                  world("gateway: { region: us-east-1 }\n"),
                  "2026-01-15",
                  {{"ingress_outside_jurisdiction", "acme", "", "", "US"}},
                  {},
                  {"ingress_unproven"}},
        ProofCase{"rollout_green_pool_includes_foreign_endpoint",
                  world("", "",
                        "rollouts:\n  - { region: eu-central-1, model: llama, from: v1, to: v2,"
                        " green_endpoints: [iad-a] }\n"),
                  "2026-01-15",
                  {{"rollout_green_outside_jurisdiction", "acme", "llama", "iad-a", "US"}},
                  {},
                  {}},
        ProofCase{
            "rollout_green_pool_inside",
            world("",
                  "  - { name: fra-green, url: 'http://h:7', region: eu-central-1,"
                  " models: [llama@v2], evidence: 'header:x-inference-region' }\n",
                  "rollouts:\n  - { region: eu-central-1, model: llama, from: v1, to: v2,"
                  " green_endpoints: [fra-green] }\n"),
            "2026-01-15",
            {},
            {},
            {"rollout_green_other_region", "rollout_green_missing_model", "version_parity_gap"}},
        ProofCase{"rollout_green_in_other_region_inside_jurisdiction",
                  world("",
                        "  - { name: dub-green, url: 'http://h:7', region: eu-west-1,"
                        " models: [llama@v2], evidence: 'header:x-inference-region' }\n",
                        "rollouts:\n  - { region: eu-central-1, model: llama, from: v1, to: v2,"
                        " green_endpoints: [dub-green] }\n"),
                  "2026-01-15",
                  {},
                  {"rollout_green_other_region"},
                  {"rollout_green_missing_model"}},
        ProofCase{"global_forwarding_without_evidence",
                  world("", kFraForwarding),
                  "2026-01-15",
                  {{"forwarding_without_evidence", "acme", "llama", "bedrock-eu", "*"}},
                  {"config_evidence_on_third_party"},
                  {}},
        ProofCase{"global_forwarding_with_evidence",
                  world("",
                        "  - { name: bedrock-eu, url: 'http://h:9', region: eu-central-1,"
                        " models: [llama@v1], provider: third_party, forwards: global,"
                        " evidence: 'body:usage.inference_geo' }\n"),
                  "2026-01-15",
                  {{"forwarding_outside_jurisdiction", "acme", "llama", "bedrock-eu", "*"}},
                  {},
                  {"config_evidence_on_third_party", "forwarding_detect_only"}},
        ProofCase{"geo_forwarding_inside_label",
                  world("",
                        "  - { name: az-eu, url: 'http://h:9', region: eu-west-1,"
                        " models: [llama@v1], provider: third_party, forwards: 'geo:eu',"
                        " evidence: 'header:x-ms-region' }\n",
                        "residency: { geo_labels: { eu: [EU] } }\n"),
                  "2026-01-15",
                  {},
                  {},
                  {"forwarding_detect_only"}},
        ProofCase{"geo_forwarding_label_reaches_outside",
                  world("",
                        "  - { name: az-eu, url: 'http://h:9', region: eu-west-1,"
                        " models: [llama@v1], provider: third_party, forwards: 'geo:europe' }\n",
                        "residency: { geo_labels: { europe: [EEA, GB, CH] } }\n"),
                  "2026-01-15",
                  {{"forwarding_without_evidence", "acme", "llama", "az-eu", "CH"}},
                  {},
                  {}},
        ProofCase{"geo_forwarding_unmapped_label",
                  world("",
                        "  - { name: az-eu, url: 'http://h:9', region: eu-west-1,"
                        " models: [llama@v1], forwards: 'geo:eu' }\n"),
                  "2026-01-15",
                  {{"forwarding_without_evidence", "acme", "llama", "az-eu", "*"}},
                  {},
                  {}},
        ProofCase{"recognisably_global_model_id",
                  world("",
                        "  - { name: br, url: 'http://h:9', region: eu-central-1,"
                        " models: [global.anthropic.claude] }\n"),
                  "2026-01-15",
                  {},
                  {"recognisably_global", "single_region_pool", "parity_gap"},
                  {}},
        ProofCase{"two_jurisdictions_share_a_country",
                  "jurisdictions:\n  EU: { preset: EU }\n  DACH: { countries: [DE, AT, CH] }\n"
                  "regions:\n  eu-central-1: { country: DE }\n  eu-central-2: { country: CH }\n"
                  "endpoints:\n"
                  "  - { name: fra-a, url: 'http://h:1', region: eu-central-1, models: [m],"
                  " evidence: 'header:r' }\n"
                  "  - { name: zrh-a, url: 'http://h:2', region: eu-central-2, models: [m],"
                  " evidence: 'header:r' }\n"
                  "tenants:\n" +
                      tenant("eu-co", "EU") + tenant("dach-co", "DACH"),
                  "2026-01-15",
                  {},
                  {"single_region_pool"},
                  {"parity_gap"}},
        ProofCase{"third_party_trusting_config_evidence",
                  world("",
                        "  - { name: openai-eu, url: 'http://h:9', region: eu-west-1,"
                        " models: [llama@v1], provider: third_party }\n"),
                  "2026-01-15",
                  {},
                  {"config_evidence_on_third_party"},
                  {}},
        ProofCase{"single_region_pool_and_parity_gap",
                  world("",
                        "  - { name: fra-b, url: 'http://h:9', region: eu-central-1,"
                        " models: [mistral], evidence: 'header:r' }\n"),
                  "2026-01-15",
                  {},
                  {"single_region_pool", "parity_gap"},
                  {}},
        ProofCase{"jurisdiction_without_endpoints",
                  "jurisdictions:\n  EU: { preset: EEA }\n  JP: { countries: [JP] }\n"
                  "regions:\n  eu-central-1: { country: DE }\n"
                  "endpoints:\n  - { name: fra-a, url: 'http://h:1', region: eu-central-1,"
                  " models: [m], evidence: 'header:r' }\n"
                  "tenants:\n" +
                      tenant("eu-co", "EU") + tenant("jp-co", "JP"),
                  "2026-01-15",
                  {},
                  {"jurisdiction_without_endpoints"},
                  {"parity_gap"}},
        ProofCase{"basis_expiring_soon",
                  "jurisdictions:\n  EUA: { preset: EEA+adequacy }\n"
                  "regions:\n  eu-west-2: { country: GB }\n  eu-west-1: { country: IE }\n"
                  "endpoints:\n"
                  "  - { name: lhr-a, url: 'http://h:1', region: eu-west-2, models: [m],"
                  " evidence: 'header:r' }\n"
                  "  - { name: dub-a, url: 'http://h:2', region: eu-west-1, models: [m],"
                  " evidence: 'header:r' }\n"
                  "tenants:\n" +
                      tenant("t", "EUA"),
                  "2031-11-01",
                  {},
                  {"basis_expiring"},
                  {"qualifier_to_confirm"}},
        ProofCase{"basis_expired",
                  "jurisdictions:\n  EUA: { preset: EEA+adequacy }\n"
                  "regions:\n  eu-west-2: { country: GB }\n"
                  "endpoints:\n"
                  "  - { name: lhr-a, url: 'http://h:1', region: eu-west-2, models: [m],"
                  " evidence: 'header:r' }\n"
                  "tenants:\n" +
                      tenant("t", "EUA"),
                  "2032-01-01",
                  {{"basis_expired", "", "", "", "GB"}},
                  {},
                  {"basis_expiring"}},
        ProofCase{"basis_far_from_expiry",
                  "jurisdictions:\n  EUA: { preset: EEA+adequacy }\n"
                  "regions:\n  eu-west-2: { country: GB }\n"
                  "endpoints:\n"
                  "  - { name: lhr-a, url: 'http://h:1', region: eu-west-2, models: [m],"
                  " evidence: 'header:r' }\n"
                  "tenants:\n" +
                      tenant("t", "EUA"),
                  "2026-01-15",
                  {},
                  {},
                  {"basis_expiring"}},
        ProofCase{"qualifier_to_confirm",
                  "jurisdictions:\n  EUA: { preset: EEA+adequacy }\n"
                  "regions:\n  us-east-1: { country: US }\n"
                  "endpoints:\n"
                  "  - { name: iad-a, url: 'http://h:1', region: us-east-1, models: [m],"
                  " evidence: 'header:r' }\n"
                  "tenants:\n" +
                      tenant("t", "EUA"),
                  "2026-01-15",
                  {},
                  {"qualifier_to_confirm"},
                  {}}),
    [](const testing::TestParamInfo<ProofCase>& i) { return std::string(i.param.name); });

TEST(ProofTest, EndpointInRegionWithNoCountryIsAnError) {
  std::string yaml =
      "jurisdictions:\n  EU: { preset: EEA }\n"
      "regions:\n  eu-central-1: { country: DE }\n  somewhere: {}\n"
      "endpoints:\n"
      "  - { name: fra-a, url: 'http://h:1', region: eu-central-1, models: [m], evidence: "
      "'header:r' }\n"
      "  - { name: lost, url: 'http://h:2', region: somewhere, models: [m] }\n"
      "tenants:\n" +
      tenant("acme", "EU");
  auto cfg = loadConfigString(yaml);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  auto report = proveResidency(**cfg, *legal::parseDate("2026-01-15"));
  ASSERT_EQ(report.errors.size(), 1u) << report.table();
  EXPECT_EQ(report.errors[0].code, "region_without_country");
  EXPECT_EQ(report.errors[0].endpoint, "lost");
  EXPECT_EQ(report.errors[0].region, "somewhere");
  for (const auto& p : report.paths) EXPECT_NE(p.endpoint, "lost");
  EXPECT_FALSE(requireResidencyProof(**cfg, *legal::parseDate("2026-01-15")).ok());
}

TEST(ProofTest, NarrowingHeaderOutsideJurisdictionIsRefusedForEveryForeignRegion) {
  auto cfg = loadConfigString(world());
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  auto report = proveResidency(**cfg, *legal::parseDate("2026-01-15"));
  ASSERT_EQ(report.narrowing.size(), 2u);
  const auto& acme = report.narrowing[0];
  EXPECT_EQ(acme.tenant, "acme");
  EXPECT_EQ(acme.accepted, (std::vector<std::string>{"eu-central-1", "eu-west-1"}));
  EXPECT_EQ(acme.refused, (std::vector<std::string>{"us-east-1"}));
  const auto& shop = report.narrowing[1];
  EXPECT_EQ(shop.accepted, (std::vector<std::string>{"us-east-1"}));
  EXPECT_EQ(shop.refused, (std::vector<std::string>{"eu-central-1", "eu-west-1"}));
}

TEST(ProofTest, PathsListEveryPoolEndpointWithBasis) {
  auto cfg = loadConfigString(world("gateway: { region: eu-west-1 }\n"));
  ASSERT_TRUE(cfg.ok());
  auto report = proveResidency(**cfg, *legal::parseDate("2026-01-15"));
  std::set<std::tuple<std::string, std::string, std::string, std::string>> got;
  for (const auto& p : report.paths) got.emplace(p.tenant, p.model, p.endpoint, p.via);
  std::set<std::tuple<std::string, std::string, std::string, std::string>> want = {
      {"acme", "(ingress)", "(gateway)", "ingress"},
      {"acme", "llama", "fra-a", "pool"},
      {"acme", "llama", "dub-a", "pool"},
      {"shop", "llama", "iad-a", "pool"},
  };
  EXPECT_EQ(got, want);
  for (const auto& p : report.paths)
    if (p.endpoint == "fra-a") {
      EXPECT_NE(p.basis.find("EU member state"), std::string::npos);
    }
  // Output formats carry the same content.
  std::string json = report.json();
  EXPECT_NE(json.find("\"ok\":false"), std::string::npos);
  EXPECT_NE(json.find("\"code\":\"ingress_outside_jurisdiction\""), std::string::npos);
  std::string table = report.table();
  EXPECT_NE(table.find("PROOF FAILED"), std::string::npos);
  EXPECT_NE(table.find("dub-a"), std::string::npos);
}

TEST(ProofTest, RequireProofMessageListsErrors) {
  auto cfg = loadConfigString(world("gateway: { region: us-east-1 }\n"), "gw.yaml");
  ASSERT_TRUE(cfg.ok());
  auto st = requireResidencyProof(**cfg, *legal::parseDate("2026-01-15"));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "residency_proof_failed");
  EXPECT_NE(st.error().message.find("gw.yaml: residency proof failed"), std::string::npos);
  EXPECT_NE(st.error().message.find("acme"), std::string::npos);
  auto good = loadConfigString(world());
  EXPECT_TRUE(requireResidencyProof(**good, *legal::parseDate("2026-01-15")).ok());
}

// Plaintext beyond loopback can be read and its evidence forged on the path: a warning naming
// each such endpoint; loopback and https:// endpoints are not named.
TEST(ProofTest, PlaintextUpstreamBeyondLoopbackIsAWarning) {
  auto cfg = loadConfigString(
      world("", "  - { name: lo4, url: 'http://127.0.0.2:9', region: eu-central-1, models: [llama@v1] }\n"
                "  - { name: lo6, url: 'http://[::1]:9', region: eu-central-1, models: [llama@v1] }\n"
                "  - { name: lohost, url: 'http://localhost:9', region: eu-west-1, models: [llama@v1] }\n"
                "  - { name: sealed, url: 'https://h:9', region: eu-west-1, models: [llama@v1] }\n"),
      "p.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  auto report = proveResidency(**cfg, *legal::parseDate("2026-01-15"));
  std::set<std::string> named;
  for (const auto& w : report.warnings)
    if (w.code == "plaintext_upstream") {
      named.insert(w.endpoint);
      EXPECT_NE(w.message.find("https://"), std::string::npos) << w.message;
    }
  EXPECT_EQ(named, (std::set<std::string>{"fra-a", "dub-a", "iad-a"})) << report.table();
  EXPECT_TRUE(report.ok());
  EXPECT_TRUE(isLoopbackHost("127.255.0.1"));
  EXPECT_FALSE(isLoopbackHost("128.0.0.1"));
  EXPECT_FALSE(isLoopbackHost("localhost.example.com"));
}

}  // namespace
}  // namespace regiongate::residency
