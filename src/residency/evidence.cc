#include "residency/evidence.h"

#include "legal/countries.h"
#include "legal/provider_geographies.h"

namespace regiongate::residency {

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}
bool contains(const JurisdictionConfig& j, std::string_view country) {
  // std::set<std::string> has no heterogeneous lookup; country codes are 2 chars (SSO, no heap).
  return !country.empty() && j.resolved.count(std::string(country)) > 0;
}
// Ok when every country of `g` is inside `j`; otherwise the first one outside ("*" if global).
EvidenceVerdict judgeGeography(const JurisdictionConfig& j, const legal::ProviderGeography& g) {
  EvidenceVerdict v;
  v.kind = EvidenceKind::Ok;
  if (g.anywhere) {
    v.kind = EvidenceKind::OutsideJurisdiction;
    v.country = "*";
    return v;
  }
  for (const auto& c : g.countries) {
    if (!contains(j, c)) {
      v.kind = EvidenceKind::OutsideJurisdiction;
      v.country = c;
      break;
    }
  }
  return v;
}
}  // namespace

std::string_view evidenceKindName(EvidenceKind kind) {
  switch (kind) {
    case EvidenceKind::Ok:
      return "ok";
    case EvidenceKind::OutsideJurisdiction:
      return "outside_jurisdiction";
    case EvidenceKind::MissingEvidence:
      return "missing_evidence";
    case EvidenceKind::UnknownRegion:
      return "unknown_region";
  }
  return "unknown";
}

EvidenceVerdict judgeEvidence(const Config& config, const JurisdictionConfig& jurisdiction,
                              std::optional<std::string_view> actual, UpstreamApi api) {
  EvidenceVerdict v;
  if (!actual) return v;  // MissingEvidence
  std::string_view value = trim(*actual);
  if (value.empty()) return v;

  for (const auto& r : config.regions) {
    if (!iequals(r.name, value)) continue;
    v.region = r.name;
    v.country = r.country;
    if (r.country.empty())
      v.kind = EvidenceKind::UnknownRegion;
    else
      v.kind =
          contains(jurisdiction, r.country) ? EvidenceKind::Ok : EvidenceKind::OutsideJurisdiction;
    return v;
  }
  for (const auto& [label, countries] : config.residency.geo_labels) {
    if (!iequals(label, value)) continue;
    v.kind = EvidenceKind::Ok;
    for (const auto& c : countries) {
      if (!contains(jurisdiction, c)) {
        v.kind = EvidenceKind::OutsideJurisdiction;
        v.country = c;
        break;
      }
    }
    return v;
  }
  const auto& table = legal::ProviderGeographies::builtin();
  if (const legal::ProviderGeography* r = table.region(value)) {
    v.region = r->name;  // canonical spelling: metric labels never carry the peer's string
    v.country = r->countries.front();
    v.kind = contains(jurisdiction, v.country) ? EvidenceKind::Ok : EvidenceKind::OutsideJurisdiction;
    return v;
  }
  if (std::string_view provider = upstreamApiProvider(api); !provider.empty())
    if (const legal::ProviderGeography* g = table.geography(provider, value)) {
      v = judgeGeography(jurisdiction, *g);
      v.region = g->name;
      return v;
    }
  if (const legal::CountryInfo* c = legal::findCountry(value)) {
    v.country = c->code;
    v.kind = contains(jurisdiction, c->code) ? EvidenceKind::Ok : EvidenceKind::OutsideJurisdiction;
    return v;
  }
  v.kind = EvidenceKind::UnknownRegion;
  return v;
}

}  // namespace regiongate::residency
