// LogHistogram and HistogramData: bucket arithmetic, merging and percentiles.
#include "metrics/log_histogram.h"

#include <algorithm>
#include <cmath>

namespace surge::metrics {
namespace {

const double kGamma = (1 + kRelativeAccuracy) / (1 - kRelativeAccuracy);
const double kInverseLogGamma = 1 / std::log(kGamma);

} // namespace

int LogHistogram::bucketOf(double micros) {
  if (!(micros > kMinMicros)) return 0; // also NaN
  if (micros >= kMaxMicros) return kBucketCount - 1;
  const int bucket = static_cast<int>(std::ceil(std::log(micros) * kInverseLogGamma));
  return std::clamp(bucket, 1, kBucketCount - 1);
}

double LogHistogram::valueOf(int bucket) {
  if (bucket <= 0) return kMinMicros;
  return 2 * std::pow(kGamma, bucket) / (kGamma + 1);
}

double LogHistogram::upperBound(int bucket) { return bucket <= 0 ? kMinMicros : std::pow(kGamma, bucket); }

void LogHistogram::record(double micros) {
  if (std::isnan(micros)) return;
  micros = std::clamp(micros, 0.0, kMaxMicros);
  const int bucket = bucketOf(micros);
  ++counts_[static_cast<size_t>(bucket)];
  low_ = std::min(low_, bucket);
  high_ = std::max(high_, bucket);
  if (count_ == 0 || micros < min_) min_ = micros;
  if (count_ == 0 || micros > max_) max_ = micros;
  ++count_;
  sum_ += micros;
}

HistogramData LogHistogram::data() const {
  HistogramData data;
  for (int bucket = low_; bucket <= high_; ++bucket) {
    if (const uint32_t n = counts_[static_cast<size_t>(bucket)]; n > 0) {
      data.buckets.emplace_back(static_cast<uint16_t>(bucket), n);
    }
  }
  data.count = count_;
  data.sum = sum_;
  data.min = min_;
  data.max = max_;
  return data;
}

void LogHistogram::clear() {
  for (int bucket = low_; bucket <= high_; ++bucket) counts_[static_cast<size_t>(bucket)] = 0;
  low_ = kBucketCount;
  high_ = -1;
  count_ = 0;
  sum_ = min_ = max_ = 0;
}

void HistogramData::merge(const HistogramData& other) {
  if (other.empty()) return;
  if (empty()) {
    *this = other;
    return;
  }
  std::vector<std::pair<uint16_t, uint64_t>> merged;
  merged.reserve(buckets.size() + other.buckets.size());
  auto a = buckets.cbegin();
  auto b = other.buckets.cbegin();
  while (a != buckets.cend() || b != other.buckets.cend()) {
    if (b == other.buckets.end() || (a != buckets.end() && a->first < b->first)) {
      merged.push_back(*a++);
    } else if (a == buckets.end() || b->first < a->first) {
      merged.push_back(*b++);
    } else {
      merged.emplace_back(a->first, a->second + b->second);
      ++a;
      ++b;
    }
  }
  buckets = std::move(merged);
  min = std::min(min, other.min);
  max = std::max(max, other.max);
  count += other.count;
  sum += other.sum;
}

double HistogramData::quantile(double q) const {
  if (count == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  if (q == 0) return min;
  if (q == 1) return max;
  // The value of rank floor(q × (count − 1)), 0-based, as an exact sort would pick it.
  const auto rank = static_cast<uint64_t>(q * static_cast<double>(count - 1));
  uint64_t seen = 0;
  for (const auto& [bucket, n] : buckets) {
    seen += n;
    if (seen > rank) return std::clamp(LogHistogram::valueOf(bucket), min, max);
  }
  return max;
}

} // namespace surge::metrics
