#include "residency/residency_index.h"

#include <algorithm>
#include <cstring>
#include <set>

namespace regiongate::residency {

namespace {
const std::vector<uint32_t> kEmptyPool;
const std::vector<std::string> kNoModels;

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
uint64_t prefix64(const Sha256& d) {
  uint64_t v;
  std::memcpy(&v, d.data(), sizeof v);
  return v;
}
}  // namespace

ResidencyIndex::ResidencyIndex(ConfigPtr config) : config_(std::move(config)) {
  const Config& c = *config_;
  std::unordered_map<std::string_view, uint32_t> region_idx;
  for (uint32_t r = 0; r < c.regions.size(); ++r) region_idx.emplace(c.regions[r].name, r);
  endpoint_region_.reserve(c.endpoints.size());
  for (const auto& ep : c.endpoints) {
    auto it = region_idx.find(ep.region);
    endpoint_region_.push_back(it == region_idx.end() ? kNone : it->second);
  }

  for (const auto& ep : c.endpoints)
    for (const auto& m : ep.models) {
      served_anywhere_.insert(m.name);
      if (!m.version.empty()) served_anywhere_.insert(m.name + "@" + m.version);
    }
  pools_.resize(c.jurisdictions.size());
  models_.resize(c.jurisdictions.size());
  for (uint32_t j = 0; j < c.jurisdictions.size(); ++j) {
    const auto& jur = c.jurisdictions[j];
    std::set<std::string> names;
    for (uint32_t e = 0; e < c.endpoints.size(); ++e) {
      const auto& ep = c.endpoints[e];
      uint32_t r = endpoint_region_[e];
      if (r == kNone) continue;
      const std::string& country = c.regions[r].country;
      if (country.empty() || !jur.resolved.count(country)) continue;
      std::set<std::string> keys;  // an endpoint joins each key's pool once
      for (const auto& m : ep.models) {
        keys.insert(m.name);
        if (!m.version.empty()) keys.insert(m.name + "@" + m.version);
        names.insert(m.name);
      }
      for (const auto& k : keys) pools_[j][k].push_back(e);
    }
    models_[j].assign(names.begin(), names.end());
  }

  tenant_jurisdiction_.reserve(c.tenants.size());
  for (uint32_t t = 0; t < c.tenants.size(); ++t) {
    const auto& tenant = c.tenants[t];
    uint32_t j = kNone;
    for (uint32_t i = 0; i < c.jurisdictions.size(); ++i)
      if (c.jurisdictions[i].name == tenant.jurisdiction) j = i;
    tenant_jurisdiction_.push_back(j);

    bool ingress = true;
    if (!c.gateway_region.empty()) {
      auto it = region_idx.find(c.gateway_region);
      const std::string* country =
          it == region_idx.end() ? nullptr : &c.regions[it->second].country;
      ingress = j != kNone && country != nullptr && !country->empty() &&
                c.jurisdictions[j].resolved.count(*country) > 0;
    }
    ingress_allowed_.push_back(ingress);

    Sha256 d{};
    bool valid = tenant.key_sha256.size() == 64;
    for (size_t i = 0; valid && i < 32; ++i) {
      int hi = hexValue(tenant.key_sha256[2 * i]), lo = hexValue(tenant.key_sha256[2 * i + 1]);
      if (hi < 0 || lo < 0)
        valid = false;
      else
        d[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    tenant_digests_.push_back(d);
    if (valid) digest_prefix_.emplace(prefix64(d), t);
  }
}

uint32_t ResidencyIndex::tenantIndexForKey(std::string_view bearer_key) const {
  Sha256 d = sha256(bearer_key);
  auto [lo, hi] = digest_prefix_.equal_range(prefix64(d));
  uint32_t found = kNone;
  for (auto it = lo; it != hi; ++it) {
    const Sha256& want = tenant_digests_[it->second];
    std::string_view a(reinterpret_cast<const char*>(want.data()), want.size());
    std::string_view b(reinterpret_cast<const char*>(d.data()), d.size());
    if (constantTimeEquals(a, b) && found == kNone) found = it->second;
  }
  return found;
}

const TenantConfig* ResidencyIndex::tenantForKey(std::string_view bearer_key) const {
  uint32_t t = tenantIndexForKey(bearer_key);
  return t == kNone ? nullptr : &config_->tenants[t];
}

uint32_t ResidencyIndex::tenantIndex(const TenantConfig& tenant) const {
  return static_cast<uint32_t>(&tenant - config_->tenants.data());
}

const JurisdictionConfig& ResidencyIndex::jurisdictionOf(uint32_t tenant_index) const {
  static const JurisdictionConfig kNoJurisdiction;  // only for hand-built, unvalidated configs
  if (tenant_index >= tenant_jurisdiction_.size() || tenant_jurisdiction_[tenant_index] == kNone)
    return kNoJurisdiction;
  return config_->jurisdictions[tenant_jurisdiction_[tenant_index]];
}

const std::vector<uint32_t>& ResidencyIndex::pool(uint32_t tenant_index,
                                                  std::string_view model) const {
  if (tenant_index >= tenant_jurisdiction_.size()) return kEmptyPool;
  uint32_t j = tenant_jurisdiction_[tenant_index];
  if (j == kNone) return kEmptyPool;
  auto it = pools_[j].find(model);
  return it == pools_[j].end() ? kEmptyPool : it->second;
}

bool ResidencyIndex::modelServedAnywhere(std::string_view model) const {
  return served_anywhere_.find(model) != served_anywhere_.end();
}

const std::vector<std::string>& ResidencyIndex::models(uint32_t tenant_index) const {
  if (tenant_index >= tenant_jurisdiction_.size()) return kNoModels;
  uint32_t j = tenant_jurisdiction_[tenant_index];
  return j == kNone ? kNoModels : models_[j];
}

uint32_t ResidencyIndex::regionIndex(std::string_view region_name) const {
  const auto& regions = config_->regions;
  for (uint32_t r = 0; r < regions.size(); ++r)
    if (regions[r].name == region_name) return r;
  return kNone;
}

bool ResidencyIndex::countryInJurisdiction(uint32_t tenant_index, std::string_view country) const {
  if (tenant_index >= tenant_jurisdiction_.size() || country.empty()) return false;
  uint32_t j = tenant_jurisdiction_[tenant_index];
  if (j == kNone) return false;
  const auto& set = config_->jurisdictions[j].resolved;
  return set.find(std::string(country)) != set.end();
}

Result<uint32_t> ResidencyIndex::narrow(uint32_t tenant_index, std::string_view region_name) const {
  uint32_t r = regionIndex(region_name);
  if (r == kNone) {
    // Echo the value only when it is short and printable: it comes from a client header.
    bool printable = region_name.size() <= 64 &&
                     std::all_of(region_name.begin(), region_name.end(),
                                 [](char c) { return c > ' ' && c < 0x7f && c != '"'; });
    return Error{ErrorSource::Downstream, std::string(kUnknownRegion),
                 printable ? "unknown region '" + std::string(region_name) + "'"
                           : std::string("unknown region"),
                 false};
  }
  const RegionConfig& region = config_->regions[r];
  if (!countryInJurisdiction(tenant_index, region.country)) {
    const std::string& jname = jurisdictionOf(tenant_index).name;
    return Error{ErrorSource::Policy, std::string(kRegionOutsideJurisdiction),
                 "region '" + region.name + "' (" +
                     (region.country.empty() ? std::string("no country") : region.country) +
                     ") is outside jurisdiction '" + jname + "'",
                 false};
  }
  return r;
}

}  // namespace regiongate::residency
