// The history file's form of a Sample. Version 1:
//   u8 version, i64 second, u64 × (5 outcomes, 2 refusals, 4 limits, cold starts),
//   4 × histogram (u64 count, f64 sum, f64 min, f64 max, u32 n, n × (u16 bucket, u64 count)),
//   u32 × (8 instance counts, in flight, queue depth, reserved target, reserved ready, capacity)
// Version 2 appends the usage: u64 × (2 instance-MB-seconds, 2 billed MB-ms, 2 requests), by
// kind. A version 1 row reads with no usage.
// A new field is a new version; old rows stay readable.
#include "metrics/sample_codec.h"

#include <absl/strings/str_cat.h>

#include <bit>
#include <cstring>

namespace surge::metrics {
namespace {

constexpr uint8_t kVersion = 2;

class Writer {
public:
  template <typename T> void put(T value) {
    static_assert(std::endian::native == std::endian::little, "the history file is little-endian");
    char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    out.append(bytes, sizeof(T));
  }
  void histogram(const HistogramData& data) {
    put<uint64_t>(data.count);
    put<double>(data.sum);
    put<double>(data.min);
    put<double>(data.max);
    put<uint32_t>(static_cast<uint32_t>(data.buckets.size()));
    for (const auto& [bucket, count] : data.buckets) {
      put<uint16_t>(bucket);
      put<uint64_t>(count);
    }
  }
  std::string out;
};

class Reader {
public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  template <typename T> bool get(T& value) {
    if (bytes_.size() - at_ < sizeof(T)) return false;
    std::memcpy(&value, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return true;
  }
  bool histogram(HistogramData& data) {
    uint32_t n = 0;
    if (!get(data.count) || !get(data.sum) || !get(data.min) || !get(data.max) || !get(n)) return false;
    if ((bytes_.size() - at_) / (sizeof(uint16_t) + sizeof(uint64_t)) < n) return false;
    data.buckets.resize(n);
    for (auto& [bucket, count] : data.buckets) {
      if (!get(bucket) || !get(count) || bucket >= kBucketCount) return false;
    }
    return true;
  }
  bool done() const { return at_ == bytes_.size(); }

private:
  std::string_view bytes_;
  size_t at_ = 0;
};

} // namespace

std::string encodeSample(const Sample& sample) {
  Writer w;
  w.put<uint8_t>(kVersion);
  w.put<int64_t>(sample.second);
  for (uint64_t n : sample.counters.invocations) w.put(n);
  for (uint64_t n : sample.counters.refused) w.put(n);
  for (uint64_t n : sample.counters.heldBack) w.put(n);
  w.put<uint64_t>(sample.counters.coldStarts);
  for (const HistogramData* data :
       {&sample.latency.endToEnd, &sample.latency.queueWait, &sample.latency.execution, &sample.latency.coldStart}) {
    w.histogram(*data);
  }
  for (const auto& byKind : sample.gauges.instances) {
    for (uint32_t n : byKind) w.put(n);
  }
  const Gauges& g = sample.gauges;
  for (uint32_t n : {g.inFlight, g.queueDepth, g.reservedTarget, g.reservedReady, g.readyCapacity}) w.put(n);
  const Counters& c = sample.counters;
  for (const auto* usage : {&c.instanceMbSeconds, &c.billedMbMs, &c.requests}) {
    for (uint64_t n : *usage) w.put(n);
  }
  return std::move(w.out);
}

absl::StatusOr<Sample> decodeSample(std::string_view bytes) {
  Reader r(bytes);
  Sample sample;
  uint8_t version = 0;
  if (!r.get(version)) return absl::InvalidArgumentError("an empty metrics sample");
  if (version != 1 && version != kVersion)
    return absl::InvalidArgumentError(absl::StrCat("a metrics sample of version ", version));
  bool ok = r.get(sample.second);
  for (uint64_t& n : sample.counters.invocations) ok = ok && r.get(n);
  for (uint64_t& n : sample.counters.refused) ok = ok && r.get(n);
  for (uint64_t& n : sample.counters.heldBack) ok = ok && r.get(n);
  ok = ok && r.get(sample.counters.coldStarts);
  for (HistogramData* data :
       {&sample.latency.endToEnd, &sample.latency.queueWait, &sample.latency.execution, &sample.latency.coldStart}) {
    ok = ok && r.histogram(*data);
  }
  for (auto& byKind : sample.gauges.instances) {
    for (uint32_t& n : byKind) ok = ok && r.get(n);
  }
  Gauges& g = sample.gauges;
  for (uint32_t* n : {&g.inFlight, &g.queueDepth, &g.reservedTarget, &g.reservedReady, &g.readyCapacity}) {
    ok = ok && r.get(*n);
  }
  if (version >= 2) {
    Counters& c = sample.counters;
    for (auto* usage : {&c.instanceMbSeconds, &c.billedMbMs, &c.requests}) {
      for (uint64_t& n : *usage) ok = ok && r.get(n);
    }
  }
  if (!ok || !r.done()) return absl::InvalidArgumentError("a truncated or malformed metrics sample");
  return sample;
}

} // namespace surge::metrics
