#pragma once
// Judging the evidence of where inference actually ran (docs/residency.md).
//
// The rule, in order (values are trimmed of spaces/tabs and compared case-insensitively):
//   1. no value, or an empty one          -> missing_evidence
//   2. a configured region name           -> that region's country (a region without a country
//                                            -> unknown_region)
//   3. a label under residency.geo_labels -> every country of the label must be inside
//   4. a provider region of the provider geographies table ("eu-central-1", Azure's
//      "Sweden Central"; compared ignoring case and spaces) -> that region's country
//   5. a geography of the endpoint's own provider in that table (Bedrock "eu", Anthropic "us",
//      Azure data zone "eu") -> every country must be inside; "*" (global) never is
//   6. an ISO 3166-1 alpha-2 code ("DE")  -> that country
//   7. anything else (e.g. "eu" from a self-hosted engine no label defines) -> unknown_region
// The verdict is ok only when the country (or, for a geography, all of its countries) is in
// the jurisdiction; otherwise outside_jurisdiction. Whether missing evidence counts as a violation
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
  // The country the value resolved to (for a geo label or geography: the first country outside
  // the jurisdiction, "*" for a global one, or "" when all are inside). Views into the Config or static tables: valid
  // while the Config lives.
  std::string_view country;
  // The configured region, or the provider geographies row, the value named, in its canonical
  // spelling ("swedencentral" for "Sweden Central"); "" for a country code or an unknown value.
  std::string_view region;

  bool ok() const { return kind == EvidenceKind::Ok; }
};

// Metric label / audit value: "ok", "outside_jurisdiction", "missing_evidence", "unknown_region".
std::string_view evidenceKindName(EvidenceKind kind);

// `api` scopes step 5 to the endpoint's provider (openai_compatible has none).
EvidenceVerdict judgeEvidence(const Config& config, const JurisdictionConfig& jurisdiction,
                              std::optional<std::string_view> actual_region_or_location,
                              UpstreamApi api = UpstreamApi::OpenAiCompatible);

}  // namespace regiongate::residency
