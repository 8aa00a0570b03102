// Sample -> FunctionMetrics: counts as they are, rates per second, latencies in milliseconds.
#include "api/metrics_mapping.h"

#include "api/proto_time.h"

#include <google/protobuf/util/time_util.h>

namespace surge::api {
namespace {

using metrics::Outcome;

size_t at(auto value) { return static_cast<size_t>(value); }

void toProto(const metrics::HistogramData& micros, v1::LatencySummary& out) {
  out.set_count(micros.count);
  if (micros.empty()) return;
  out.set_p50_ms(micros.quantile(0.50) / 1000);
  out.set_p95_ms(micros.quantile(0.95) / 1000);
  out.set_p99_ms(micros.quantile(0.99) / 1000);
  out.set_max_ms(micros.max / 1000);
}

void toProto(const metrics::Gauges& gauges, v1::InstanceCounts& out) {
  using Kind = metrics::Kind;
  using State = metrics::State;
  out.set_reserved_starting(gauges.count(Kind::kReserved, State::kStarting));
  out.set_reserved_idle(gauges.count(Kind::kReserved, State::kIdle));
  out.set_reserved_busy(gauges.count(Kind::kReserved, State::kBusy));
  out.set_reserved_draining(gauges.count(Kind::kReserved, State::kDraining));
  out.set_on_demand_starting(gauges.count(Kind::kOnDemand, State::kStarting));
  out.set_on_demand_idle(gauges.count(Kind::kOnDemand, State::kIdle));
  out.set_on_demand_busy(gauges.count(Kind::kOnDemand, State::kBusy));
  out.set_on_demand_draining(gauges.count(Kind::kOnDemand, State::kDraining));
}

uint32_t instancesOf(const metrics::Gauges& gauges, metrics::Kind kind) {
  uint32_t sum = 0;
  for (uint32_t count : gauges.instances[at(kind)]) sum += count;
  return sum;
}

} // namespace

void toProto(const metrics::Sample& sample, int64_t seconds, uint32_t peakInFlight, double meanInFlight,
             v1::FunctionMetrics& out) {
  const metrics::Counters& counted = sample.counters;
  const metrics::Gauges& gauges = sample.gauges;
  const double perSecond = 1.0 / static_cast<double>(seconds > 0 ? seconds : 1);
  const uint32_t reserved = instancesOf(gauges, metrics::Kind::kReserved);
  out.set_instances(reserved + instancesOf(gauges, metrics::Kind::kOnDemand));
  out.set_reserved_instances(reserved);
  out.set_in_flight(gauges.inFlight);
  out.set_queue_depth(gauges.queueDepth);
  out.set_invocations_per_second(static_cast<double>(sample.tps()) * perSecond);
  const uint64_t errors = counted.invocations[at(Outcome::kFunctionError)] +
                          counted.invocations[at(Outcome::kTimeout)] +
                          counted.invocations[at(Outcome::kPlatformError)] + counted.invocations[at(Outcome::kRefused)];
  out.set_errors_per_second(static_cast<double>(errors) * perSecond);
  const metrics::HistogramData& endToEnd = sample.latency.endToEnd;
  if (!endToEnd.empty()) {
    out.set_p50_latency_ms(endToEnd.quantile(0.50) / 1000);
    out.set_p95_latency_ms(endToEnd.quantile(0.95) / 1000);
    out.set_p99_latency_ms(endToEnd.quantile(0.99) / 1000);
  }
  out.set_cold_starts(static_cast<uint32_t>(counted.coldStarts));

  v1::OutcomeCounts& outcomes = *out.mutable_outcomes();
  outcomes.set_success(counted.invocations[at(Outcome::kSuccess)]);
  outcomes.set_function_error(counted.invocations[at(Outcome::kFunctionError)]);
  outcomes.set_timeout(counted.invocations[at(Outcome::kTimeout)]);
  outcomes.set_platform_error(counted.invocations[at(Outcome::kPlatformError)]);
  outcomes.set_refused(counted.invocations[at(Outcome::kRefused)]);
  out.mutable_refusals()->set_queue_full(counted.refused[at(metrics::Refusal::kQueueFull)]);
  out.mutable_refusals()->set_queue_timeout(counted.refused[at(metrics::Refusal::kQueueTimeout)]);
  v1::HeldBackCounts& held = *out.mutable_held_back();
  held.set_max_instances(counted.heldBack[at(metrics::StartLimit::kMaxInstances)]);
  held.set_memory(counted.heldBack[at(metrics::StartLimit::kMemory)]);
  held.set_creation_rate(counted.heldBack[at(metrics::StartLimit::kCreationRate)]);
  held.set_concurrent_starts(counted.heldBack[at(metrics::StartLimit::kConcurrentStarts)]);

  toProto(sample.latency.endToEnd, *out.mutable_end_to_end());
  toProto(sample.latency.queueWait, *out.mutable_queue_wait());
  toProto(sample.latency.execution, *out.mutable_execution());
  toProto(sample.latency.coldStart, *out.mutable_cold_start());
  toProto(gauges, *out.mutable_instance_states());
  out.set_reserved_target(gauges.reservedTarget);
  out.set_reserved_ready(gauges.reservedReady);
  out.set_utilisation(gauges.utilisation());
  *out.mutable_interval() = google::protobuf::util::TimeUtil::SecondsToDuration(seconds);
  out.set_peak_in_flight(peakInFlight);
  out.set_mean_in_flight(meanInFlight);
}

void setSeriesName(const std::string& series, v1::FunctionMetrics& out) {
  const auto slash = series.find('/');
  out.set_namespace_(series.substr(0, slash));
  out.set_function(slash == std::string::npos ? "" : series.substr(slash + 1));
}

void toProto(const std::string& series, const metrics::Sample& sample, v1::FunctionMetrics& out) {
  if (!series.empty()) setSeriesName(series, out);
  toProto(sample, 1, sample.gauges.inFlight, sample.gauges.inFlight, out);
}

void toProto(const metrics::ServerGauges& gauges, v1::ServerMetrics& out) {
  out.set_memory_budget_mb(gauges.memoryBudgetMb);
  out.set_memory_used_mb(gauges.memoryUsedMb);
  out.set_memory_reserved_mb(gauges.memoryReservedMb);
  out.set_starts_in_progress(gauges.startsInProgress);
  for (const auto& [runtime, count] : gauges.prestarted) (*out.mutable_prestarted_sandboxes())[runtime] = count;
}

v1::MetricsSnapshot toSnapshot(const metrics::Frame& frame) {
  v1::MetricsSnapshot snapshot;
  *snapshot.mutable_time() = toProtoTimestamp(absl::FromUnixSeconds(frame.second + 1));
  for (const auto& [series, sample] : frame.series) {
    if (series.empty()) {
      toProto(series, sample, *snapshot.mutable_server()->mutable_total());
    } else {
      toProto(series, sample, *snapshot.add_functions());
    }
  }
  toProto(frame.server, *snapshot.mutable_server());
  return snapshot;
}

} // namespace surge::api
