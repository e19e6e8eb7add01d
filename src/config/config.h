#pragma once
// The gateway's configuration as loaded and validated from YAML (docs/configuration.md lists
// every key). A Config is immutable once loaded: workers receive it as a shared_ptr<const Config>
// snapshot and a reload swaps the pointer (in-flight requests keep the old one alive).
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "routing/policy.h"

namespace regiongate {

// Where a config value came from, for error messages ("file:line: key: problem").
struct SourceLoc {
  std::string file;
  int line = 0;  // 1-based; 0 = unknown / default
};

struct JurisdictionConfig {
  std::string name;
  std::string preset;                     // "EEA", "EU", "EEA+adequacy" or empty
  std::vector<std::string> countries;     // extra / custom ISO 3166-1 alpha-2 codes
  std::set<std::string> resolved;         // preset ∪ countries, filled by the loader
  SourceLoc loc;
};

struct RegionConfig {
  std::string name;     // e.g. "eu-central-1"
  std::string country;  // ISO 3166-1 alpha-2, e.g. "DE"
  SourceLoc loc;
};

// How the gateway learns where inference actually ran (docs/residency.md).
struct EvidenceSpec {
  enum class Kind { Endpoint, Header, Body };
  Kind kind = Kind::Endpoint;
  std::string header;               // Kind::Header: lower-cased header name
  std::vector<std::string> path;    // Kind::Body: JSON path, e.g. {"usage","inference_geo"}
  std::string raw = "endpoint";     // as written in config
};

struct ModelRef {
  std::string name;     // "llama-3.1-8b"
  std::string version;  // "" = unversioned / discovered
};

// An https:// endpoint's TLS client settings (`endpoints[].tls`). Empty fields take defaults:
// the system trust store, the URL's host as the name to verify, no client certificate.
struct EndpointTlsConfig {
  std::string ca_file;           // PEM bundle trusted instead of the system store
  std::string server_name;       // SNI and the name the certificate must carry; "" = URL host
  std::string client_cert_file;  // PEM; with client_key_file: mTLS to the upstream
  std::string client_key_file;
};

// A TLS listener's files (top-level `tls:` for listen, `admin_tls:` for admin_listen).
struct ListenerTlsConfig {
  std::string cert_file;       // PEM certificate chain
  std::string key_file;        // PEM private key
  std::string client_ca_file;  // "" = no client certificates; else required and verified (mTLS)
  bool enabled() const { return !cert_file.empty(); }
};

// Which wire protocol and provider an endpoint speaks (docs/providers.md). The upstream adapters
// build each attempt's request head from it; the proof reads the provider's forwarding sets.
enum class UpstreamApi { OpenAiCompatible, OpenAi, AzureOpenAi, Anthropic, Bedrock };

// "openai_compatible", "openai", "azure_openai", "anthropic", "bedrock".
std::string_view upstreamApiName(UpstreamApi api);
// The provider column of the provider geographies table: "openai", "azure", "anthropic", "aws";
// "" for openai_compatible (self-hosted engines have no provider geographies).
std::string_view upstreamApiProvider(UpstreamApi api);

// A secret read from the environment, a file or (only when explicitly allowed) the YAML.
// Never printed: it has no stream operator, and `source` (e.g. "env:AZURE_KEY") is what
// messages, /admin/status and logs may show instead.
struct Secret {
  std::string value;
  std::string source;  // "env:NAME" | "file:PATH" | "inline" | "" (none)
  bool empty() const { return value.empty(); }
};

// AWS credentials for SigV4 (from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
// or a shared credentials file). Read at load time, so every reload re-reads them.
struct AwsCredentials {
  std::string access_key_id;
  Secret secret_access_key;
  Secret session_token;  // empty for long-term keys
};

// Provider settings under the endpoint's `azure:`, `bedrock:`, `anthropic:`, `openai:` keys.
struct AzureSettings {
  std::string deployment;      // "" = the v1 path (/openai/v1/...); else /openai/deployments/NAME/...
  std::string api_version;     // required with `deployment` (query parameter api-version)
  std::string deployment_type = "standard";  // standard | data_zone | global
};
struct BedrockSettings {
  std::string region;          // AWS region the requests are signed for (e.g. eu-central-1)
  std::string auth = "sigv4";  // sigv4 | api_key (bearer token from credential_env/file)
  AwsCredentials aws;          // auth: sigv4
};
struct AnthropicSettings {
  std::string version = "2023-06-01";  // anthropic-version header
  // jurisdiction name -> inference_geo the gateway injects for that jurisdiction's tenants. Filled
  // by the loader: configured values, else the narrowest table geography inside the jurisdiction.
  // A jurisdiction missing here has no fitting geography: its requests are refused before sending.
  std::map<std::string, std::string> inference_geo;
};
struct OpenAiSettings {
  std::string residency;  // openai residency row name ("eu", "us", "global"); from the host if unset
};

struct EndpointConfig {
  std::string name;
  std::string url;          // http[s]://host:port[/base]
  std::string host;         // parsed from url
  uint16_t port = 80;
  std::string base_path;    // parsed from url, "" or "/v1-prefix"
  bool https = false;       // url is https://: verified TLS, never plaintext
  EndpointTlsConfig tls;
  std::string region;
  std::vector<ModelRef> models;
  EvidenceSpec evidence;
  std::string forwards = "none";  // "none" | "global" | "geo:LABEL"
  std::string provider = "self";  // "self" (we run it) | "third_party"
  // Sent upstream as Authorization by the generic (openai_compatible / openai) request path, e.g.
  // "Bearer sk-...": the inline `credential` (when allowed) or "Bearer " + the resolved secret.
  // Empty for the other APIs, whose adapters place `secret` in their own header.
  std::string credential;
  UpstreamApi api = UpstreamApi::OpenAiCompatible;
  Secret secret;                  // credential_env / credential_file (or inline, when allowed)
  std::string health_path;        // active health check path; "" = none (managed providers)
  AzureSettings azure;
  BedrockSettings bedrock;
  AnthropicSettings anthropic;
  OpenAiSettings openai;
  uint32_t weight = 1;
  uint32_t max_connections = 256; // pooled keep-alive connections per worker
  SourceLoc loc;

  bool serves(const std::string& model) const {
    for (const auto& m : models)
      if (m.name == model) return true;
    return false;
  }
};

struct TenantConfig {
  std::string name;
  std::string key_sha256;      // lower-case hex SHA-256 of the bearer key
  std::string jurisdiction;
  bool store_text = false;     // opt-in: audit keeps prompt/completion text (own jurisdiction only)
  bool allow_mixed_versions = false;  // a retry may land on another version of the model
  SourceLoc loc;
};

// Choices the loader parses into enums (names as in the YAML; *Name() gives them back).
enum class ViolationMode { Alert, Block };         // residency.on_violation
enum class AuditSink { Sqlite, Postgres, None };   // audit.sink: where records are stored
enum class AuditFailureMode { Reject, Drop };      // audit.on_audit_failure
enum class AuditDurability { Off, Normal, Full };  // audit.durability
std::string_view violationModeName(ViolationMode m);
std::string_view auditSinkName(AuditSink s);
std::string_view auditFailureModeName(AuditFailureMode m);
std::string_view auditDurabilityName(AuditDurability d);

// routing.share: routing knowledge shared among this gateway's workers and, per jurisdiction,
// with the other replicas through that jurisdiction's PostgreSQL database (LISTEN/NOTIFY).
// docs/operations.md "Several replicas". Read at start; changes take effect on restart.
struct RouteShareConfig {
  bool enabled = false;                    // the `routing.share` section is present
  bool workers = true;                     // workers of one process learn from each other
  std::map<std::string, std::string> dsn;  // jurisdiction -> PostgreSQL DSN (that jurisdiction's)
  uint32_t flush_ms = 10;                  // how often routes are batched and sent
  uint32_t queue_capacity = 4096;          // per worker, routes waiting to be shared
};

struct RoutingConfig {
  routing::PolicyKind policy = routing::PolicyKind::EstimatedTtft;
  // Every policy's tuning (docs/routing.md "Options"); kv_events stays null here (the gateway
  // attaches the precise index at run time).
  routing::PolicyOptions policy_options;
  uint32_t retries = 2;                // extra tries after the first, inside the pool
  uint32_t upstream_timeout_ms = 30000;   // whole upstream exchange
  uint32_t per_try_timeout_ms = 10000;    // connect + time to first response byte, per try
  uint32_t block_chars = 256;             // prefix block size (characters) for the prefix index
  RouteShareConfig share;
};

// The routing policies' options as configured: the gateway and the planner build policies from
// this, so both route by the same settings.
routing::PolicyOptions policyOptions(const RoutingConfig& routing);

struct HealthConfig {
  uint32_t consecutive_failures = 3;    // passive: failures that eject an endpoint
  uint32_t base_ejection_ms = 2000;     // first ejection; doubles each time, capped
  uint32_t max_ejection_ms = 60000;
  std::string path = "/health";         // active health check
  uint32_t interval_ms = 2000;          // 0 disables active checks
  uint32_t timeout_ms = 1000;
};

struct ResidencyConfig {
  ViolationMode on_violation = ViolationMode::Alert;
  bool require_evidence = true;         // missing evidence (header/body) is a violation
  // Provider geo labels an evidence value or `forwards: geo:LABEL` may use, and the countries
  // each one stands for (lower-case label -> ISO codes; presets expanded by the loader). A label
  // not listed here is never trusted: evidence "eu" is then unknown_region.
  std::map<std::string, std::set<std::string>> geo_labels;
};

struct AuditConfig {
  std::string dir = "./audit";
  AuditSink sink = AuditSink::Sqlite;
  std::map<std::string, std::string> dsn;      // jurisdiction -> PostgreSQL DSN
  AuditFailureMode on_audit_failure = AuditFailureMode::Reject;
  AuditDurability durability = AuditDurability::Normal;  // SQLite `synchronous`
  bool sqlite_wal_coalesce = true;             // accepted for compatibility; has no effect
  uint32_t queue_capacity = 65536;
  uint32_t batch_max = 512;
  uint32_t flush_interval_ms = 2;   // longest wait for a group to fill while admitted requests may still add to it (0: never wait)
  std::string replica_id;                      // default: hostname
  std::string checkpoint_key_file;             // HMAC key for signed checkpoints ("" = unsigned)
  // true: a response completes (last byte / terminating chunk) only after its audit record is
  // committed (group commit), so every answered request is in the audit even after a crash.
  bool wait_durable = true;
  uint32_t checkpoint_interval_ms = 10000;     // signed checkpoint at most this often (and at stop)
  uint32_t stop_timeout_ms = 5000;             // stop(): how long the writer may drain its queue
  // SQLite sink, wait_durable, durability off|normal: where records wait between the answer and
  // the commit (src/audit/spill.h). "auto": /dev/shm when it is a tmpfs; "off": the answer waits
  // for the commit; else a directory (a memory filesystem, or the spill gains nothing).
  std::string spill_dir = "auto";
};

struct LimitsConfig {
  uint64_t max_body_bytes = 1 << 20;
  uint32_t max_header_bytes = 16 * 1024;
  uint32_t read_timeout_ms = 10000;     // whole request (head + body) must arrive within this
  uint32_t idle_timeout_ms = 60000;     // keep-alive idle
  uint32_t max_connections = 10000;     // downstream, per gateway
  uint32_t tls_handshake_timeout_ms = 10000;  // TLS listeners: accept to end of handshake
  uint32_t drain_timeout_ms = 10000;    // graceful shutdown deadline
};

// A blue-green rollout of one model in one region (rollout/ drives the state machine; the
// residency proof covers every state: blue, green and both during the shift).
struct RolloutConfig {
  std::string region;
  std::string model;
  std::string from_version;                   // blue
  std::string to_version;                     // green
  std::vector<std::string> green_endpoints;   // endpoints that serve green (may be new ones)
  SourceLoc loc;
};

// Rollout machinery settings (the `rollout:` key; docs/rollouts.md).
// The traffic gates' limits (rollout/gate.h judges with them).
struct GateThresholds {
  uint32_t min_requests = 20;                   // green requests per step the gates need
  double max_error_rate = 0.05;                 // green error rate ceiling (absolute)
  double max_error_rate_increase = 0.02;        // ... and at most blue's rate plus this
  double max_ttft_p99_ratio = 1.5;              // green TTFT p99 <= blue p99 * ratio
  uint32_t max_ttft_p99_ms = 0;                 // absolute ceiling when blue has no samples; 0 = off
  double gate_alpha = 0.01;                     // significance of the step gates' tests
  double max_ttft_median_ratio = 1.2;           // rank test: green median <= blue median x this
};

// The `rollout:` section: the gate limits above, and the rest.
struct RolloutSettings : GateThresholds {
  std::string state_file;                       // "" = <audit.dir>/rollouts.json
  std::vector<uint32_t> steps = {10, 50, 100};  // green traffic % per step, ending at 100
  uint32_t step_ms = 60000;                     // dwell per step before the gates judge it
  uint32_t step_max_ms = 600000;                // too few samples by then: Inconclusive (pause)
  std::string parity_suite;                     // JSONL; "" = parity gate Inconclusive
  uint32_t parity_runs = 3;
  double parity_alpha = 0.01;                   // significance of the Mann-Whitney U test
  double parity_min_effect = 0.05;              // mean edit-distance gap that counts as a difference
  bool prewarm = true;                          // replay hottest prefixes to green before traffic
  uint32_t prewarm_prompts = 32;                // prompts replayed per green endpoint
  uint32_t sample_size = 256;                   // prompt bodies kept per (jurisdiction,region,model)
  uint32_t discovery_interval_ms = 10000;       // GET /v1/models on every endpoint; 0 = off
  uint32_t tick_ms = 500;                       // control loop period
  // Shared mode (docs/operations.md "Several replicas"): "" = single node (the state file).
  std::string store_dsn;
  uint32_t lease_ms = 10000;                    // gate-evaluation lease; renewed every tick
  uint32_t store_timeout_ms = 2000;             // bounds connecting and every statement
};

// Who may use the admin listener (the `admin:` key; docs/security.md). A bearer token's SHA-256
// is stored, never the token.
enum class AdminScope { Read, Operate };  // operate includes read
struct AdminTokenConfig {
  std::string name;    // written to the log for every admin action (never the token)
  std::string sha256;  // lower-case hex SHA-256 of the bearer token
  AdminScope scope = AdminScope::Read;
  SourceLoc loc;
};
struct AdminConfig {
  std::vector<AdminTokenConfig> tokens;  // none: reads open, mutations refused (403)
  // Paths anyone may GET without a token (scrapers, probes). Exact matches.
  std::vector<std::string> public_paths = {"/metrics", "/healthz", "/readyz"};
};

struct Config {
  std::string source_file;
  std::string listen = "127.0.0.1:8080";
  std::string admin_listen = "127.0.0.1:9901";
  ListenerTlsConfig tls;                // TLS on `listen` (cert_file empty: plaintext)
  ListenerTlsConfig admin_tls;          // TLS on `admin_listen`
  uint32_t workers = 2;
  std::string gateway_region;           // gateway.region; "" = unproven ingress
  std::vector<JurisdictionConfig> jurisdictions;
  std::vector<RegionConfig> regions;
  std::vector<EndpointConfig> endpoints;
  std::vector<TenantConfig> tenants;
  RoutingConfig routing;
  HealthConfig health;
  ResidencyConfig residency;
  AuditConfig audit;
  LimitsConfig limits;
  std::vector<RolloutConfig> rollouts;
  RolloutSettings rollout;
  AdminConfig admin;

  const JurisdictionConfig* jurisdiction(const std::string& name) const;
  const RegionConfig* region(const std::string& name) const;
  const EndpointConfig* endpoint(const std::string& name) const;
  const TenantConfig* tenantByName(const std::string& name) const;
  // Tenant whose key_sha256 equals `hex_digest` (lower-case hex), compared in constant time per
  // tenant; nullptr if none. Linear: the data plane uses residency::ResidencyIndex::tenantForKey.
  const TenantConfig* tenantByKeyDigest(std::string_view hex_digest) const;
};

using ConfigPtr = std::shared_ptr<const Config>;

}  // namespace regiongate
