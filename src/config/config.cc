#include "config/config.h"

#include "common/hash.h"

namespace regiongate {

std::string_view upstreamApiName(UpstreamApi api) {
  switch (api) {
    case UpstreamApi::OpenAiCompatible:
      return "openai_compatible";
    case UpstreamApi::OpenAi:
      return "openai";
    case UpstreamApi::AzureOpenAi:
      return "azure_openai";
    case UpstreamApi::Anthropic:
      return "anthropic";
    case UpstreamApi::Bedrock:
      return "bedrock";
  }
  return "openai_compatible";
}

std::string_view upstreamApiProvider(UpstreamApi api) {
  switch (api) {
    case UpstreamApi::OpenAiCompatible:
      return "";
    case UpstreamApi::OpenAi:
      return "openai";
    case UpstreamApi::AzureOpenAi:
      return "azure";
    case UpstreamApi::Anthropic:
      return "anthropic";
    case UpstreamApi::Bedrock:
      return "aws";
  }
  return "";
}

namespace {
// Indexed by the enum's value; the loader parses with the same names.
constexpr std::string_view kViolationModes[] = {"alert", "block"};
constexpr std::string_view kAuditSinks[] = {"sqlite", "postgres", "none"};
constexpr std::string_view kAuditFailureModes[] = {"reject", "drop"};
constexpr std::string_view kAuditDurabilities[] = {"off", "normal", "full"};
}  // namespace

std::string_view violationModeName(ViolationMode m) { return kViolationModes[size_t(m)]; }
std::string_view auditSinkName(AuditSink s) { return kAuditSinks[size_t(s)]; }
std::string_view auditFailureModeName(AuditFailureMode m) { return kAuditFailureModes[size_t(m)]; }
std::string_view auditDurabilityName(AuditDurability d) { return kAuditDurabilities[size_t(d)]; }

routing::PolicyOptions policyOptions(const RoutingConfig& routing) {
  return routing.policy_options;
}

const JurisdictionConfig* Config::jurisdiction(const std::string& name) const {
  for (const auto& j : jurisdictions)
    if (j.name == name) return &j;
  return nullptr;
}
const RegionConfig* Config::region(const std::string& name) const {
  for (const auto& r : regions)
    if (r.name == name) return &r;
  return nullptr;
}
const EndpointConfig* Config::endpoint(const std::string& name) const {
  for (const auto& e : endpoints)
    if (e.name == name) return &e;
  return nullptr;
}
const TenantConfig* Config::tenantByName(const std::string& name) const {
  for (const auto& t : tenants)
    if (t.name == name) return &t;
  return nullptr;
}
const TenantConfig* Config::tenantByKeyDigest(std::string_view hex_digest) const {
  const TenantConfig* found = nullptr;
  for (const auto& t : tenants)  // no early exit: time does not depend on which tenant matched
    if (constantTimeEquals(t.key_sha256, hex_digest) && found == nullptr) found = &t;
  return found;
}

}  // namespace regiongate
