// The load generator's bookkeeping: the arrival schedule, percentiles, per-step summaries
// (including the P95 taken after the settle time) and the instance CSV.
#include "bench/load_generator.h"

#include <gtest/gtest.h>

namespace surge::bench {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

TEST(ArrivalSchedule, SpacesEachStepEvenlyAndStartsTheNextWhereTheLastEnds) {
  const auto arrivals = arrivalSchedule({{10, milliseconds(1000)}, {20, milliseconds(500)}});
  ASSERT_EQ(arrivals.size(), 20u);
  EXPECT_EQ(arrivals[0].offset, nanoseconds(0));
  EXPECT_EQ(arrivals[1].offset, milliseconds(100));
  EXPECT_EQ(arrivals[9].offset, milliseconds(900));
  EXPECT_EQ(arrivals[9].step, 0);
  EXPECT_EQ(arrivals[10].offset, milliseconds(1000));
  EXPECT_EQ(arrivals[10].step, 1);
  EXPECT_EQ(arrivals[11].offset, milliseconds(1050));
  EXPECT_EQ(arrivals[19].offset, milliseconds(1450));
}

TEST(ArrivalSchedule, RoundsAFractionalCountToTheNearestRequest) {
  EXPECT_EQ(arrivalSchedule({{2.5, milliseconds(1000)}}).size(), 3u);
  EXPECT_EQ(arrivalSchedule({{1, milliseconds(400)}}).size(), 0u);
}

TEST(StepAt, MapsOffsetsToStepsAndOutsideToMinusOne) {
  const std::vector<LoadStep> steps = {{1, milliseconds(1000)}, {1, milliseconds(2000)}};
  EXPECT_EQ(stepAt(steps, milliseconds(-1)), -1);
  EXPECT_EQ(stepAt(steps, milliseconds(0)), 0);
  EXPECT_EQ(stepAt(steps, milliseconds(999)), 0);
  EXPECT_EQ(stepAt(steps, milliseconds(1000)), 1);
  EXPECT_EQ(stepAt(steps, milliseconds(2999)), 1);
  EXPECT_EQ(stepAt(steps, milliseconds(3000)), -1);
  EXPECT_EQ(stepStart(steps, 1), milliseconds(1000));
}

TEST(Percentile, IsNearestRankAndZeroForNoValues) {
  std::vector<double> values;
  for (int i = 100; i >= 1; --i) values.push_back(i);
  EXPECT_EQ(percentile(values, 0.50), 50);
  EXPECT_EQ(percentile(values, 0.95), 95);
  EXPECT_EQ(percentile(values, 0.99), 99);
  EXPECT_EQ(percentile(values, 1.0), 100);
  EXPECT_EQ(percentile(values, 0.0), 1);
  EXPECT_EQ(percentile({7}, 0.99), 7);
  EXPECT_EQ(percentile({}, 0.5), 0);
}

TEST(Summarize, CountsFailuresColdStartsAndTakesTheSettledP95AfterTheSettleTime) {
  const std::vector<LoadStep> steps = {{10, milliseconds(2000)}, {10, milliseconds(2000)}};
  std::vector<RequestRecord> records;
  // Step 0: a slow cold start in the first second, then 10 fast calls in the second.
  records.push_back(
      {.step = 0, .offset = milliseconds(0), .latencyMs = 500, .completed = true, .ok = true, .coldStart = true});
  for (int i = 0; i < 10; ++i) {
    records.push_back(
        {.step = 0, .offset = milliseconds(1000 + 100 * i), .latencyMs = 20.0 + i, .completed = true, .ok = true});
  }
  // Step 1: one handler error (answered) and one call never answered.
  records.push_back({.step = 1,
                     .offset = milliseconds(2000),
                     .latencyMs = 30,
                     .sendLagMs = 3,
                     .completed = true,
                     .ok = false,
                     .error = "HandlerError"});
  records.push_back({.step = 1, .offset = milliseconds(2100), .sendLagMs = 1, .completed = false});
  const std::vector<StatusSample> status = {{.seconds = 0.1, .step = 0, .instances = 1, .inFlight = 1, .queueDepth = 4},
                                            {.seconds = 0.2, .step = 0, .instances = 2, .queueDepth = 1},
                                            {.seconds = 2.5, .step = 1, .instances = 3, .queueDepth = 0},
                                            {.seconds = 9.0, .step = -1, .instances = 9, .queueDepth = 99}};

  const auto summaries = summarize(steps, records, status, milliseconds(1000));
  ASSERT_EQ(summaries.size(), 2u);
  const StepSummary& first = summaries[0];
  EXPECT_EQ(first.sent, 11u);
  EXPECT_EQ(first.completed, 11u);
  EXPECT_EQ(first.failures, 0u);
  EXPECT_EQ(first.coldStarts, 1u);
  EXPECT_EQ(first.maxMs, 500);
  EXPECT_EQ(first.p99Ms, 500) << "the cold start counts in the whole step";
  EXPECT_EQ(first.settledSamples, 10u);
  EXPECT_EQ(first.p95SettledMs, 29) << "but not in the P95 from 1 s after the step's start";
  EXPECT_EQ(first.peakQueueDepth, 4u);
  EXPECT_EQ(first.peakInstances, 2u);
  EXPECT_EQ(first.statusSamples, 2u);

  const StepSummary& second = summaries[1];
  EXPECT_EQ(second.sent, 2u);
  EXPECT_EQ(second.completed, 1u);
  EXPECT_EQ(second.failures, 2u) << "a function error and a call never answered both fail";
  EXPECT_EQ(second.p50Ms, 30);
  EXPECT_EQ(second.maxSendLagMs, 3);
  EXPECT_EQ(second.peakInstances, 3u) << "samples after the last step belong to none";
  EXPECT_EQ(second.peakQueueDepth, 0u);
}

TEST(InstancesCsv, HasAHeaderAndOneLinePerSample) {
  const std::string csv = instancesCsv({{.seconds = 1.25,
                                         .step = 2,
                                         .instances = 5,
                                         .starting = 1,
                                         .idle = 2,
                                         .busy = 2,
                                         .inFlight = 2,
                                         .queueDepth = 3,
                                         .reservedReady = 0}});
  EXPECT_EQ(csv, "seconds,step,instances,starting,idle,busy,draining,in_flight,queue_depth,reserved_ready\n"
                 "1.250,2,5,1,2,2,0,2,3,0\n");
}

TEST(RecordsCsv, WritesOneLinePerRequestAndKeepsTheErrorInOneField) {
  const std::string csv = recordsCsv({{.step = 1,
                                       .offset = milliseconds(1500),
                                       .latencyMs = 21.5,
                                       .sendLagMs = 0.25,
                                       .completed = true,
                                       .ok = false,
                                       .error = "rpc 8: queue full, try later"}});
  EXPECT_EQ(csv, "scheduled_ms,step,latency_ms,send_lag_ms,completed,ok,cold_start,error\n"
                 "1500.000,1,21.500,0.250,1,0,0,rpc 8: queue full  try later\n");
}

TEST(ParseSteps, ReadsRateColonSecondsListsAndRejectsAnythingElse) {
  const auto steps = parseSteps("50:10,100:2.5");
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].ratePerSecond, 50);
  EXPECT_EQ(steps[0].duration, milliseconds(10000));
  EXPECT_EQ(steps[1].duration, milliseconds(2500));
  EXPECT_TRUE(parseSteps("50").empty());
  EXPECT_TRUE(parseSteps("50:x").empty());
  EXPECT_TRUE(parseSteps("0:10").empty());
}

} // namespace
} // namespace surge::bench
