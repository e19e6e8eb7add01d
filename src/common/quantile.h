#pragma once
// The one quantile helper. Convention: q is a fraction in [0, 1] (0.5 = median, 0.99 = p99),
// clamped; nearest rank: the smallest value with at least q of the values <= it. 0 when empty.
#include <span>
#include <vector>

namespace regiongate {

double quantile(std::vector<double> values, double q);
// Same, on values already sorted ascending (no copy: for many quantiles of one sample).
double quantileSorted(std::span<const double> sorted, double q);

}  // namespace regiongate
