#pragma once
// ISO 3166-1 alpha-2 country codes (every officially assigned code). A jurisdiction is a set of
// these; a region maps to exactly one. An unknown code is a config error.
#include <span>
#include <string_view>

namespace regiongate::legal {

struct CountryInfo {
  std::string_view code;  // upper-case alpha-2, e.g. "DE"
  std::string_view name;  // English short name, e.g. "Germany"
};

// All assigned codes, sorted by code. Static storage: the views never dangle.
std::span<const CountryInfo> allCountries();
// Case-insensitive lookup ("de" and "DE" both find Germany); nullptr when not an assigned code.
const CountryInfo* findCountry(std::string_view code);

}  // namespace regiongate::legal
