#include "audit/query.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace regiongate::audit {
namespace {

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

Error bad(std::string_view s, const char* why) {
  return Error{ErrorSource::Downstream, "invalid_time",
               "--since: '" + std::string(s) + "': " + why +
                   " (expected unix seconds or RFC 3339, e.g. 2024-05-01T12:00:00Z)",
               false};
}

}  // namespace

Result<int64_t> parseTimeArg(std::string_view s) {
  if (s.empty()) return bad(s, "empty");
  if (s.size() > 64) return bad(s, "too long");
  // Unix seconds, optionally fractional.
  if (s.find_first_not_of("0123456789.") == std::string_view::npos) {
    size_t dot = s.find('.');
    std::string_view whole = s.substr(0, dot);
    if (whole.empty() || whole.size() > 12) return bad(s, "bad unix seconds");
    int64_t sec = 0;
    for (char c : whole) sec = sec * 10 + (c - '0');
    int64_t frac_us = 0;
    if (dot != std::string_view::npos) {
      std::string_view frac = s.substr(dot + 1);
      if (frac.empty() || frac.find('.') != std::string_view::npos) return bad(s, "bad fraction");
      int64_t scale = 100000;
      for (size_t i = 0; i < frac.size() && i < 6; ++i, scale /= 10) frac_us += (frac[i] - '0') * scale;
    }
    return sec * 1'000'000 + frac_us;
  }
  int y, mo, d, h, mi, sec;
  if (!digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, mo) ||
      s[7] != '-' || !digits(s, 8, 2, d) ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s, 11, 2, h) || s[13] != ':' ||
      !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec))
    return bad(s, "not RFC 3339");
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
    return bad(s, "field out of range");
  size_t pos = 19;
  int64_t frac_us = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t scale = 100000;
    size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (pos - start < 6) frac_us += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad(s, "empty fraction");
  }
  int64_t offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, om) || oh > 23 || om > 59)
      return bad(s, "bad offset");
    offset_s = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return bad(s, "missing time zone (Z or +hh:mm)");
  }
  if (pos != s.size()) return bad(s, "trailing characters");
  const std::chrono::year_month_day date{std::chrono::year{static_cast<int>(y)},
                                         std::chrono::month{static_cast<unsigned>(mo)},
                                         std::chrono::day{static_cast<unsigned>(d)}};
  if (!date.ok()) return bad(s, "no such date");
  const int64_t days = std::chrono::sys_days{date}.time_since_epoch().count();
  const int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
  return secs * 1'000'000 + frac_us;
}

std::string formatTimeUs(int64_t ts_us) {
  namespace chr = std::chrono;
  const chr::sys_time<chr::microseconds> t{chr::microseconds{ts_us}};
  const chr::sys_days day = chr::floor<chr::days>(t);
  const chr::year_month_day date{day};
  const chr::hh_mm_ss<chr::microseconds> tod{t - day};
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<long long>(tod.hours().count()),
                static_cast<long long>(tod.minutes().count()),
                static_cast<long long>(tod.seconds().count()),
                static_cast<long long>(tod.subseconds().count()));
  return buf;
}

std::string formatTable(const std::vector<Record>& records) {
  const std::vector<std::string> header = {"time", "jurisdiction", "tenant", "model",
                                           "intended", "actual", "evidence", "status",
                                           "attempts", "violation", "request_id"};
  std::vector<std::vector<std::string>> rows;
  rows.push_back(header);
  for (const auto& r : records) {
    rows.push_back({formatTimeUs(r.ts_us), r.jurisdiction, r.tenant,
                    r.model_version.empty() ? r.model : r.model + "@" + r.model_version,
                    r.intended_region, r.actual_region.empty() ? "-" : r.actual_region,
                    r.evidence + (r.evidence_value.empty() ? "" : "=" + r.evidence_value),
                    std::to_string(r.status), std::to_string(r.attempts.size()),
                    r.violation.empty() ? "-" : r.violation, r.request_id});
  }
  std::vector<size_t> width(header.size(), 0);
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  std::string out;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out += '\n';
  }
  return out;
}

}  // namespace regiongate::audit
