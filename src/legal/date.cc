#include "legal/date.h"

#include <cstdio>

namespace regiongate::legal {

namespace chr = std::chrono;

std::optional<Date> parseDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  auto num = [&](size_t pos, size_t len, int& out) {
    out = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  int y = 0, m = 0, d = 0;
  if (!num(0, 4, y) || !num(5, 2, m) || !num(8, 2, d)) return std::nullopt;
  const Date date{chr::year{y}, chr::month{static_cast<unsigned>(m)},
                  chr::day{static_cast<unsigned>(d)}};
  if (!date.ok()) return std::nullopt;
  return date;
}

std::string formatDate(Date d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  return buf;
}

Date dateFromWallMicros(int64_t micros) {
  const chr::sys_time<chr::microseconds> t{chr::microseconds{micros}};
  return Date{chr::floor<chr::days>(t)};
}

int64_t daysBetween(Date from, Date to) {
  return (chr::sys_days{to} - chr::sys_days{from}).count();
}

}  // namespace regiongate::legal
