#pragma once
// Legal bases as data: the jurisdiction presets (EEA, EU, EEA+adequacy) and, for every country a
// preset contains, why personal data may be processed there (EU membership, the EEA Agreement or
// a Commission adequacy decision), with the decision's qualifier and expiry where it has one.
// Source: European Commission, "Adequacy decisions",
// https://commission.europa.eu/law/law-topic/data-protection/international-dimension-data-protection/adequacy-decisions_en
// (see docs/residency.md for the list as of this table's date and how to update it).
#include <optional>
#include <span>
#include <string_view>

#include "legal/date.h"

namespace regiongate::legal {

struct LegalBasis {
  std::string_view country;     // ISO 3166-1 alpha-2
  std::string_view basis;       // e.g. "EU member state (GDPR applies)"
  std::string_view qualifier;   // "" = none; otherwise what the operator must confirm
  std::optional<Date> expires;  // last day the basis applies; nullopt = no expiry date
};

struct Preset {
  std::string_view name;  // "EEA", "EU", "EEA+adequacy"
  std::string_view description;
  std::span<const LegalBasis> countries;
};

std::span<const Preset> allPresets();
const Preset* findPreset(std::string_view name);  // exact, case-sensitive
// The basis for `country` within `preset`, or nullptr if the preset does not contain it.
const LegalBasis* findBasis(const Preset& preset, std::string_view country);

}  // namespace regiongate::legal
