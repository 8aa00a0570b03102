// LogHistogram against an exact sort: the 1% bound on skewed data, merging, and the edges.
#include "metrics/log_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace surge::metrics {
namespace {

// The value an exact sort puts at quantile q, by the histogram's own rank rule.
double exactQuantile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  return values[static_cast<size_t>(q * static_cast<double>(values.size() - 1))];
}

void expectWithinOnePercent(const std::vector<double>& values, const HistogramData& data) {
  for (double q : {0.01, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999}) {
    const double exact = exactQuantile(values, q);
    const double estimate = data.quantile(q);
    EXPECT_LE(std::abs(estimate - exact), kRelativeAccuracy * exact + 1e-9)
        << "q=" << q << " exact=" << exact << " estimate=" << estimate;
  }
}

TEST(LogHistogram, LatenciesWithAHeavyTailStayWithinOnePercentAtEveryPercentile) {
  std::mt19937_64 random(42);
  // Mostly warm calls of ~100 µs, a tenth cold starts of ~20 ms, and a Pareto tail to minutes.
  std::lognormal_distribution<double> warm(std::log(100.0), 0.4);
  std::lognormal_distribution<double> cold(std::log(20000.0), 0.6);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<double> values;
  LogHistogram histogram;
  for (int i = 0; i < 200000; ++i) {
    double v = warm(random);
    const double pick = uniform(random);
    if (pick < 0.1) v = cold(random);
    if (pick > 0.998) v = 1000.0 / std::pow(1 - uniform(random), 1 / 1.2); // Pareto, alpha 1.2
    v = std::min(v, 3600e6);
    values.push_back(v);
    histogram.record(v);
  }
  const HistogramData data = histogram.data();
  EXPECT_EQ(data.count, values.size());
  EXPECT_DOUBLE_EQ(data.min, *std::min_element(values.begin(), values.end()));
  EXPECT_DOUBLE_EQ(data.max, *std::max_element(values.begin(), values.end()));
  expectWithinOnePercent(values, data);
  EXPECT_LT(data.buckets.size(), 1000u) << "compact: only the non-empty buckets";
}

TEST(LogHistogram, MergedSecondsAnswerAsOneHistogramOfAllTheirValues) {
  std::mt19937_64 random(7);
  std::exponential_distribution<double> fast(1 / 50.0);
  std::lognormal_distribution<double> slow(std::log(5000.0), 1.0);
  std::vector<double> all;
  HistogramData merged;
  LogHistogram whole;
  for (int second = 0; second < 60; ++second) {
    LogHistogram perSecond;
    for (int i = 0; i < 500; ++i) {
      // Seconds differ a lot: averaging their P95s would be far off; merging is exact.
      const double v = second % 10 == 0 ? slow(random) : fast(random) + 1;
      all.push_back(v);
      perSecond.record(v);
      whole.record(v);
    }
    merged.merge(perSecond.data());
  }
  HistogramData direct = whole.data();
  EXPECT_EQ(merged.buckets, direct.buckets);
  EXPECT_EQ(merged.count, direct.count);
  EXPECT_NEAR(merged.sum, direct.sum, 1e-6 * direct.sum);
  EXPECT_EQ(merged.min, direct.min);
  EXPECT_EQ(merged.max, direct.max);
  expectWithinOnePercent(all, merged);
}

TEST(LogHistogram, EdgesEmptyTinyHugeAndNotANumber) {
  LogHistogram histogram;
  EXPECT_EQ(histogram.data().quantile(0.5), 0) << "empty";
  histogram.record(std::nan(""));
  EXPECT_EQ(histogram.count(), 0u) << "NaN is not a value";
  histogram.record(0.25);
  histogram.record(0.5);
  EXPECT_EQ(histogram.data().buckets.size(), 1u) << "below 1 µs: one bucket";
  EXPECT_EQ(histogram.data().quantile(0.5), 0.5) << "clamped to what was seen";
  histogram.record(1e15);
  EXPECT_EQ(histogram.data().max, kMaxMicros) << "beyond a day counts as a day";
  EXPECT_EQ(histogram.data().buckets.back().first, kBucketCount - 1);

  histogram.clear();
  EXPECT_EQ(histogram.count(), 0u);
  EXPECT_TRUE(histogram.data().buckets.empty());
  histogram.record(100);
  EXPECT_EQ(histogram.data().min, 100);
  EXPECT_NEAR(histogram.data().quantile(0.5), 100, 1);
}

TEST(LogHistogram, EveryBucketAnswersWithinOnePercentOfItsBounds) {
  for (int bucket = 1; bucket < kBucketCount; ++bucket) {
    const double low = LogHistogram::upperBound(bucket - 1);
    const double high = LogHistogram::upperBound(bucket);
    const double value = LogHistogram::valueOf(bucket);
    ASSERT_LE(value - low, kRelativeAccuracy * low * 1.000001) << bucket;
    ASSERT_LE(high - value, kRelativeAccuracy * high * 1.000001) << bucket;
    ASSERT_EQ(LogHistogram::bucketOf(std::sqrt(low * high)), bucket) << "a value inside falls in it";
  }
  EXPECT_GE(LogHistogram::upperBound(kBucketCount - 1), kMaxMicros) << "a day fits";
}

} // namespace
} // namespace surge::metrics
