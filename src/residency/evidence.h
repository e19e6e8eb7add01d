#pragma once
// Judging the evidence of where inference actually ran (docs/residency.md).
//
// The rule, in order (values are trimmed of spaces/tabs and compared case-insensitively):
//   1. no value, or an empty one          -> missing_evidence
//   2. a configured region name           -> that region's country (a region without a country
//                                            -> unknown_region)
//   3. a label under residency.geo_labels -> every country of the label must be inside
//   4. an ISO 3166-1 alpha-2 code ("DE")  -> that country
//   5. anything else (e.g. "eu" when no geo label says what it means) -> unknown_region
// The verdict is ok only when the country (or, for a label, all of its countries) is in the
// jurisdiction; otherwise outside_jurisdiction. Whether missing evidence counts as a violation
// is the caller's decision (residency.require_evidence). For `evidence: endpoint` the caller
// passes the endpoint's configured region name.
//
// Allocation-free; safe to call from any thread on an immutable Config.
#include <optional>
#include <string_view>

#include "config/config.h"

namespace regiongate::residency {

enum class EvidenceKind { Ok, OutsideJurisdiction, MissingEvidence, UnknownRegion };

struct EvidenceVerdict {
  EvidenceKind kind = EvidenceKind::MissingEvidence;
  // The country the value resolved to (for a geo label: the first country outside the
  // jurisdiction, or "" when all are inside). Views into the Config or static tables: valid
  // while the Config lives.
  std::string_view country;
  std::string_view region;  // the configured region the value named, if any

  bool ok() const { return kind == EvidenceKind::Ok; }
};

// Metric label / audit value: "ok", "outside_jurisdiction", "missing_evidence", "unknown_region".
std::string_view evidenceKindName(EvidenceKind kind);

EvidenceVerdict judgeEvidence(const Config& config, const JurisdictionConfig& jurisdiction,
                              std::optional<std::string_view> actual_region_or_location);

}  // namespace regiongate::residency
