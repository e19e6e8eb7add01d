#pragma once
// A reader for the gateway's own Prometheus text exposition (the demo reads its gateway's
// /metrics to report fallbacks, violations and model versions). Accepts the subset the
// gateway's registry writes: `name{k="v",...} value` lines, comments skipped.
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace regiongate::demo {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

std::vector<PromSample> parseProm(std::string_view text);

// Sum of `name`'s samples whose labels include every (key, value) of `match`.
double promSum(const std::vector<PromSample>& samples, std::string_view name,
               const std::map<std::string, std::string>& match = {});

}  // namespace regiongate::demo
