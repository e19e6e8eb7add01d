#pragma once
// ResidencyIndex: everything the data plane asks about residency, precomputed once per Config
// snapshot so each request does a few lookups and no allocation.
//
// Lifetime and threads: built on the control plane (startup, reload) from a ConfigPtr, which it
// keeps alive; immutable afterwards, so any number of worker threads may read one instance
// without locks. Publish it next to (or instead of) the ConfigPtr in the worker snapshot.
//
// Pool rule (docs/residency.md): the pool of (tenant, model) is every endpoint whose region's
// country is in the tenant's jurisdiction and that serves the model, in config order. Endpoints
// in a region without a country are in no pool. A request never leaves its pool: every pick,
// retry and failover must draw from pool() (narrowed by narrow()), which is what `check` proves.
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/hash.h"
#include "common/result.h"
#include "config/config.h"

namespace regiongate::residency {

// Error::code values from narrow() (the gateway maps them to HTTP: gateway/error_table.h).
inline constexpr std::string_view kRegionOutsideJurisdiction = "region_outside_jurisdiction";
inline constexpr std::string_view kUnknownRegion = "unknown_region";

class ResidencyIndex {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  explicit ResidencyIndex(ConfigPtr config);
  static std::shared_ptr<const ResidencyIndex> build(ConfigPtr config) {
    return std::make_shared<const ResidencyIndex>(std::move(config));
  }

  const Config& config() const { return *config_; }
  const ConfigPtr& configPtr() const { return config_; }

  // --- tenants (indices into config().tenants) ---
  // SHA-256 of the bearer key (no allocation), then a hash-map probe and a constant-time
  // comparison of the full digest. nullptr / kNone when no tenant has this key.
  const TenantConfig* tenantForKey(std::string_view bearer_key) const;
  uint32_t tenantIndexForKey(std::string_view bearer_key) const;
  uint32_t tenantIndex(const TenantConfig& tenant) const;  // tenant must belong to config()
  // An empty JurisdictionConfig (no countries) if the tenant's jurisdiction is not configured.
  const JurisdictionConfig& jurisdictionOf(uint32_t tenant_index) const;
  // False when gateway.region is set and its country is outside the tenant's jurisdiction: the
  // request must be refused with 421 before its body is read. True when gateway.region is unset.
  bool ingressAllowed(uint32_t tenant_index) const { return ingress_allowed_[tenant_index]; }

  // --- pools (indices into config().endpoints) ---
  // `model` is "NAME" (every endpoint serving any version of NAME) or "NAME@VERSION" (only
  // endpoints listing that version). Unknown model / empty pool: a static empty vector.
  const std::vector<uint32_t>& pool(uint32_t tenant_index, std::string_view model) const;
  // Whether any configured endpoint, in any jurisdiction, serves `model` ("NAME" or
  // "NAME@VERSION"): tells a model that does not exist from one deployed only elsewhere.
  bool modelServedAnywhere(std::string_view model) const;
  // Model names (unversioned, sorted) with a non-empty pool for the tenant: GET /v1/models.
  const std::vector<std::string>& models(uint32_t tenant_index) const;

  // --- narrowing (x-regiongate-region) ---
  // The region index (into config().regions) the request may be narrowed to, or an Error with
  // code kUnknownRegion (not a configured region) or kRegionOutsideJurisdiction (configured, but
  // its country is outside the tenant's jurisdiction or unknown).
  // Never widens: filter pool() with endpointRegion(e) == the returned index.
  Result<uint32_t> narrow(uint32_t tenant_index, std::string_view region_name) const;
  uint32_t endpointRegion(uint32_t endpoint_index) const {
    return endpoint_region_[endpoint_index];
  }
  uint32_t regionIndex(std::string_view region_name) const;  // kNone if unknown

  // --- countries ---
  bool countryInJurisdiction(uint32_t tenant_index, std::string_view country) const;

 private:
  struct StrHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using PoolMap = std::unordered_map<std::string, std::vector<uint32_t>, StrHash, std::equal_to<>>;

  ConfigPtr config_;
  std::vector<uint32_t> tenant_jurisdiction_;     // tenant -> index into config.jurisdictions
  std::vector<bool> ingress_allowed_;             // per tenant
  std::vector<PoolMap> pools_;                    // per jurisdiction: model key -> endpoints
  std::vector<std::vector<std::string>> models_;  // per jurisdiction
  std::set<std::string, std::less<>> served_anywhere_;  // model keys of every endpoint
  std::vector<uint32_t> endpoint_region_;         // endpoint -> region index
  std::vector<Sha256> tenant_digests_;            // per tenant (binary form of key_sha256)
  std::unordered_multimap<uint64_t, uint32_t> digest_prefix_;  // first 8 digest bytes -> tenant
};

using ResidencyIndexPtr = std::shared_ptr<const ResidencyIndex>;

}  // namespace regiongate::residency
