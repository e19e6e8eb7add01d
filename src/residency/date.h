#pragma once
// A calendar date (proleptic Gregorian, no time zone): legal-basis expiry dates and `check
// --today`. Comparisons and day arithmetic go through days since 1970-01-01.
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace regiongate::residency {

struct Date {
  int year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31

  // "YYYY-MM-DD"; nullopt unless the date exists (2025-02-30 is rejected).
  static std::optional<Date> parse(std::string_view s);
  static Date fromDays(int64_t days_since_epoch);
  // Today in UTC from a wall clock in microseconds since the Unix epoch (Clock::wallMicros()).
  static Date fromWallMicros(int64_t micros);
  int64_t days() const;  // days since 1970-01-01
  std::string str() const;

  friend bool operator==(const Date&, const Date&) = default;
  friend auto operator<=>(const Date& a, const Date& b) { return a.days() <=> b.days(); }
};

}  // namespace regiongate::residency
