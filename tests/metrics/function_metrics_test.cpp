// FunctionMetrics after a known sequence of invocations, errors, refusals, held-back starts and
// cold starts: what one second holds, that the next starts empty, and how seconds and functions
// add up.
#include "metrics/function_metrics.h"

#include <gtest/gtest.h>

namespace surge::metrics {
namespace {

using absl::Microseconds;
using absl::Milliseconds;

size_t at(Outcome outcome) { return static_cast<size_t>(outcome); }

TEST(FunctionMetrics, OneSecondHoldsWhatHappenedInItAndTheNextStartsEmpty) {
  FunctionMetrics metrics;
  EXPECT_TRUE(metrics.idle());
  for (int i = 0; i < 90; ++i) {
    metrics.invocation(Outcome::kSuccess, Microseconds(150), Microseconds(10), Microseconds(100));
  }
  for (int i = 0; i < 5; ++i) {
    metrics.invocation(Outcome::kFunctionError, Microseconds(300), Microseconds(10), Microseconds(250));
  }
  metrics.invocation(Outcome::kTimeout, absl::Seconds(3), Microseconds(10), absl::Seconds(3));
  metrics.invocation(Outcome::kPlatformError, Milliseconds(40), Milliseconds(40), std::nullopt);
  metrics.refused(Refusal::kQueueFull, Microseconds(5));
  metrics.refused(Refusal::kQueueTimeout, absl::Seconds(5));
  metrics.refused(Refusal::kQueueTimeout, absl::Seconds(5));
  metrics.heldBack(StartLimit::kMemory);
  metrics.heldBack(StartLimit::kCreationRate);
  metrics.heldBack(StartLimit::kCreationRate);
  metrics.coldStart(Milliseconds(4));
  metrics.coldStart(Milliseconds(6));
  EXPECT_FALSE(metrics.idle());

  Gauges gauges;
  gauges.count(Kind::kReserved, State::kIdle) = 2;
  gauges.count(Kind::kOnDemand, State::kBusy) = 3;
  gauges.inFlight = 3;
  gauges.readyCapacity = 5;
  const Sample sample = metrics.roll(1'700'000'000, gauges);

  EXPECT_EQ(sample.second, 1'700'000'000);
  EXPECT_EQ(sample.counters.invocations[at(Outcome::kSuccess)], 90u);
  EXPECT_EQ(sample.counters.invocations[at(Outcome::kFunctionError)], 5u);
  EXPECT_EQ(sample.counters.invocations[at(Outcome::kTimeout)], 1u);
  EXPECT_EQ(sample.counters.invocations[at(Outcome::kPlatformError)], 1u);
  EXPECT_EQ(sample.counters.invocations[at(Outcome::kRefused)], 3u);
  EXPECT_EQ(sample.counters.refused, (std::array<uint64_t, 2>{1, 2}));
  // Once per second per limit, however often the scheduler asked.
  EXPECT_EQ(sample.counters.heldBack, (std::array<uint64_t, 4>{0, 1, 1, 0}));
  EXPECT_EQ(sample.counters.coldStarts, 2u);
  EXPECT_EQ(sample.counters.total(), 100u);
  EXPECT_EQ(sample.tps(), 97u) << "refused requests did not run";

  EXPECT_EQ(sample.latency.endToEnd.count, 100u);
  EXPECT_EQ(sample.latency.queueWait.count, 100u);
  EXPECT_EQ(sample.latency.execution.count, 96u) << "a platform error and refusals have no execution";
  EXPECT_EQ(sample.latency.coldStart.count, 2u);
  EXPECT_NEAR(sample.latency.endToEnd.quantile(0.5), 150, 1.5);
  EXPECT_NEAR(sample.latency.endToEnd.quantile(0.95), 300, 3);
  EXPECT_EQ(sample.latency.endToEnd.max, 5e6);
  EXPECT_NEAR(sample.latency.execution.quantile(0.95), 250, 2.5);
  EXPECT_EQ(sample.latency.coldStart.min, 4000);
  EXPECT_EQ(sample.latency.coldStart.max, 6000);
  EXPECT_EQ(sample.gauges, gauges);
  EXPECT_DOUBLE_EQ(sample.gauges.utilisation(), 0.6);

  EXPECT_TRUE(metrics.idle()) << "the next second starts empty";
  const Sample next = metrics.roll(1'700'000'001, Gauges{});
  EXPECT_EQ(next.counters, Counters{});
  EXPECT_TRUE(next.latency.endToEnd.empty());
  EXPECT_TRUE(next.latency.coldStart.empty());
}

TEST(FunctionMetrics, SecondsAndFunctionsAddUpWithoutAveragingPercentiles) {
  FunctionMetrics quiet, busy;
  for (int i = 0; i < 99; ++i) busy.invocation(Outcome::kSuccess, Microseconds(100), {}, Microseconds(90));
  quiet.invocation(Outcome::kSuccess, Milliseconds(500), {}, Milliseconds(490));
  Sample server = busy.roll(10, Gauges{});
  const Sample other = quiet.roll(10, Gauges{});
  server.counters.add(other.counters);
  server.latency.merge(other.latency);
  EXPECT_EQ(server.counters.total(), 100u);
  // Averaging the two P95s would say 250 ms; over the server's 100 requests it is 100 µs.
  EXPECT_NEAR(server.latency.endToEnd.quantile(0.95), 100, 1);
  EXPECT_EQ(server.latency.endToEnd.max, 500000);
}

TEST(Gauges, AddUpAndUtilisationIsZeroWithoutCapacity) {
  Gauges a, b;
  a.count(Kind::kOnDemand, State::kStarting) = 1;
  a.inFlight = 4;
  a.readyCapacity = 8;
  b.count(Kind::kOnDemand, State::kStarting) = 2;
  b.queueDepth = 7;
  b.reservedTarget = 3;
  b.reservedReady = 1;
  a.add(b);
  EXPECT_EQ(a.count(Kind::kOnDemand, State::kStarting), 3u);
  EXPECT_EQ(a.queueDepth, 7u);
  EXPECT_EQ(a.reservedTarget, 3u);
  EXPECT_EQ(a.reservedReady, 1u);
  EXPECT_DOUBLE_EQ(a.utilisation(), 0.5);
  EXPECT_DOUBLE_EQ(Gauges{}.utilisation(), 0);
}

TEST(MetricNames, LabelValuesAreThePrometheusOnes) {
  EXPECT_EQ(toString(Outcome::kFunctionError), "function_error");
  EXPECT_EQ(toString(Outcome::kPlatformError), "platform_error");
  EXPECT_EQ(toString(Refusal::kQueueFull), "queue_full");
  EXPECT_EQ(toString(Refusal::kQueueTimeout), "queue_timeout");
  EXPECT_EQ(toString(StartLimit::kMaxInstances), "max_instances");
  EXPECT_EQ(toString(StartLimit::kConcurrentStarts), "concurrent_starts");
}

} // namespace
} // namespace surge::metrics
