#include "legal/legal_basis.h"

#include <vector>

namespace regiongate::legal {

namespace {

constexpr std::string_view kEuMember = "EU member state: the GDPR applies directly";
constexpr std::string_view kEeaMember = "EEA member state: the GDPR applies via the EEA Agreement";

// Tables as of 2026-01: European Commission, "Adequacy decisions" (see legal_basis.h).
const LegalBasis kEu27[] = {
    {"AT", kEuMember, "", std::nullopt}, {"BE", kEuMember, "", std::nullopt},
    {"BG", kEuMember, "", std::nullopt}, {"CY", kEuMember, "", std::nullopt},
    {"CZ", kEuMember, "", std::nullopt}, {"DE", kEuMember, "", std::nullopt},
    {"DK", kEuMember, "", std::nullopt}, {"EE", kEuMember, "", std::nullopt},
    {"ES", kEuMember, "", std::nullopt}, {"FI", kEuMember, "", std::nullopt},
    {"FR", kEuMember, "", std::nullopt}, {"GR", kEuMember, "", std::nullopt},
    {"HR", kEuMember, "", std::nullopt}, {"HU", kEuMember, "", std::nullopt},
    {"IE", kEuMember, "", std::nullopt}, {"IT", kEuMember, "", std::nullopt},
    {"LT", kEuMember, "", std::nullopt}, {"LU", kEuMember, "", std::nullopt},
    {"LV", kEuMember, "", std::nullopt}, {"MT", kEuMember, "", std::nullopt},
    {"NL", kEuMember, "", std::nullopt}, {"PL", kEuMember, "", std::nullopt},
    {"PT", kEuMember, "", std::nullopt}, {"RO", kEuMember, "", std::nullopt},
    {"SE", kEuMember, "", std::nullopt}, {"SI", kEuMember, "", std::nullopt},
    {"SK", kEuMember, "", std::nullopt},
};

const LegalBasis kEeaEfta[] = {
    {"IS", kEeaMember, "", std::nullopt},
    {"LI", kEeaMember, "", std::nullopt},
    {"NO", kEeaMember, "", std::nullopt},
};

const LegalBasis kAdequacy[] = {
    {"AD", "EU adequacy decision: Commission Decision 2010/625/EU of 19 October 2010", "",
     std::nullopt},
    {"AR", "EU adequacy decision: Commission Decision 2003/490/EC of 30 June 2003", "",
     std::nullopt},
    {"CA", "EU adequacy decision: Commission Decision 2002/2/EC of 20 December 2001",
     "covers only commercial organisations subject to PIPEDA", std::nullopt},
    {"CH", "EU adequacy decision: Commission Decision 2000/518/EC of 26 July 2000", "",
     std::nullopt},
    {"FO", "EU adequacy decision: Commission Decision 2010/146/EU of 5 March 2010", "",
     std::nullopt},
    {"GB",
     "EU adequacy decision: Commission Implementing Decision (EU) 2021/1772 of 28 June 2021 "
     "(GDPR), as renewed",
     "", std::chrono::year{2031} / 12 / 27},
    {"GG", "EU adequacy decision: Commission Decision 2003/821/EC of 21 November 2003", "",
     std::nullopt},
    {"IL", "EU adequacy decision: Commission Decision 2011/61/EU of 31 January 2011",
     "covers automated processing of personal data", std::nullopt},
    {"IM", "EU adequacy decision: Commission Decision 2004/411/EC of 28 April 2004", "",
     std::nullopt},
    {"JE", "EU adequacy decision: Commission Decision 2008/393/EC of 8 May 2008", "", std::nullopt},
    {"JP",
     "EU adequacy decision: Commission Implementing Decision (EU) 2019/419 of 23 January 2019",
     "covers personal information handling business operators under the APPI, with the "
     "Supplementary Rules",
     std::nullopt},
    {"KR",
     "EU adequacy decision: Commission Implementing Decision (EU) 2022/254 of 17 December 2021",
     "excludes personal credit information processed under the Credit Information Act by "
     "entities supervised by the Financial Services Commission",
     std::nullopt},
    {"NZ", "EU adequacy decision: Commission Implementing Decision 2013/65/EU of 19 December 2012",
     "", std::nullopt},
    {"US",
     "EU adequacy decision: Commission Implementing Decision (EU) 2023/1795 of 10 July 2023 "
     "(EU-US Data Privacy Framework)",
     "only organisations certified under the EU-US Data Privacy Framework", std::nullopt},
    {"UY", "EU adequacy decision: Commission Decision 2012/484/EU of 21 August 2012", "",
     std::nullopt},
};

struct Tables {
  std::vector<LegalBasis> eu, eea, eea_adequacy;
  std::vector<Preset> presets;
  Tables() {
    eu.assign(std::begin(kEu27), std::end(kEu27));
    eea = eu;
    eea.insert(eea.end(), std::begin(kEeaEfta), std::end(kEeaEfta));
    eea_adequacy = eea;
    eea_adequacy.insert(eea_adequacy.end(), std::begin(kAdequacy), std::end(kAdequacy));
    presets = {
        {"EEA", "EU-27 plus Iceland, Liechtenstein and Norway", eea},
        {"EU", "the 27 EU member states", eu},
        {"EEA+adequacy",
         "EEA plus every country with an EU adequacy decision (qualifiers and expiries apply)",
         eea_adequacy},
    };
  }
};

const Tables& tables() {
  static const Tables t;  // built once, thread-safe; never destroyed before exit
  return t;
}

}  // namespace

std::span<const Preset> allPresets() { return tables().presets; }

const Preset* findPreset(std::string_view name) {
  for (const auto& p : allPresets())
    if (p.name == name) return &p;
  return nullptr;
}

const LegalBasis* findBasis(const Preset& preset, std::string_view country) {
  for (const auto& b : preset.countries)
    if (b.country == country) return &b;
  return nullptr;
}

}  // namespace regiongate::legal
