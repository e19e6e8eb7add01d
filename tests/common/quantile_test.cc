#include "common/quantile.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace regiongate {
namespace {

TEST(Quantile, NearestRankOnAFractionScale) {
  const std::vector<double> v = {5, 1, 3, 2, 4};
  EXPECT_DOUBLE_EQ(quantile(v, 0.5), 3);
  EXPECT_DOUBLE_EQ(quantile(v, 1.0), 5);
  EXPECT_DOUBLE_EQ(quantile(v, 0.0), 1);
  EXPECT_DOUBLE_EQ(quantile(v, 0.2), 1);   // rank ceil(1.0) = 1
  EXPECT_DOUBLE_EQ(quantile(v, 0.21), 2);  // rank ceil(1.05) = 2
  EXPECT_DOUBLE_EQ(quantile(v, 0.99), 5);
  EXPECT_DOUBLE_EQ(quantile({}, 0.5), 0);
}

TEST(Quantile, OutOfRangeIsClampedNotAPercent) {
  const std::vector<double> v = {5, 1, 3, 2, 4};
  EXPECT_DOUBLE_EQ(quantile(v, 50), 5);  // 50 is not "p50": it clamps to the maximum
  EXPECT_DOUBLE_EQ(quantile(v, -1), 1);
}

TEST(Quantile, SortedVariantAgrees) {
  std::vector<double> v;
  for (int i = 0; i < 101; ++i) v.push_back((i * 37) % 101);
  std::vector<double> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  for (double q : {0.0, 0.01, 0.25, 0.5, 0.9, 0.99, 1.0})
    EXPECT_DOUBLE_EQ(quantileSorted(sorted, q), quantile(v, q)) << q;
  EXPECT_DOUBLE_EQ(quantileSorted(sorted, 0.5), 50);
}

}  // namespace
}  // namespace regiongate
