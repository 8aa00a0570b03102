// GetCost's answer from the metrics history: usage totals, the replay steps, and the mapping.
#include "api/cost_report.h"

#include "api/proto_time.h"
#include "metrics/history_store.h"
#include "scheduler/scheduler_types.h"

#include <absl/strings/str_cat.h>

#include <algorithm>
#include <vector>

namespace surge::api {
namespace {

constexpr int64_t kMinute = 60;
// Minutes per history query: under its 10000-point limit.
constexpr int64_t kMinutesPerQuery = 9000;

void toProto(const cost::Usage& usage, v1::CostUsage& out) {
  auto gb = [](uint64_t mbSeconds) { return static_cast<double>(mbSeconds) / 1024.0; };
  out.set_reserved_instance_gb_seconds(gb(usage.instanceMbSeconds[0]));
  out.set_on_demand_instance_gb_seconds(gb(usage.instanceMbSeconds[1]));
  out.set_reserved_billed_gb_seconds(gb(usage.billedMbMs[0]) / 1000.0);
  out.set_on_demand_billed_gb_seconds(gb(usage.billedMbMs[1]) / 1000.0);
  out.set_reserved_requests(usage.requests[0]);
  out.set_on_demand_requests(usage.requests[1]);
}

void toProto(const cost::CostBreakdown& cost, v1::CostBreakdown& out) {
  out.set_reserved_instances(cost.reservedInstances);
  out.set_reserved_execution(cost.reservedExecution);
  out.set_on_demand_execution(cost.onDemandExecution);
  out.set_requests(cost.requests);
  out.set_total(cost.total());
}

void toProto(const cost::Replay& replay, double actualTotal, uint64_t replayedColdStarts, v1::CostScenario& out) {
  out.set_reserved(replay.reserved);
  toProto(replay.usage, *out.mutable_usage());
  toProto(replay.cost, *out.mutable_cost());
  out.set_cold_starts(replay.coldStarts);
  out.set_cost_delta(replay.cost.total() - actualTotal);
  out.set_cold_starts_delta(static_cast<int64_t>(replay.coldStarts) - static_cast<int64_t>(replayedColdStarts));
}

template <typename Array> void addInto(Array& into, const Array& from) {
  for (size_t i = 0; i < into.size(); ++i) into[i] += from[i];
}

} // namespace

absl::Status fillCostReport(const metrics::HistoryStore& history, const CostSettings& settings,
                            const scheduler::FunctionDefinition& function, const CostQuery& query,
                            v1::CostReport& report) {
  if (query.from >= query.to) return absl::InvalidArgumentError("to_time must be after from_time");
  const metrics::HistoryOptions kept;
  // Seconds when the whole period is within the hour they are kept, minutes otherwise.
  const bool bySeconds = query.from >= query.now - kept.secondsKept;
  const int64_t step = bySeconds ? 1 : kMinute;
  const int64_t retainedFrom = query.now - kept.minutesKept;
  const int64_t from = bySeconds ? query.from : query.from / kMinute * kMinute;
  const int64_t to = bySeconds ? query.to : (query.to + kMinute - 1) / kMinute * kMinute;
  const int64_t readFrom = std::max(from, retainedFrom / kMinute * kMinute);

  std::vector<cost::ConcurrencyStep> steps;
  cost::Usage usage;
  uint64_t coldStarts = 0;
  const int64_t chunk = bySeconds ? to - from : kMinutesPerQuery * kMinute;
  for (int64_t at = readFrom; at < to; at += chunk) {
    auto range = history.query(function.key, at, std::min(to, at + chunk), step, query.now);
    if (!range.ok()) return range.status();
    for (const metrics::HistoryPoint& point : range->points) {
      const metrics::Counters& counters = point.sample.counters;
      addInto(usage.instanceMbSeconds, counters.instanceMbSeconds);
      addInto(usage.billedMbMs, counters.billedMbMs);
      addInto(usage.requests, counters.requests);
      coldStarts += counters.coldStarts;
      steps.push_back(cost::ConcurrencyStep{.start = point.sample.second,
                                            .seconds = range->step,
                                            .peak = point.peakInFlight,
                                            .mean = point.meanInFlight,
                                            .reserved = point.sample.gauges.reservedTarget,
                                            .requests = counters.requests[0] + counters.requests[1],
                                            .billedMbMs = counters.billedMbMs[0] + counters.billedMbMs[1]});
    }
  }

  const cost::ReplayOptions options{.memoryMb = function.spec.memoryMb,
                                    .concurrency = function.spec.concurrency,
                                    .idleTimeoutSeconds = absl::ToInt64Seconds(settings.idleTimeout)};
  const cost::CostBreakdown actual = cost::costOf(usage, settings.prices);
  const uint64_t replayedColdStarts = cost::replayedColdStarts(steps, options);

  *report.mutable_from_time() = toProtoTimestamp(absl::FromUnixSeconds(from));
  *report.mutable_to_time() = toProtoTimestamp(absl::FromUnixSeconds(to));
  report.set_resolution_seconds(static_cast<uint32_t>(step));
  if (!steps.empty()) {
    *report.mutable_data_from_time() = toProtoTimestamp(absl::FromUnixSeconds(steps.front().start));
    *report.mutable_data_to_time() = toProtoTimestamp(absl::FromUnixSeconds(steps.back().start + steps.back().seconds));
  }
  report.set_seconds_past_retention(std::max<int64_t>(0, std::min(to, retainedFrom) - from));
  v1::CostPrices& prices = *report.mutable_prices();
  prices.set_reserved_gb_second(settings.prices.reservedGbSecond);
  prices.set_reserved_execution_gb_second(settings.prices.reservedExecutionGbSecond);
  prices.set_on_demand_gb_second(settings.prices.onDemandGbSecond);
  prices.set_per_million_requests(settings.prices.perMillionRequests);
  prices.set_currency(settings.prices.currency);
  report.set_memory_mb(options.memoryMb);
  report.set_instance_concurrency(options.concurrency);
  report.set_max_instances(function.maxInstances);
  report.set_idle_timeout_seconds(static_cast<uint32_t>(options.idleTimeoutSeconds));
  toProto(usage, *report.mutable_usage());
  toProto(actual, *report.mutable_actual());
  report.set_recorded_cold_starts(coldStarts);
  report.set_replayed_cold_starts(replayedColdStarts);
  if (query.whatIfReserved) {
    toProto(cost::replay(steps, *query.whatIfReserved, options, settings.prices), actual.total(), replayedColdStarts,
            *report.mutable_what_if());
  }
  toProto(cost::recommend(steps, function.maxInstances, query.coldStartBudget, options, settings.prices),
          actual.total(), replayedColdStarts, *report.mutable_recommended());
  report.set_cold_start_budget(query.coldStartBudget);
  return absl::OkStatus();
}

} // namespace surge::api
