#pragma once
// Test support: a small reader of the Prometheus text exposition format and the
// histogram_quantile interpolation, used to compute independently what the dashboard should show.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace regiongate::testing {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

inline std::vector<PromSample> parsePromText(const std::string& text) {
  std::vector<PromSample> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    PromSample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        if (eq == std::string::npos) break;
        std::string key = line.substr(i, eq - i);
        size_t k = eq + 2;  // past ="
        std::string val;
        while (k < line.size() && line[k] != '"') {
          if (line[k] == '\\' && k + 1 < line.size()) {
            ++k;
            val += line[k] == 'n' ? '\n' : line[k];
          } else {
            val += line[k];
          }
          ++k;
        }
        s.labels[key] = val;
        i = k + 1;
        while (i < line.size() && line[i] == ',') ++i;
      }
      ++i;
    }
    std::string v = line.substr(std::min(i, line.size()));
    v.erase(0, v.find_first_not_of(' '));
    v = v.substr(0, v.find(' '));
    s.value = v == "+Inf" ? std::numeric_limits<double>::infinity()
              : v == "-Inf" ? -std::numeric_limits<double>::infinity()
                            : std::strtod(v.c_str(), nullptr);
    out.push_back(std::move(s));
  }
  return out;
}

// Prometheus histogram_quantile over cumulative (le, count) pairs; NaN without observations.
inline double histogramQuantile(double q, std::vector<std::pair<double, double>> buckets) {
  std::sort(buckets.begin(), buckets.end());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (buckets.size() < 2 || !std::isinf(buckets.back().first)) return nan;
  double total = buckets.back().second;
  if (!(total > 0)) return nan;
  double rank = q * total;
  size_t b = 0;
  while (b < buckets.size() - 1 && buckets[b].second < rank) ++b;
  if (b == buckets.size() - 1) return buckets[buckets.size() - 2].first;
  if (b == 0 && buckets[0].first <= 0) return buckets[0].first;
  double lower = b == 0 ? 0 : buckets[b - 1].first;
  double prev = b == 0 ? 0 : buckets[b - 1].second;
  double upper = buckets[b].first;
  double in_bucket = buckets[b].second - prev;
  if (in_bucket <= 0) return upper;
  return lower + (upper - lower) * (rank - prev) / in_bucket;
}

}  // namespace regiongate::testing
