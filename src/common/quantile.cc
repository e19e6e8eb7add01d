#include "common/quantile.h"

#include <algorithm>
#include <cmath>

namespace regiongate {

namespace {
size_t nearestRank(size_t n, double q) {
  q = std::clamp(q, 0.0, 1.0);
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(n)));
  return std::clamp<size_t>(rank, 1, n);
}
}  // namespace

double quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  const size_t rank = nearestRank(values.size(), q);
  std::nth_element(values.begin(), values.begin() + std::ptrdiff_t(rank - 1), values.end());
  return values[rank - 1];
}

double quantileSorted(std::span<const double> sorted, double q) {
  if (sorted.empty()) return 0;
  return sorted[nearestRank(sorted.size(), q) - 1];
}

}  // namespace regiongate
