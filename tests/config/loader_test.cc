// Loader: good configs load into the expected structs; every bad one is refused with
// "FILE:LINE: KEY.PATH: problem".
#include "config/loader.h"

#include <gtest/gtest.h>

#include <string>

#include "common/hash.h"

namespace regiongate {
namespace {

const char* kGood = R"(listen: 127.0.0.1:8080
admin_listen: "[::1]:9901"
workers: 4
gateway: { region: eu-central-1 }
jurisdictions:
  EU: { preset: EEA }
  US: { countries: [us] }
  CH-ONLY: { countries: [CH, LI] }
regions:
  eu-central-1: { country: DE }
  us-east-1: { country: US }
endpoints:
  - name: fra-a
    url: http://127.0.0.1:9101/openai/
    region: eu-central-1
    models: [llama-3.1-8b, "qwen2.5-7b@2024-09"]
    evidence: "header:X-Inference-Region"
    forwards: geo:EU
    provider: third_party
    credential: Bearer sk-upstream
    allow_inline_credential: true
    weight: 3
    max_connections: 16
  - { name: iad-a, url: "http://localhost", region: us-east-1, models: [llama-3.1-8b],
      evidence: "body:usage.inference_geo" }
tenants:
  - { name: acme, key_sha256: E080900DCB66DA1438F1A34E6072623B3027840C2E98165BCD517EC2F7F5EC63,
      jurisdiction: EU, store_text: true, allow_mixed_versions: false }
routing: { policy: round_robin, retries: 3, upstream_timeout_ms: 5000, per_try_timeout_ms: 1000 }
health: { consecutive_failures: 5, path: /ready, interval_ms: 0 }
residency: { on_violation: block, require_evidence: false, geo_labels: { eu: [EU], US: [US] } }
audit: { dir: /tmp/a, sink: postgres, dsn: { EU: "host=/tmp dbname=eu" }, durability: full, sqlite_wal_coalesce: false }
limits: { max_body_bytes: 2048, drain_timeout_ms: 0 }
rollouts:
  - { region: eu-central-1, model: llama-3.1-8b, from: v1, to: v2, green_endpoints: [fra-a] }
rollout: { store_dsn: "host=/tmp dbname=control", lease_ms: 4000, store_timeout_ms: 700,
           gate_alpha: 0.05, max_ttft_median_ratio: 1.5 }
)";

TEST(LoaderTest, LoadsEveryKey) {
  auto r = loadConfigString(kGood, "gw.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = **r;
  EXPECT_EQ(c.source_file, "gw.yaml");
  EXPECT_EQ(c.admin_listen, "[::1]:9901");
  EXPECT_EQ(c.workers, 4u);
  EXPECT_EQ(c.gateway_region, "eu-central-1");
  ASSERT_EQ(c.jurisdictions.size(), 3u);
  EXPECT_EQ(c.jurisdictions[0].name, "EU");
  EXPECT_EQ(c.jurisdictions[0].resolved.size(), 30u);                   // EU-27 + IS, LI, NO
  EXPECT_EQ(c.jurisdictions[1].resolved, std::set<std::string>{"US"});  // upper-cased
  EXPECT_EQ(c.jurisdictions[2].countries, (std::vector<std::string>{"CH", "LI"}));
  EXPECT_EQ(c.jurisdictions[0].loc.line, 6);
  ASSERT_EQ(c.endpoints.size(), 2u);
  const auto& e = c.endpoints[0];
  EXPECT_EQ(e.host, "127.0.0.1");
  EXPECT_EQ(e.port, 9101);
  EXPECT_EQ(e.base_path, "/openai");
  ASSERT_EQ(e.models.size(), 2u);
  EXPECT_EQ(e.models[1].name, "qwen2.5-7b");
  EXPECT_EQ(e.models[1].version, "2024-09");
  EXPECT_EQ(e.evidence.kind, EvidenceSpec::Kind::Header);
  EXPECT_EQ(e.evidence.header, "x-inference-region");
  EXPECT_EQ(e.forwards, "geo:eu");
  EXPECT_EQ(e.provider, "third_party");
  EXPECT_EQ(e.credential, "Bearer sk-upstream");
  EXPECT_EQ(e.weight, 3u);
  EXPECT_EQ(e.max_connections, 16u);
  EXPECT_EQ(e.loc.line, 13);
  const auto& e2 = c.endpoints[1];
  EXPECT_EQ(e2.port, 80);
  EXPECT_EQ(e2.base_path, "");
  EXPECT_EQ(e2.evidence.kind, EvidenceSpec::Kind::Body);
  EXPECT_EQ(e2.evidence.path, (std::vector<std::string>{"usage", "inference_geo"}));
  EXPECT_EQ(e2.forwards, "none");
  ASSERT_EQ(c.tenants.size(), 1u);
  EXPECT_EQ(c.tenants[0].key_sha256, sha256Hex("sk-eu-demo"));  // lower-cased
  EXPECT_TRUE(c.tenants[0].store_text);
  EXPECT_EQ(c.routing.policy, routing::PolicyKind::RoundRobin);
  EXPECT_EQ(c.routing.retries, 3u);
  EXPECT_EQ(c.routing.block_chars, 256u);  // default kept
  EXPECT_EQ(c.health.consecutive_failures, 5u);
  EXPECT_EQ(c.health.interval_ms, 0u);
  EXPECT_EQ(c.residency.on_violation, ViolationMode::Block);
  EXPECT_FALSE(c.residency.require_evidence);
  EXPECT_EQ(c.residency.geo_labels.at("eu").size(), 27u);
  EXPECT_EQ(c.residency.geo_labels.at("us"), std::set<std::string>{"US"});
  EXPECT_EQ(c.audit.sink, AuditSink::Postgres);
  EXPECT_EQ(c.audit.dsn.at("EU"), "host=/tmp dbname=eu");
  EXPECT_EQ(c.audit.durability, AuditDurability::Full);
  EXPECT_FALSE(c.audit.sqlite_wal_coalesce);
  EXPECT_EQ(c.limits.max_body_bytes, 2048u);
  EXPECT_EQ(c.limits.drain_timeout_ms, 0u);
  ASSERT_EQ(c.rollouts.size(), 1u);
  EXPECT_EQ(c.rollouts[0].to_version, "v2");
  EXPECT_EQ(c.rollout.store_dsn, "host=/tmp dbname=control");
  EXPECT_EQ(c.rollout.lease_ms, 4000u);
  EXPECT_EQ(c.rollout.store_timeout_ms, 700u);
  EXPECT_DOUBLE_EQ(c.rollout.gate_alpha, 0.05);
  EXPECT_DOUBLE_EQ(c.rollout.max_ttft_median_ratio, 1.5);
  EXPECT_EQ(c.tenantByKeyDigest(sha256Hex("sk-eu-demo")), &c.tenants[0]);
  EXPECT_EQ(c.tenantByKeyDigest(sha256Hex("sk-other")), nullptr);
}

TEST(LoaderTest, RoutingCarriesEveryPolicyOption) {
  auto r = loadConfigString(
      "jurisdictions: { EU: { preset: EU } }\n"
      "routing: { policy: sglang_cache_aware, index_capacity_blocks: 1000, index_ttl_ms: 5000,\n"
      "  hash_key_blocks: 3, virtual_nodes: 32, bounded_load_factor: 1.5,\n"
      "  balance_abs_threshold: 8, balance_rel_threshold: 2.5, cache_threshold: 0.5,\n"
      "  default_prefill_ms_per_token: 0.2, service_ms_per_request: 30, fixed_ms: 4,\n"
      "  learn_alpha: 0.1, miss_weight: 2 }\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)->routing.policy, routing::PolicyKind::SglangCacheAware);
  const routing::PolicyOptions o = policyOptions((*r)->routing);
  EXPECT_EQ(o.index_capacity_blocks, 1000u);
  EXPECT_EQ(o.index_ttl_ms, 5000u);
  EXPECT_EQ(o.hash_key_blocks, 3u);
  EXPECT_EQ(o.virtual_nodes, 32u);
  EXPECT_DOUBLE_EQ(o.bounded_load_factor, 1.5);
  EXPECT_EQ(o.balance_abs_threshold, 8u);
  EXPECT_DOUBLE_EQ(o.balance_rel_threshold, 2.5);
  EXPECT_DOUBLE_EQ(o.cache_threshold, 0.5);
  EXPECT_DOUBLE_EQ(o.default_prefill_ms_per_token, 0.2);
  EXPECT_DOUBLE_EQ(o.service_ms_per_request, 30);
  EXPECT_DOUBLE_EQ(o.fixed_ms, 4);
  EXPECT_DOUBLE_EQ(o.learn_alpha, 0.1);
  EXPECT_DOUBLE_EQ(o.miss_weight, 2);
  EXPECT_EQ(o.kv_events, nullptr);
  // Unset options keep routing::PolicyOptions' defaults.
  auto d = loadConfigString("jurisdictions: { EU: { preset: EU } }\n");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(policyOptions((*d)->routing).miss_weight, routing::PolicyOptions{}.miss_weight);
  EXPECT_EQ((*d)->routing.policy, routing::PolicyKind::EstimatedTtft);
}

TEST(LoaderTest, OldPolicyNamesStillLoad) {
  auto a =
      loadConfigString("jurisdictions: { EU: { preset: EU } }\nrouting: { policy: prefix_tree }\n");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ((*a)->routing.policy, routing::PolicyKind::SglangCacheAware);
  auto b =
      loadConfigString("jurisdictions: { EU: { preset: EU } }\nrouting: { policy: cache_aware }\n");
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ((*b)->routing.policy, routing::PolicyKind::EstimatedTtft);
}

TEST(LoaderTest, RoutingShareKeys) {
  auto off = loadConfigString("jurisdictions: { EU: { preset: EU } }\n");
  ASSERT_TRUE(off.ok()) << off.error().message;
  EXPECT_FALSE((*off)->routing.share.enabled);
  auto on = loadConfigString(
      "jurisdictions: { EU: { preset: EU }, US: { countries: [US] } }\n"
      "routing:\n  share: { workers: false, dsn: { EU: \"host=/tmp dbname=eu\" }, flush_ms: 3, "
      "queue_capacity: 99 }\n");
  ASSERT_TRUE(on.ok()) << on.error().message;
  const auto& s = (*on)->routing.share;
  EXPECT_TRUE(s.enabled);
  EXPECT_FALSE(s.workers);
  EXPECT_EQ(s.dsn.size(), 1u);
  EXPECT_EQ(s.dsn.at("EU"), "host=/tmp dbname=eu");
  EXPECT_EQ(s.flush_ms, 3u);
  EXPECT_EQ(s.queue_capacity, 99u);
  auto empty = loadConfigString("jurisdictions: { EU: { preset: EU } }\nrouting: { share: {} }\n");
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_TRUE((*empty)->routing.share.enabled);
  EXPECT_TRUE((*empty)->routing.share.workers);
  EXPECT_TRUE((*empty)->routing.share.dsn.empty());
}

TEST(LoaderTest, DefaultsWhenSectionsAbsent) {
  auto r = loadConfigString("jurisdictions: { EU: { preset: EU } }\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  Config defaults;
  EXPECT_EQ((*r)->listen, defaults.listen);
  EXPECT_EQ((*r)->routing.retries, defaults.routing.retries);
  EXPECT_EQ((*r)->audit.sink, defaults.audit.sink);
  EXPECT_TRUE((*r)->audit.sqlite_wal_coalesce);
  EXPECT_EQ((*r)->jurisdictions[0].resolved.size(), 27u);
  EXPECT_TRUE((*r)->endpoints.empty());
}

TEST(LoaderTest, ExampleConfigsLoad) {
  for (const char* name : {"gateway.yaml", "gateway-eu.yaml", "bad-proof.yaml"}) {
    std::string path = std::string(REGIONGATE_SOURCE_DIR) + "/examples/" + name;
    auto r = loadConfigFile(path);
    EXPECT_TRUE(r.ok()) << name << ": " << r.error().message;
  }
  auto bad = loadConfigFile(std::string(REGIONGATE_SOURCE_DIR) + "/examples/bad-config.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("bad-config.yaml:9: endpoints[1].region: unknown region "
                                     "'eu-west-9'"),
            std::string::npos)
      << bad.error().message;
}

TEST(LoaderTest, MissingFile) {
  auto r = loadConfigFile("/nonexistent/gw.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_config");
  EXPECT_NE(r.error().message.find("/nonexistent/gw.yaml: cannot open"), std::string::npos);
}

// A minimal valid base; each bad case appends or replaces lines.
const char* kBase = R"(jurisdictions:
  EU: { preset: EEA }
regions:
  eu-central-1: { country: DE }
endpoints:
  - { name: fra-a, url: "http://127.0.0.1:9101", region: eu-central-1, models: [m] }
tenants:
  - { name: acme, key_sha256: e080900dcb66da1438f1a34e6072623b3027840c2e98165bcd517ec2f7f5ec63, jurisdiction: EU }
)";

struct BadCase {
  const char* name;
  std::string yaml;
  std::string expected;  // exact prefix "gw.yaml:LINE: KEY: problem..."
};

class LoaderErrorTest : public testing::TestWithParam<BadCase> {};

TEST_P(LoaderErrorTest, NamesFileLineKeyAndProblem) {
  const auto& c = GetParam();
  auto r = loadConfigString(c.yaml, "gw.yaml");
  ASSERT_FALSE(r.ok()) << c.name << " loaded but should not";
  EXPECT_EQ(r.error().source, ErrorSource::Config);
  EXPECT_EQ(r.error().code, "invalid_config");
  EXPECT_EQ(r.error().message.substr(0, c.expected.size()), c.expected)
      << "full message: " << r.error().message;
}

std::string base() { return kBase; }

INSTANTIATE_TEST_SUITE_P(
    Cases, LoaderErrorTest,
    testing::Values(
        BadCase{"yaml_syntax", "listen: [unclosed\n", "gw.yaml:2: YAML syntax error"},
        BadCase{"empty", "", "gw.yaml:1: (top level): config is empty"},
        BadCase{"top_not_map", "- a\n- b\n", "gw.yaml:1: (top level): expected a mapping"},
        BadCase{"unknown_top_key", base() + "listn: 1.2.3.4:80\n",
                "gw.yaml:9: listn: unknown key (expected one of: listen,"},
        BadCase{"unknown_nested_key", base() + "routing:\n  retires: 2\n",
                "gw.yaml:10: routing.retires: unknown key (expected one of: policy, retries"},
        BadCase{"duplicate_top_key", base() + "listen: 1.2.3.4:80\nlisten: 1.2.3.4:81\n",
                "gw.yaml:10: listen: duplicate key (first at line 9)"},
        BadCase{"wrong_type_uint", base() + "routing: { retries: two }\n",
                "gw.yaml:9: routing.retries: expected a whole number, got 'two'"},
        BadCase{"negative", base() + "workers: -1\n",
                "gw.yaml:9: workers: expected a whole number"},
        BadCase{"out_of_range", base() + "workers: 0\n",
                "gw.yaml:9: workers: must be between 1 and 1024, got 0"},
        BadCase{"wrong_type_bool", base() + "residency: { require_evidence: maybe }\n",
                "gw.yaml:9: residency.require_evidence: expected true or false"},
        BadCase{"wrong_type_map", base() + "routing: [1, 2]\n",
                "gw.yaml:9: routing: expected a mapping"},
        BadCase{"bad_enum", base() + "residency: { on_violation: ignore }\n",
                "gw.yaml:9: residency.on_violation: 'ignore' is not one of: alert, block"},
        BadCase{"bad_sink", base() + "audit: { sink: kafka }\n",
                "gw.yaml:9: audit.sink: 'kafka' is not one of: sqlite, postgres, none"},
        BadCase{"bad_audit_failure", base() + "audit: { on_audit_failure: ignore }\n",
                "gw.yaml:9: audit.on_audit_failure: 'ignore' is not one of: reject, drop"},
        BadCase{"bad_policy", base() + "routing: { policy: random }\n",
                "gw.yaml:9: routing.policy: 'random' is not one of: round_robin, least_loaded, "
                "consistent_hash, sglang_cache_aware, estimated_ttft"},
        BadCase{"bad_policy_option", base() + "routing: { cache_threshold: 2 }\n",
                "gw.yaml:9: routing.cache_threshold: expected a number between 0 and 1"},
        BadCase{"bad_listen", base() + "listen: localhost\n",
                "gw.yaml:9: listen: expected HOST:PORT, got 'localhost'"},
        BadCase{"bad_listen_port", base() + "listen: 127.0.0.1:99999\n",
                "gw.yaml:9: listen: port out of range"},
        BadCase{"unknown_country", "jurisdictions:\n  EU: { countries: [DE, XX] }\n",
                "gw.yaml:2: jurisdictions.EU.countries[1]: 'XX' is not an ISO 3166-1 alpha-2"},
        BadCase{"unknown_preset", "jurisdictions:\n  EU: { preset: Europe }\n",
                "gw.yaml:2: jurisdictions.EU.preset: unknown preset 'Europe'"},
        BadCase{"empty_jurisdiction", "jurisdictions:\n  EU: {}\n",
                "gw.yaml:2: jurisdictions.EU: a jurisdiction needs a preset or at least one"},
        BadCase{"duplicate_jurisdiction",
                "jurisdictions:\n  EU: { preset: EU }\n  EU: { preset: EEA }\n",
                "gw.yaml:3: jurisdictions.EU: duplicate name (first at line 2)"},
        BadCase{"region_unknown_country", "regions:\n  mars-1: { country: MA1 }\n",
                "gw.yaml:2: regions.mars-1.country: 'MA1' is not an ISO 3166-1 alpha-2"},
        BadCase{"region_unknown_key", "regions:\n  r1: { country: DE, zone: a }\n",
                "gw.yaml:2: regions.r1.zone: unknown key (expected one of: country)"},
        BadCase{"gateway_unknown_region", base() + "gateway: { region: us-east-1 }\n",
                "gw.yaml:9: gateway.region: unknown region 'us-east-1' (declared: eu-central-1)"},
        BadCase{"unknown_section", base() + "extra:\n", "gw.yaml:9: extra: unknown key"},
        BadCase{"endpoint_missing_url",
                "regions: { r: { country: DE } }\nendpoints:\n  - { name: a, region: r, models: "
                "[m] }\n",
                "gw.yaml:3: endpoints[0].url: missing (required for every endpoint)"},
        BadCase{"endpoint_tls_on_http",
                "regions: { r: { country: DE } }\nendpoints:\n"
                "  - { name: a, url: \"http://h\", region: r, models: [m], tls: { ca_file: c } }\n",
                "gw.yaml:3: endpoints[0].tls: only an https:// url takes tls settings"},
        BadCase{"endpoint_tls_unknown_key",
                "regions: { r: { country: DE } }\nendpoints:\n"
                "  - { name: a, url: \"https://h\", region: r, models: [m], tls: { verify: no } }\n",
                "gw.yaml:3: endpoints[0].tls.verify: unknown key (expected one of: ca_file,"},
        BadCase{"endpoint_tls_cert_without_key",
                "regions: { r: { country: DE } }\nendpoints:\n"
                "  - { name: a, url: \"https://h\", region: r, models: [m],"
                " tls: { client_cert_file: c.pem } }\n",
                "gw.yaml:3: endpoints[0].tls: client_cert_file and client_key_file go together"},
        BadCase{"endpoint_tls_bad_server_name",
                "regions: { r: { country: DE } }\nendpoints:\n"
                "  - { name: a, url: \"https://h\", region: r, models: [m],"
                " tls: { server_name: \"a b\" } }\n",
                "gw.yaml:3: endpoints[0].tls.server_name: expected a DNS name or an IP address"},
        BadCase{"listener_tls_without_key", base() + "tls: { cert_file: c.pem }\n",
                "gw.yaml:9: tls.key_file: missing (a TLS listener needs a certificate and its key)"},
        BadCase{"admin_tls_unknown_key",
                base() + "admin_tls: { cert_file: c.pem, key_file: k.pem, ca_file: x }\n",
                "gw.yaml:9: admin_tls.ca_file: unknown key (expected one of: cert_file, key_file,"},
        BadCase{"endpoint_bad_url",
                "regions: { r: { country: DE } }\nendpoints:\n"
                "  - { name: a, url: \"127.0.0.1:80\", region: r, models: [m] }\n",
                "gw.yaml:3: endpoints[0].url: '127.0.0.1:80': expected http[s]://HOST[:PORT][/BASE]"},
        BadCase{"endpoint_bad_evidence",
                "regions: { r: { country: DE } }\nendpoints:\n"
                "  - { name: a, url: \"http://h:1\", region: r, models: [m],\n"
                "      evidence: \"cookie:x\" }\n",
                "gw.yaml:4: endpoints[0].evidence: 'cookie:x' is not an evidence source"},
        BadCase{"endpoint_bad_body_path",
                "regions: { r: { country: DE } }\nendpoints:\n"
                "  - { name: a, url: \"http://h:1\", region: r, models: [m], evidence: "
                "\"body:a..b\" }\n",
                "gw.yaml:3: endpoints[0].evidence: 'body:a..b': expected body:a.b.c"},
        BadCase{
            "endpoint_bad_forwards",
            "regions: { r: { country: DE } }\nendpoints:\n"
            "  - { name: a, url: \"http://h:1\", region: r, models: [m], forwards: sometimes }\n",
            "gw.yaml:3: endpoints[0].forwards: 'sometimes' is not one of: none, global, geo:LABEL"},
        BadCase{"endpoint_bad_model",
                "regions: { r: { country: DE } }\nendpoints:\n"
                "  - name: a\n    url: http://h:1\n    region: r\n    models: [ok, \"m@\"]\n",
                "gw.yaml:6: endpoints[0].models[1]: model 'm@': expected NAME or NAME@VERSION"},
        BadCase{"endpoint_duplicate_model",
                "regions: { r: { country: DE } }\nendpoints:\n"
                "  - { name: a, url: \"http://h:1\", region: r, models: [m@1, m@1] }\n",
                "gw.yaml:3: endpoints[0].models[1]: model 'm@1' listed twice"},
        BadCase{"endpoint_duplicate_name",
                "regions: { r: { country: DE } }\nendpoints:\n"
                "  - { name: a, url: \"http://h:1\", region: r, models: [m] }\n"
                "  - { name: a, url: \"http://h:2\", region: r, models: [m] }\n",
                "gw.yaml:4: endpoints[1].name: duplicate endpoint name 'a' (also endpoints[0])"},
        BadCase{"endpoint_weight_zero",
                "regions: { r: { country: DE } }\nendpoints:\n"
                "  - { name: a, url: \"http://h:1\", region: r, models: [m], weight: 0 }\n",
                "gw.yaml:3: endpoints[0].weight: must be between 1 and"},
        BadCase{"tenant_short_key",
                "jurisdictions: { EU: { preset: EU } }\ntenants:\n"
                "  - { name: t, key_sha256: abc, jurisdiction: EU }\n",
                "gw.yaml:3: tenants[0].key_sha256: expected 64 hex characters"},
        BadCase{"tenant_unknown_jurisdiction",
                "jurisdictions: { EU: { preset: EU } }\ntenants:\n"
                "  - name: t\n"
                "    key_sha256: e080900dcb66da1438f1a34e6072623b3027840c2e98165bcd517ec2f7f5ec63\n"
                "    jurisdiction: UK\n",
                "gw.yaml:5: tenants[0].jurisdiction: unknown jurisdiction 'UK' (declared: EU)"},
        BadCase{"tenant_same_key",
                base() + "  - { name: other, key_sha256: "
                         "e080900dcb66da1438f1a34e6072623b3027840c2e98165bcd517ec2f7f5ec63, "
                         "jurisdiction: EU }\n",
                "gw.yaml:9: tenants[1].key_sha256: same key as tenant 'acme' (tenants[0])"},
        BadCase{"tenant_duplicate_name",
                base() + "  - { name: acme, key_sha256: "
                         "35974b2637844e4489217c4c0910a6efde0b044b8535994a278f42276967f584, "
                         "jurisdiction: EU }\n",
                "gw.yaml:9: tenants[1].name: duplicate tenant name 'acme' (also tenants[0])"},
        BadCase{"tenant_missing_jurisdiction",
                "tenants:\n  - { name: t, key_sha256: "
                "e080900dcb66da1438f1a34e6072623b3027840c2e98165bcd517ec2f7f5ec63 }\n",
                "gw.yaml:2: tenants[0].jurisdiction: missing"},
        BadCase{"rollout_unknown_endpoint",
                base() + "rollouts:\n  - { region: eu-central-1, model: m, from: a, to: b,\n"
                         "      green_endpoints: [fra-a, fra-z] }\n",
                "gw.yaml:11: rollouts[0].green_endpoints[1]: unknown endpoint 'fra-z'"},
        BadCase{"rollout_same_versions",
                base() + "rollouts:\n  - { region: eu-central-1, model: m, from: a, to: a, "
                         "green_endpoints: [fra-a] }\n",
                "gw.yaml:10: rollouts[0].to: same version as 'from'"},
        BadCase{"audit_dsn_unknown_jurisdiction", base() + "audit:\n  dsn:\n    US: host=x\n",
                "gw.yaml:11: audit.dsn.US: unknown jurisdiction 'US'"},
        BadCase{"routing_share_unknown_jurisdiction",
                base() + "routing:\n  share:\n    dsn:\n      US: host=x\n",
                "gw.yaml:12: routing.share.dsn.US: unknown jurisdiction 'US'"},
        BadCase{"routing_share_unknown_key", base() + "routing: { share: { dns: {} } }\n",
                "gw.yaml:9: routing.share.dns: unknown key (expected one of: workers, dsn"},
        BadCase{"routing_share_flush_zero", base() + "routing: { share: { flush_ms: 0 } }\n",
                "gw.yaml:9: routing.share.flush_ms: must be between 1 and"},
        BadCase{"audit_postgres_without_dsn", base() + "audit:\n  sink: postgres\n",
                "gw.yaml:10: audit.dsn: sink is postgres but jurisdiction 'EU' (tenant 'acme')"},
        BadCase{"health_ejection_order",
                base() + "health: { base_ejection_ms: 5000, max_ejection_ms: 100 }\n",
                "gw.yaml:9: health.max_ejection_ms: must be at least health.base_ejection_ms"},
        BadCase{"geo_label_bad_country", base() + "residency: { geo_labels: { eu: [EU, XY] } }\n",
                "gw.yaml:9: residency.geo_labels.eu[1]: 'XY' is not an ISO 3166-1 alpha-2"},
        BadCase{"audit_coalesce_not_bool", base() + "audit: { sqlite_wal_coalesce: often }\n",
                "gw.yaml:9: audit.sqlite_wal_coalesce: expected"},
        BadCase{"rollout_lease_shorter_than_two_ticks",
                base() + "rollout: { store_dsn: \"host=db\", tick_ms: 500, lease_ms: 900 }\n",
                "gw.yaml:9: rollout.lease_ms: must be at least twice rollout.tick_ms (1000), got 900"},
        BadCase{"rollout_gate_alpha_out_of_range", base() + "rollout: { gate_alpha: 0.7 }\n",
                "gw.yaml:9: rollout.gate_alpha: expected a number between 0 and 0.5"},
        BadCase{"rollout_store_timeout_too_small", base() + "rollout: { store_timeout_ms: 5 }\n",
                "gw.yaml:9: rollout.store_timeout_ms:"},
        BadCase{"string_expected", base() + "audit: { dir: [a, b] }\n",
                "gw.yaml:9: audit.dir: expected a string"}),
    [](const testing::TestParamInfo<BadCase>& i) { return std::string(i.param.name); });

TEST(LoaderTest, EndpointNamingUnknownRegionNamesIndexAndLine) {
  std::string yaml = R"(jurisdictions: { EU: { preset: EEA } }
regions:
  eu-central-1: { country: DE }
endpoints:
  - { name: a, url: "http://h:1", region: eu-central-1, models: [m] }
  - { name: b, url: "http://h:2", region: eu-central-1, models: [m] }
  - name: c
    url: http://h:3
    region: eu-west-9
    models: [m]
)";
  auto r = loadConfigString(yaml, "gw.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "gw.yaml:9: endpoints[2].region: unknown region 'eu-west-9' (declared: eu-central-1)");
}

TEST(LoaderTest, FlowAndBlockStylesAreEquivalent) {
  auto flow = loadConfigString(
      "regions: { r: { country: DE } }\n"
      "endpoints: [{ name: a, url: \"http://h:1/x\", region: r, models: [m@1] }]\n");
  auto block = loadConfigString(
      "regions:\n  r:\n    country: DE\nendpoints:\n  - name: a\n    url: http://h:1/x\n"
      "    region: r\n    models:\n      - m@1\n");
  ASSERT_TRUE(flow.ok()) << flow.error().message;
  ASSERT_TRUE(block.ok()) << block.error().message;
  EXPECT_EQ((*flow)->endpoints[0].base_path, (*block)->endpoints[0].base_path);
  EXPECT_EQ((*flow)->endpoints[0].models[0].version, "1");
  EXPECT_EQ((*block)->endpoints[0].models[0].version, "1");
}

TEST(LoaderTest, RegionWithoutCountryLoads) {
  // Allowed at load time so `check` can name every endpoint it strands (proof error).
  auto r = loadConfigString("regions:\n  somewhere: {}\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)->regions[0].country, "");
}

TEST(GrammarTest, ModelRefs) {
  auto a = parseModelRef("llama-3.1-8b");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->name, "llama-3.1-8b");
  EXPECT_EQ(a->version, "");
  auto b = parseModelRef("meta/llama@2024-07");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->name, "meta/llama");
  EXPECT_EQ(b->version, "2024-07");
  for (const char* bad : {"", "@v1", "m@", "a@b@c", "has space", "a,b"})
    EXPECT_FALSE(parseModelRef(bad).ok()) << bad;
}

TEST(GrammarTest, Urls) {
  auto u = parseEndpointUrl("http://[::1]:8000/v1/");
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 8000);
  EXPECT_EQ(u->base_path, "/v1");
  for (const char* bad : {"http://", "http://:80", "http://h:70000", "http://u:p@h:1",
                          "http://h:1/x?y=1", "ftp://h", "http://h:1a", "http://a:b:1"})
    EXPECT_FALSE(parseEndpointUrl(bad).ok()) << bad;
  auto https = parseEndpointUrl("https://h/v1");
  ASSERT_TRUE(https.ok()) << https.error().message;
  EXPECT_TRUE(https->https);
  EXPECT_EQ(https->port, 443);
  EXPECT_EQ(https->base_path, "/v1");
  auto plain = parseEndpointUrl("http://h");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->https);
  EXPECT_EQ(plain->port, 80);
}

TEST(LoaderTest, TlsKeys) {
  auto r = loadConfigString(
      "tls: { cert_file: /c/gw.pem, key_file: /c/gw.key }\n"
      "admin_tls: { cert_file: /c/a.pem, key_file: /c/a.key, client_ca_file: /c/ops-ca.pem }\n"
      "limits: { tls_handshake_timeout_ms: 2500 }\n"
      "regions: { eu-central-1: { country: DE } }\n"
      "endpoints:\n"
      "  - { name: x, url: \"https://api.example.com:8443/v1\", region: eu-central-1, models: [m],"
      " tls: { ca_file: /c/ca.pem, server_name: api.internal, client_cert_file: /c/me.pem,"
      " client_key_file: /c/me.key } }\n"
      "  - { name: y, url: \"https://api.example.com\", region: eu-central-1, models: [m] }\n"
      "  - { name: z, url: \"http://127.0.0.1:9000\", region: eu-central-1, models: [m] }\n",
      "gw.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = *r.value();
  EXPECT_EQ(c.tls.cert_file, "/c/gw.pem");
  EXPECT_EQ(c.tls.key_file, "/c/gw.key");
  EXPECT_TRUE(c.tls.client_ca_file.empty());
  EXPECT_EQ(c.admin_tls.client_ca_file, "/c/ops-ca.pem");
  EXPECT_EQ(c.limits.tls_handshake_timeout_ms, 2500u);
  const auto& x = c.endpoints[0];
  EXPECT_TRUE(x.https);
  EXPECT_EQ(x.port, 8443);
  EXPECT_EQ(x.tls.ca_file, "/c/ca.pem");
  EXPECT_EQ(x.tls.server_name, "api.internal");
  EXPECT_EQ(x.tls.client_cert_file, "/c/me.pem");
  EXPECT_EQ(x.tls.client_key_file, "/c/me.key");
  EXPECT_TRUE(c.endpoints[1].https);
  EXPECT_EQ(c.endpoints[1].port, 443);
  EXPECT_TRUE(c.endpoints[1].tls.ca_file.empty()) << "system trust store by default";
  EXPECT_FALSE(c.endpoints[2].https);
  EXPECT_FALSE(Config{}.tls.enabled());
}

TEST(GrammarTest, Evidence) {
  auto h = parseEvidence("header:X-MS-Region");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->header, "x-ms-region");
  EXPECT_EQ(h->raw, "header:X-MS-Region");
  auto b = parseEvidence("body:usage.inference_geo");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->path.size(), 2u);
  EXPECT_EQ(parseEvidence("endpoint")->kind, EvidenceSpec::Kind::Endpoint);
  for (const char* bad : {"header:", "header:a b", "body:", "body:.a", "body:a.", "region"})
    EXPECT_FALSE(parseEvidence(bad).ok()) << bad;
}

}  // namespace
}  // namespace regiongate
