// FunctionMetrics: one second of counters and distributions, and the sums the server shows.
#include "metrics/function_metrics.h"

#include <algorithm>
#include <numeric>
#include <utility>

namespace surge::metrics {
namespace {

double micros(absl::Duration d) { return absl::ToDoubleMicroseconds(d); }

template <typename Array> void addInto(Array& into, const Array& from) {
  for (size_t i = 0; i < into.size(); ++i) into[i] += from[i];
}

} // namespace

std::string_view toString(Outcome outcome) {
  switch (outcome) {
  case Outcome::kSuccess: return "success";
  case Outcome::kFunctionError: return "function_error";
  case Outcome::kTimeout: return "timeout";
  case Outcome::kPlatformError: return "platform_error";
  case Outcome::kRefused: return "refused";
  }
  return "unknown";
}

std::string_view toString(Refusal refusal) {
  switch (refusal) {
  case Refusal::kQueueFull: return "queue_full";
  case Refusal::kQueueTimeout: return "queue_timeout";
  }
  return "unknown";
}

std::string_view toString(StartLimit limit) {
  switch (limit) {
  case StartLimit::kMaxInstances: return "max_instances";
  case StartLimit::kMemory: return "memory";
  case StartLimit::kCreationRate: return "creation_rate";
  case StartLimit::kConcurrentStarts: return "concurrent_starts";
  }
  return "unknown";
}

uint64_t Counters::total() const { return std::accumulate(invocations.begin(), invocations.end(), uint64_t{0}); }

void Counters::add(const Counters& other) {
  addInto(invocations, other.invocations);
  addInto(refused, other.refused);
  addInto(heldBack, other.heldBack);
  coldStarts += other.coldStarts;
  addInto(instanceMbSeconds, other.instanceMbSeconds);
  addInto(billedMbMs, other.billedMbMs);
  addInto(requests, other.requests);
}

void Distributions::merge(const Distributions& other) {
  endToEnd.merge(other.endToEnd);
  queueWait.merge(other.queueWait);
  execution.merge(other.execution);
  coldStart.merge(other.coldStart);
}

double Gauges::utilisation() const {
  return readyCapacity == 0 ? 0 : static_cast<double>(inFlight) / static_cast<double>(readyCapacity);
}

void Gauges::add(const Gauges& other) {
  for (size_t kind = 0; kind < instances.size(); ++kind) addInto(instances[kind], other.instances[kind]);
  inFlight += other.inFlight;
  queueDepth += other.queueDepth;
  reservedTarget += other.reservedTarget;
  reservedReady += other.reservedReady;
  readyCapacity += other.readyCapacity;
}

uint64_t Sample::tps() const { return counters.total() - counters.invocations[static_cast<size_t>(Outcome::kRefused)]; }

void FunctionMetrics::invocation(Outcome outcome, absl::Duration endToEnd, absl::Duration queueWait,
                                 std::optional<absl::Duration> execution) {
  ++counters_.invocations[static_cast<size_t>(outcome)];
  endToEnd_.record(micros(endToEnd));
  queueWait_.record(micros(queueWait));
  if (execution) execution_.record(micros(*execution));
}

void FunctionMetrics::refused(Refusal cause, absl::Duration queueWait) {
  ++counters_.invocations[static_cast<size_t>(Outcome::kRefused)];
  ++counters_.refused[static_cast<size_t>(cause)];
  // A refusal's wait is its whole life: it counts in both distributions.
  endToEnd_.record(micros(queueWait));
  queueWait_.record(micros(queueWait));
}

void FunctionMetrics::heldBack(StartLimit limit) { counters_.heldBack[static_cast<size_t>(limit)] = 1; }

void FunctionMetrics::coldStart(absl::Duration took) {
  ++counters_.coldStarts;
  coldStart_.record(micros(took));
}

void FunctionMetrics::billed(common::InstanceKind kind, int64_t billedMs, uint32_t memoryMb) {
  const auto k = static_cast<size_t>(kind);
  counters_.billedMbMs[k] += static_cast<uint64_t>(std::max<int64_t>(billedMs, 0)) * memoryMb;
  ++counters_.requests[k];
}

void FunctionMetrics::alive(common::InstanceKind kind, uint64_t memoryMb) {
  counters_.instanceMbSeconds[static_cast<size_t>(kind)] += memoryMb;
}

Sample FunctionMetrics::roll(int64_t second, const Gauges& gauges) {
  Sample sample;
  sample.second = second;
  sample.counters = std::exchange(counters_, Counters{});
  for (auto [histogram, data] :
       {std::pair{&endToEnd_, &sample.latency.endToEnd}, std::pair{&queueWait_, &sample.latency.queueWait},
        std::pair{&execution_, &sample.latency.execution}, std::pair{&coldStart_, &sample.latency.coldStart}}) {
    *data = histogram->data();
    histogram->clear();
  }
  sample.gauges = gauges;
  return sample;
}

} // namespace surge::metrics
