// Country table, presets and legal bases, dates.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "legal/countries.h"
#include "legal/date.h"
#include "legal/legal_basis.h"

namespace regiongate::legal {
namespace {

TEST(CountriesTest, AllAssignedCodesAndOnlyThose) {
  EXPECT_EQ(allCountries().size(), 249u);
  std::string prev;
  for (const auto& c : allCountries()) {
    EXPECT_LT(prev, std::string(c.code));  // sorted, unique
    prev = std::string(c.code);
  }
  ASSERT_NE(findCountry("DE"), nullptr);
  EXPECT_EQ(findCountry("de")->code, "DE");
  EXPECT_EQ(findCountry("GB")->name, "United Kingdom");
  for (const char* bad : {"", "D", "DEU", "XX", "UK", "EU", "EL", "1A", "d\xe9"})
    EXPECT_EQ(findCountry(bad), nullptr) << bad;
}

std::set<std::string> codes(const Preset& p) {
  std::set<std::string> s;
  for (const auto& b : p.countries) s.emplace(b.country);
  return s;
}

TEST(PresetsTest, MembershipMatchesTheTreaties) {
  const Preset* eu = findPreset("EU");
  const Preset* eea = findPreset("EEA");
  const Preset* adq = findPreset("EEA+adequacy");
  ASSERT_TRUE(eu && eea && adq);
  EXPECT_EQ(findPreset("eea"), nullptr);
  auto eu_codes = codes(*eu), eea_codes = codes(*eea), adq_codes = codes(*adq);
  EXPECT_EQ(eu_codes.size(), 27u);
  EXPECT_EQ(eu_codes.count("GR"), 1u);  // ISO code, not the EU's "EL"
  EXPECT_EQ(eu_codes.count("GB"), 0u);
  EXPECT_EQ(eea_codes.size(), 30u);
  for (const char* c : {"IS", "LI", "NO"}) {
    EXPECT_EQ(eu_codes.count(c), 0u) << c;
    EXPECT_EQ(eea_codes.count(c), 1u) << c;
  }
  EXPECT_EQ(adq_codes.size(), 45u);  // 30 + 15 adequacy decisions
  for (const char* c :
       {"AD", "AR", "CA", "FO", "GG", "IL", "IM", "JP", "JE", "NZ", "KR", "CH", "GB", "US", "UY"})
    EXPECT_EQ(adq_codes.count(c), 1u) << c;
  for (const auto& b : adq->countries) EXPECT_NE(findCountry(b.country), nullptr) << b.country;
}

TEST(PresetsTest, QualifiersAndExpiriesAreData) {
  const Preset* adq = findPreset("EEA+adequacy");
  ASSERT_NE(adq, nullptr);
  const LegalBasis* gb = findBasis(*adq, "GB");
  ASSERT_NE(gb, nullptr);
  ASSERT_TRUE(gb->expires.has_value());
  EXPECT_EQ(formatDate(*gb->expires), "2031-12-27");
  const LegalBasis* us = findBasis(*adq, "US");
  ASSERT_NE(us, nullptr);
  EXPECT_NE(us->qualifier.find("Data Privacy Framework"), std::string_view::npos);
  EXPECT_NE(us->basis.find("2023/1795"), std::string_view::npos);
  EXPECT_NE(findBasis(*adq, "CA")->qualifier.find("PIPEDA"), std::string_view::npos);
  EXPECT_TRUE(findBasis(*adq, "DE")->qualifier.empty());
  EXPECT_EQ(findBasis(*findPreset("EU"), "NO"), nullptr);
}

TEST(DateTest, ParseFormatAndArithmetic) {
  auto d = parseDate("2031-12-27");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(formatDate(*d), "2031-12-27");
  EXPECT_EQ(*d, std::chrono::year{2031} / 12 / 27);
  EXPECT_EQ(daysBetween(*parseDate("1970-01-01"), *parseDate("1970-01-01")), 0);
  EXPECT_EQ(daysBetween(*parseDate("2024-02-28"), *parseDate("2024-03-01")), 2);  // leap
  EXPECT_EQ(daysBetween(*parseDate("2025-02-28"), *parseDate("2025-03-01")), 1);
  EXPECT_EQ(daysBetween(*parseDate("2026-01-15"), *parseDate("2025-12-31")), -15);
  EXPECT_TRUE(parseDate("2024-02-29").has_value());
  for (const char* bad : {"2025-02-29", "2025-13-01", "2025-00-10", "2025-1-01", "20250101", "",
                          "2025-04-31", "2025-01-0x"})
    EXPECT_FALSE(parseDate(bad).has_value()) << bad;
  EXPECT_EQ(formatDate(dateFromWallMicros(1'700'000'000'000'000)), "2023-11-14");
  EXPECT_EQ(formatDate(dateFromWallMicros(-1)), "1969-12-31");  // floors, not truncates
  EXPECT_EQ(formatDate(*parseDate("0999-01-02")), "0999-01-02");
  EXPECT_LT(*parseDate("2025-12-31"), *parseDate("2026-01-01"));
}

}  // namespace
}  // namespace regiongate::legal
