#include "demo/prom.h"

#include <cstdlib>

#include "common/lines.h"

namespace regiongate::demo {

namespace {

// Parses `k="v",...}` starting after '{'; returns the position after '}' or npos.
size_t parseLabels(std::string_view line, size_t pos, std::map<std::string, std::string>& out) {
  while (pos < line.size() && line[pos] != '}') {
    size_t eq = line.find('=', pos);
    if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"')
      return std::string_view::npos;
    std::string key(line.substr(pos, eq - pos));
    std::string value;
    size_t i = eq + 2;
    for (; i < line.size() && line[i] != '"'; ++i) {
      if (line[i] == '\\' && i + 1 < line.size()) ++i;
      value.push_back(line[i]);
    }
    if (i >= line.size()) return std::string_view::npos;
    out[key] = value;
    pos = i + 1;
    if (pos < line.size() && line[pos] == ',') ++pos;
  }
  return pos < line.size() ? pos + 1 : std::string_view::npos;
}

}  // namespace

std::vector<PromSample> parseProm(std::string_view text) {
  std::vector<PromSample> out;
  size_t pos = 0;
  while (pos < text.size()) {
    std::string_view line = nextLine(text, pos);
    if (line.empty() || line[0] == '#') continue;
    PromSample s;
    size_t name_end = line.find_first_of("{ ");
    if (name_end == std::string_view::npos) continue;
    s.name = std::string(line.substr(0, name_end));
    size_t rest = name_end;
    if (line[name_end] == '{') {
      rest = parseLabels(line, name_end + 1, s.labels);
      if (rest == std::string_view::npos) continue;
    }
    std::string value(line.substr(rest));
    s.value = std::strtod(value.c_str(), nullptr);
    out.push_back(std::move(s));
  }
  return out;
}

double promSum(const std::vector<PromSample>& samples, std::string_view name,
               const std::map<std::string, std::string>& match) {
  double sum = 0;
  for (const auto& s : samples) {
    if (s.name != name) continue;
    bool all = true;
    for (const auto& [k, v] : match) {
      auto it = s.labels.find(k);
      all = all && it != s.labels.end() && it->second == v;
    }
    if (all) sum += s.value;
  }
  return sum;
}

}  // namespace regiongate::demo
