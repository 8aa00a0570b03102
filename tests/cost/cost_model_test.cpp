// The cost model against values computed by hand: what usage costs, that a replay at the count
// that stood agrees with the recorded cost without being it, the what-if for two more, the cold
// starts by the idle-timeout rule, and the recommendation under a cold-start budget.
#include "cost/cost_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace surge::cost {
namespace {

constexpr uint64_t kGbSecond = 1024 * 1000; // MB-ms in one GB-second
constexpr size_t kReserved = 0, kOnDemand = 1;

// 100 seconds of 1 GB instances with one request slot each and one reserved instance standing:
// 2 requests of 500 ms every second, except seconds 50-54, which have 6 of 500 ms at once (3 in
// flight, 3 GB-s).
std::vector<ConcurrencyStep> promotionSeries() {
  std::vector<ConcurrencyStep> steps;
  for (int64_t s = 0; s < 100; ++s) {
    const bool burst = s >= 50 && s < 55;
    steps.push_back(ConcurrencyStep{.start = 1000 + s,
                                    .seconds = 1,
                                    .peak = burst ? 3u : 1u,
                                    .mean = burst ? 3.0 : 1.0,
                                    .reserved = 1,
                                    .requests = burst ? 6u : 2u,
                                    .billedMbMs = (burst ? 3 : 1) * kGbSecond});
  }
  return steps;
}

ReplayOptions gigabyteInstances() {
  return ReplayOptions{.memoryMb = 1024, .concurrency = 1, .idleTimeoutSeconds = 10};
}

TEST(CostModel, UsageCostsItsGbSecondsAndRequestsAtThePrices) {
  Usage usage;
  usage.instanceMbSeconds = {1024 * 100, 512 * 40}; // on-demand alive time is not billed
  usage.billedMbMs = {100 * kGbSecond, 10 * kGbSecond};
  usage.requests = {200, 20};
  const CostBreakdown cost = costOf(usage, Prices{});
  EXPECT_DOUBLE_EQ(cost.reservedInstances, 100 * 0.0000041667);
  EXPECT_DOUBLE_EQ(cost.reservedExecution, 100 * 0.0000097222);
  EXPECT_DOUBLE_EQ(cost.onDemandExecution, 10 * 0.0000166667);
  EXPECT_DOUBLE_EQ(cost.requests, 220 * 0.20 / 1e6);
  EXPECT_DOUBLE_EQ(cost.total(),
                   cost.reservedInstances + cost.reservedExecution + cost.onDemandExecution + cost.requests);
}

TEST(CostModel, ReplayAtTheCountThatStoodComesFromTheSeriesAndAgreesWithTheRecordWithinOnePercent) {
  // What was recorded: the reserved instance was alive 99 of the 100 seconds (it came up late),
  // 2 GB-s of each burst second went on demand.
  Usage recorded;
  recorded.instanceMbSeconds = {1024 * 99, 1024 * 2 * 5};
  recorded.billedMbMs = {100 * kGbSecond, 10 * kGbSecond};
  recorded.requests = {200, 20};
  const double actual = costOf(recorded, Prices{}).total();

  const Replay same = replay(promotionSeries(), 1, gigabyteInstances(), Prices{});
  EXPECT_EQ(same.usage.instanceMbSeconds[kReserved], 1024u * 100); // the whole span, from the series
  EXPECT_EQ(same.usage.billedMbMs[kReserved], 100 * kGbSecond);
  EXPECT_EQ(same.usage.billedMbMs[kOnDemand], 10 * kGbSecond);
  EXPECT_EQ(same.usage.requests[kReserved], 200u);
  EXPECT_EQ(same.usage.requests[kOnDemand], 20u);
  EXPECT_NE(same.cost.total(), actual); // not the record handed back
  EXPECT_NEAR(same.cost.total(), actual, 0.01 * actual);
  EXPECT_DOUBLE_EQ(same.cost.total(), 100 * 0.0000041667 + 100 * 0.0000097222 + 10 * 0.0000166667 + 220 * 0.2 / 1e6);
  EXPECT_EQ(same.coldStarts, 2u); // the burst's two extra instances, once
  EXPECT_EQ(replayedColdStarts(promotionSeries(), gigabyteInstances()), 2u);
}

TEST(CostModel, WhatIfTwoMoreMatchesTheHandComputedCost) {
  const Replay more = replay(promotionSeries(), 3, gigabyteInstances(), Prices{});
  // 3 instances × 100 s × 1 GB alive; all 110 GB-s executed on them; 220 requests.
  const double byHand = 300 * 0.0000041667 + 110 * 0.0000097222 + 220 * 0.2 / 1e6;
  EXPECT_NEAR(more.cost.total(), byHand, 1e-12);
  EXPECT_NEAR(more.cost.total(), 0.002363452, 1e-9);
  EXPECT_EQ(more.usage.billedMbMs[kOnDemand], 0u);
  EXPECT_EQ(more.coldStarts, 0u);
}

TEST(CostModel, AtMinuteResolutionTheStepsShareFollowsItsPeak) {
  // One minute, peak 4, mean 1 in flight: with 2 reserved, half the minute's execution is covered.
  const std::vector<ConcurrencyStep> minute{{.start = 60,
                                             .seconds = 60,
                                             .peak = 4,
                                             .mean = 1.0,
                                             .reserved = 0,
                                             .requests = 60,
                                             .billedMbMs = 60 * kGbSecond}};
  const Replay two = replay(minute, 2, gigabyteInstances(), Prices{});
  EXPECT_EQ(two.usage.billedMbMs[kReserved], 30 * kGbSecond);
  EXPECT_EQ(two.usage.billedMbMs[kOnDemand], 30 * kGbSecond);
  EXPECT_EQ(two.usage.instanceMbSeconds[kReserved], 2u * 1024 * 60);
  EXPECT_EQ(two.coldStarts, 2u);
}

TEST(CostModel, ShortInvocationsBetweenReadingsStillCountAsLoad) {
  // Nothing in flight at the second's end, but 0.5 GB-s ran: one instance was needed.
  const std::vector<ConcurrencyStep> second{
      {.start = 5, .seconds = 1, .peak = 0, .mean = 0, .reserved = 0, .requests = 50, .billedMbMs = kGbSecond / 2}};
  EXPECT_EQ(replay(second, 0, gigabyteInstances(), Prices{}).coldStarts, 1u);
  EXPECT_EQ(replay(second, 1, gigabyteInstances(), Prices{}).usage.billedMbMs[kReserved], kGbSecond / 2);
}

TEST(CostModel, AnOnDemandInstanceStaysWarmForTheIdleTimeoutAfterItsLastUse) {
  const std::vector<ConcurrencyStep> twoCalls{
      {.start = 0, .seconds = 1, .peak = 1, .mean = 1, .reserved = 0, .requests = 1, .billedMbMs = 1024},
      {.start = 20, .seconds = 1, .peak = 1, .mean = 1, .reserved = 0, .requests = 1, .billedMbMs = 1024}};
  ReplayOptions options = gigabyteInstances();
  options.idleTimeoutSeconds = 20; // gone at 20: last used at 0, warm while 0 + 20 > t
  EXPECT_EQ(replay(twoCalls, 0, options, Prices{}).coldStarts, 2u);
  options.idleTimeoutSeconds = 21;
  EXPECT_EQ(replay(twoCalls, 0, options, Prices{}).coldStarts, 1u);
  EXPECT_EQ(replay(twoCalls, 1, options, Prices{}).coldStarts, 0u);
}

TEST(CostModel, RecommendationIsTheCheapestCountWithinTheColdStartBudget) {
  // Cold starts by count: 0 → 3, 1 → 2, 2 → 1, 3 → 0. Costs: 1 is the cheapest.
  const auto steps = promotionSeries();
  const Replay strict = recommend(steps, 10, 0.001, gigabyteInstances(), Prices{}); // 0.22 → none allowed
  EXPECT_EQ(strict.reserved, 3u);
  EXPECT_EQ(strict.coldStarts, 0u);
  const Replay loose = recommend(steps, 10, 0.05, gigabyteInstances(), Prices{}); // 11 allowed
  EXPECT_EQ(loose.reserved, 1u);
  EXPECT_NEAR(loose.cost.total(), 100 * 0.0000041667 + 100 * 0.0000097222 + 10 * 0.0000166667 + 220 * 0.2 / 1e6, 1e-12);
  // Capped by the function's max_instances: the fewest cold starts it can have.
  const Replay capped = recommend(steps, 2, 0.001, gigabyteInstances(), Prices{});
  EXPECT_EQ(capped.reserved, 2u);
  EXPECT_EQ(capped.coldStarts, 1u);
}

TEST(CostModel, PricesMustBeFiniteAndNotNegative) {
  Prices prices;
  EXPECT_TRUE(validate(prices).ok());
  prices.onDemandGbSecond = -1;
  EXPECT_EQ(validate(prices).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(validate(prices).message(),
            "price-on-demand-gb-second is -1; a price must be a finite number of 0 or more");
  prices.onDemandGbSecond = std::numeric_limits<double>::infinity();
  EXPECT_EQ(validate(prices).code(), absl::StatusCode::kInvalidArgument);
  prices = Prices{};
  prices.currency.clear();
  EXPECT_EQ(validate(prices).message(), "price-currency is empty; name the currency");
}

TEST(CostModel, NoHistoryReplaysToNothing) {
  const Replay none = replay({}, 4, gigabyteInstances(), Prices{});
  EXPECT_EQ(none.cost.total(), 0);
  EXPECT_EQ(none.coldStarts, 0u);
}

} // namespace
} // namespace surge::cost
