// What the scheduler records: after a known sequence of invocations, errors, refusals, held-back
// starts and cold starts on a fake clock, one rolled second holds exactly those figures, for the
// function and summed into the server's series, with the gauges of the moment.
#include "scheduler/core_fixture.h"

#include <gtest/gtest.h>

namespace surge::scheduler {
namespace {

using metrics::Outcome;
using metrics::Refusal;
using metrics::StartLimit;

constexpr int64_t kSecond = 1'800'000'000;

size_t at(auto value) { return static_cast<size_t>(value); }

const metrics::Sample* seriesOf(const metrics::Frame& frame, const std::string& name) {
  for (const auto& [key, sample] : frame.series) {
    if (key == name) return &sample;
  }
  return nullptr;
}

engine::InvokeOutcome failedWith(const std::string& type, absl::Duration execution) {
  engine::InvokeResult result;
  result.error = engine::FunctionError{type, "it failed", ""};
  result.execution = execution;
  return engine::InvokeOutcome::fromResult(result);
}

class SchedulerMetricsTest : public SchedulerCoreTest {
protected:
  void finishWith(const std::string& payload, engine::InvokeOutcome outcome) {
    engine_.finishInvoke(engine_.requestWithPayload(payload), std::move(outcome));
    loop_.runAll();
  }
};

TEST_F(SchedulerMetricsTest, ASecondHoldsEveryOutcomeRefusalHeldBackStartAndColdStart) {
  define({.maxInstances = 1, .maxQueueLength = 2, .queueTimeout = absl::Seconds(10)});
  auto a = submit("a");
  clock_.advance(absl::Milliseconds(5));
  ready(live()[0]); // a waited 5 ms for this cold start
  finish("a", absl::Milliseconds(3));
  auto b = submit("b");
  finishWith("b", failedWith("HandlerError", absl::Milliseconds(2)));
  auto d = submit("d");
  auto e = submit("e"); // waits: the one instance is busy, and max_instances holds a second back
  auto f = submit("f");
  auto g = submit("g"); // the queue holds 2: refused
  ASSERT_TRUE(g->has_value());
  EXPECT_EQ((*g)->outcome.status().code(), absl::StatusCode::kResourceExhausted);
  advance(absl::Seconds(11)); // e and f pass their queue timeout
  ASSERT_TRUE(e->has_value() && f->has_value());

  // Mid-second gauges: d runs on the only instance.
  metrics::Frame frame = core_->rollMetrics(kSecond);
  EXPECT_EQ(frame.second, kSecond);
  ASSERT_EQ(frame.series.size(), 2u);
  EXPECT_EQ(frame.series[0].first, "") << "the server's series comes first";
  const metrics::Sample* fn = seriesOf(frame, "default/fn");
  ASSERT_NE(fn, nullptr);
  const metrics::Counters& counted = fn->counters;
  EXPECT_EQ(counted.invocations[at(Outcome::kSuccess)], 1u);
  EXPECT_EQ(counted.invocations[at(Outcome::kFunctionError)], 1u);
  EXPECT_EQ(counted.invocations[at(Outcome::kTimeout)], 0u) << "d still runs";
  EXPECT_EQ(counted.invocations[at(Outcome::kRefused)], 3u);
  EXPECT_EQ(counted.refused[at(Refusal::kQueueFull)], 1u);
  EXPECT_EQ(counted.refused[at(Refusal::kQueueTimeout)], 2u);
  EXPECT_EQ(counted.heldBack[at(StartLimit::kMaxInstances)], 1u);
  EXPECT_EQ(counted.heldBack[at(StartLimit::kMemory)], 0u);
  EXPECT_EQ(counted.coldStarts, 1u);
  EXPECT_EQ(fn->latency.coldStart.count, 1u);
  EXPECT_NEAR(fn->latency.coldStart.quantile(0.5), 5000, 5000 * 0.01) << "5 ms, in microseconds";
  EXPECT_EQ(fn->latency.execution.count, 2u) << "a and b ran to an answer";
  EXPECT_EQ(fn->latency.endToEnd.count, 5u) << "a, b and the three refusals ended";
  EXPECT_NEAR(fn->latency.queueWait.quantile(1.0), 11e6, 11e6 * 0.01) << "e and f waited until the timer ran, 11 s";
  EXPECT_EQ(fn->gauges.count(InstanceKind::kOnDemand, InstanceState::kBusy), 1u);
  EXPECT_EQ(fn->gauges.inFlight, 1u);
  EXPECT_EQ(fn->gauges.queueDepth, 0u);
  EXPECT_EQ(fn->gauges.readyCapacity, 1u);
  EXPECT_DOUBLE_EQ(fn->gauges.utilisation(), 1.0);
  EXPECT_EQ(frame.series[0].second.counters, fn->counters) << "one function: the server's sum is its figures";
  EXPECT_EQ(frame.series[0].second.gauges, fn->gauges);
  EXPECT_EQ(frame.server.startsInProgress, 0u);

  // The next second: d times out, which ends its instance.
  finishWith("d", failedWith("Timeout", absl::Seconds(11)));
  frame = core_->rollMetrics(kSecond + 1);
  fn = seriesOf(frame, "default/fn");
  ASSERT_NE(fn, nullptr);
  EXPECT_EQ(fn->counters.invocations[at(Outcome::kTimeout)], 1u);
  EXPECT_EQ(fn->counters.total(), 1u) << "a second counts only its own events";
  EXPECT_EQ(fn->gauges, metrics::Gauges{}) << "the instance is gone";

  // Nothing recorded and nothing running: the function leaves the frame; the server's stays.
  frame = core_->rollMetrics(kSecond + 2);
  ASSERT_EQ(frame.series.size(), 1u);
  EXPECT_EQ(frame.series[0].first, "");
  EXPECT_EQ(frame.series[0].second.counters.total(), 0u);
}

TEST_F(SchedulerMetricsTest, CancelledRequestsAreNotCountedAndStartFailuresCountByFault) {
  define({.maxInstances = 1});
  auto token = std::make_shared<engine::CancellationToken>();
  auto a = submit("a", token);
  token->cancel();
  loop_.runAll();
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ((*a)->outcome.status().code(), absl::StatusCode::kCancelled);
  auto b = submit("b");
  engine_.finishStart(live()[0], engine::StartOutcome::Kind::kPlatformFault, "bwrap failed");
  loop_.runAll();
  auto c = submit("c");
  engine_.finishStart(live()[0], engine::StartOutcome::Kind::kFunctionFault, "SyntaxError");
  loop_.runAll();
  ASSERT_TRUE(b->has_value() && c->has_value());

  const metrics::Frame frame = core_->rollMetrics(kSecond);
  const metrics::Sample* fn = seriesOf(frame, "default/fn");
  ASSERT_NE(fn, nullptr);
  EXPECT_EQ(fn->counters.invocations[at(Outcome::kPlatformError)], 1u) << "b: the platform failed its start";
  EXPECT_EQ(fn->counters.invocations[at(Outcome::kFunctionError)], 1u) << "c: its initializer failed";
  EXPECT_EQ(fn->counters.total(), 2u) << "a was cancelled by its caller";
  EXPECT_EQ(fn->counters.coldStarts, 0u) << "no start became ready";
}

TEST_F(SchedulerMetricsTest, ServerGaugesSumFunctionsAndCountStartsMemoryAndReservations) {
  makeCore({.memoryBudgetMb = 512, .maxConcurrentStarts = 1});
  define({.name = "one", .reserved = 2}); // 128 MiB each
  core_->update(function_);
  loop_.runAll();
  auto one = function_;
  define({.name = "two"});
  auto b = submit("b"); // held back: one start at a time, and "one" starts a reserved instance
  ASSERT_FALSE(b->has_value());

  metrics::Frame frame = core_->rollMetrics(kSecond);
  ASSERT_EQ(frame.series.size(), 3u);
  EXPECT_EQ(frame.series[1].first, "default/one");
  EXPECT_EQ(frame.series[2].first, "default/two");
  const metrics::Sample* two = seriesOf(frame, "default/two");
  EXPECT_EQ(two->counters.heldBack[at(StartLimit::kConcurrentStarts)], 1u);
  EXPECT_EQ(two->gauges.queueDepth, 1u);
  const metrics::Sample* first = seriesOf(frame, "default/one");
  EXPECT_EQ(first->gauges.reservedTarget, 2u);
  EXPECT_EQ(first->gauges.count(InstanceKind::kReserved, InstanceState::kStarting), 1u);
  EXPECT_EQ(frame.server.memoryBudgetMb, 512u);
  EXPECT_EQ(frame.server.memoryUsedMb, 128u);
  EXPECT_EQ(frame.server.memoryReservedMb, 256u);
  EXPECT_EQ(frame.server.startsInProgress, 1u);
  EXPECT_EQ(frame.series[0].second.gauges.queueDepth, 1u);
  EXPECT_EQ(frame.series[0].second.gauges.reservedTarget, 2u);
}

// Every answer leaves one record, with the status of the one table in docs/observability.md.
TEST_F(SchedulerMetricsTest, EveryAnswerLeavesARecordWithItsStatusTimingsAndInstance) {
  std::vector<logs::InvocationRecord> records;
  core_->recordInto([&](logs::InvocationRecord record) { records.push_back(std::move(record)); });
  define({.maxInstances = 1, .maxQueueLength = 1, .queueTimeout = absl::Seconds(10), .version = 4});
  const absl::Time arrival = clock_.now();
  auto a = submit("a");
  clock_.advance(absl::Milliseconds(5));
  ready(live()[0]);
  finish("a", absl::Microseconds(2500));
  ASSERT_EQ(records.size(), 1u);
  const logs::InvocationRecord& ok = records[0];
  EXPECT_EQ(ok.requestId, (*a)->requestId);
  EXPECT_EQ(ok.function, "default/fn");
  EXPECT_EQ(ok.version, 4);
  EXPECT_EQ(ok.instance, live()[0]);
  EXPECT_EQ(ok.kind, InstanceKind::kOnDemand);
  EXPECT_EQ(ok.arrival, arrival);
  EXPECT_EQ(ok.queueWait, absl::Milliseconds(5));
  EXPECT_EQ(ok.execution, absl::Microseconds(2500));
  EXPECT_EQ(ok.billedMs, 3);
  EXPECT_TRUE(ok.coldStart);
  EXPECT_EQ(ok.status, logs::RecordStatus::kSucceeded);

  auto b = submit("b");
  finishWith("b", failedWith("HandlerError", absl::Milliseconds(1)));
  auto c = submit("c");
  auto cancel = std::make_shared<engine::CancellationToken>();
  auto d = submit("d", cancel); // waits
  auto e = submit("e");         // the queue holds 1: refused at once
  finishWith("c", failedWith("OutOfMemory", absl::Milliseconds(1)));
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[1].status, logs::RecordStatus::kFunctionError);
  EXPECT_EQ(records[1].errorType, "HandlerError");
  EXPECT_EQ(records[2].status, logs::RecordStatus::kRejected);
  EXPECT_EQ(records[2].requestId, (*e)->requestId);
  EXPECT_EQ(records[2].errorType, "RESOURCE_EXHAUSTED");
  EXPECT_EQ(records[2].instance, 0u) << "it never reached an instance";
  EXPECT_EQ(records[2].version, 4) << "the version it would have run";
  EXPECT_EQ(records[3].status, logs::RecordStatus::kInstanceDied);
  EXPECT_EQ(records[3].errorType, "OutOfMemory");

  // d waits for an instance to replace the one that died; its caller gives up.
  cancel->cancel();
  loop_.runAll();
  ASSERT_TRUE(d->has_value());
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[4].status, logs::RecordStatus::kCancelled);
  EXPECT_EQ(records[4].requestId, (*d)->requestId);
  EXPECT_TRUE(b->has_value());
}

} // namespace
} // namespace surge::scheduler
