// Latency distributions with a bounded relative error, in the style of DDSketch: a value v falls
// in bucket i = ceil(log_γ v) with γ = (1 + α) / (1 − α), and the bucket answers for it with
// 2γ^i / (γ + 1), which is within α = 1% of every value in (γ^(i−1), γ^i]. Buckets of the same
// γ add up, so per-second histograms merge into minutes and functions into the server without
// losing accuracy; percentiles are read from merged counts, never averaged.
//
// LogHistogram records (dense counts, O(1) per value, no allocation); HistogramData is the
// compact form kept in history and sent over the wire (the non-empty buckets only).
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

namespace surge::metrics {

// Values are microseconds. Those from kMinMicros to kMaxMicros keep the 1% bound; below, they
// count as kMinMicros; above, as kMaxMicros (and the exact min and max say what was seen).
inline constexpr double kRelativeAccuracy = 0.01;
inline constexpr double kMinMicros = 1.0;
inline constexpr double kMaxMicros = 24.0 * 3600 * 1e6; // a day
// Bucket 0 holds values up to kMinMicros; bucket i > 0 holds (γ^(i−1), γ^i].
inline constexpr int kBucketCount = 1261; // ceil(log_γ kMaxMicros) + 1

// The non-empty buckets of a histogram, by index, ascending; plus the exact count, sum, min and
// max. Merging and percentiles work on this form.
struct HistogramData {
  std::vector<std::pair<uint16_t, uint64_t>> buckets;
  uint64_t count = 0;
  double sum = 0; // microseconds
  double min = 0;
  double max = 0;

  bool empty() const { return count == 0; }
  // Adds `other` in: the result is the histogram of both sets of values.
  void merge(const HistogramData& other);
  // The value at quantile `q` (0..1) within 1% (or the exact min or max at the ends); 0 when
  // empty.
  double quantile(double q) const;
  double mean() const { return count == 0 ? 0 : sum / static_cast<double>(count); }
  bool operator==(const HistogramData&) const = default;
};

// Not thread-safe: one writer (the scheduler's loop records; readers get a HistogramData).
class LogHistogram {
public:
  void record(double micros);
  // The recorded values so far, compact.
  HistogramData data() const;
  // Forgets every value (the next second starts empty).
  void clear();
  uint64_t count() const { return count_; }

  // The bucket of `micros`, and the value a bucket answers with.
  static int bucketOf(double micros);
  static double valueOf(int bucket);
  // The upper bound of a bucket (for Prometheus' `le`).
  static double upperBound(int bucket);

private:
  std::array<uint32_t, kBucketCount> counts_{};
  // Lowest and highest non-empty bucket, so that data() and clear() walk only those.
  int low_ = kBucketCount;
  int high_ = -1;
  uint64_t count_ = 0;
  double sum_ = 0;
  double min_ = 0;
  double max_ = 0;
};

} // namespace surge::metrics
