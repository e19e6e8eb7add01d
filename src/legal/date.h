#pragma once
// A calendar date (proleptic Gregorian, no time zone): legal-basis expiry dates and `check
// --today`. The type is std::chrono's; this header adds the "YYYY-MM-DD" text form.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace regiongate::legal {

using Date = std::chrono::year_month_day;

// "YYYY-MM-DD"; nullopt unless the date exists (2025-02-30 is rejected).
std::optional<Date> parseDate(std::string_view s);
std::string formatDate(Date d);
// Today in UTC from a wall clock in microseconds since the Unix epoch (Clock::wallMicros()).
Date dateFromWallMicros(int64_t micros);
// Whole days from `from` to `to` (negative when `to` is earlier).
int64_t daysBetween(Date from, Date to);

}  // namespace regiongate::legal
