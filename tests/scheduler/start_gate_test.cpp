// StartGate on its own, with time given by the test: the three limits, their messages, and the
// token the timer waits for.
#include "scheduler/start_gate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace surge::scheduler {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

SchedulerOptions limits(uint64_t budgetMb, uint32_t burst, uint32_t perMinute, uint32_t concurrent) {
  SchedulerOptions options;
  options.memoryBudgetMb = budgetMb;
  options.creationBurst = burst;
  options.creationPerMinute = perMinute;
  options.maxConcurrentStarts = concurrent;
  return options;
}

const SteadyTime kStart = SteadyTime() + 1000s;

TEST(StartGate, ABurstThenOneTokenPerIntervalAndTheTimerKnowsWhen) {
  StartGate gate(limits(0, 2, 60, 100), kStart);
  gate.beginRound(kStart);
  for (int i = 0; i < 2; ++i) {
    ASSERT_FALSE(gate.refusal(128, InstanceKind::kOnDemand, 0, 0).has_value());
    gate.started(128);
  }
  auto held = gate.refusal(128, InstanceKind::kOnDemand, 0, 0);
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(held->limit, metrics::StartLimit::kCreationRate);
  EXPECT_EQ(held->reason, "the server's instance creation rate (2 at once, then 60 per minute) was reached");
  ASSERT_TRUE(gate.nextToken().has_value());
  EXPECT_EQ(*gate.nextToken(), kStart + 1s);

  gate.beginRound(kStart + 500ms);
  EXPECT_TRUE(gate.refusal(128, InstanceKind::kOnDemand, 0, 0).has_value()) << "half a token is none";
  gate.beginRound(kStart + 1s);
  EXPECT_FALSE(gate.refusal(128, InstanceKind::kOnDemand, 0, 0).has_value());
  EXPECT_FALSE(gate.nextToken().has_value()) << "a new round forgets the wait until a refusal says it again";
}

TEST(StartGate, TheBucketNeverHoldsMoreThanTheBurst) {
  StartGate gate(limits(0, 1, 60, 100), kStart);
  gate.beginRound(kStart + 3600s); // an hour of refills
  ASSERT_FALSE(gate.refusal(128, InstanceKind::kOnDemand, 0, 0).has_value());
  gate.started(128);
  EXPECT_TRUE(gate.refusal(128, InstanceKind::kOnDemand, 0, 0).has_value());
}

TEST(StartGate, WithoutARefillRateNoTimerWaitsForATokenThatNeverComes) {
  StartGate gate(limits(0, 1, 0, 100), kStart);
  gate.beginRound(kStart);
  gate.started(128);
  EXPECT_TRUE(gate.refusal(128, InstanceKind::kOnDemand, 0, 0).has_value());
  EXPECT_FALSE(gate.nextToken().has_value());
}

TEST(StartGate, OnDemandStartsLeaveWhatReservedTargetsStillNeed) {
  StartGate gate(limits(1024, 100, 100, 100), kStart);
  gate.beginRound(kStart);
  gate.started(512);
  EXPECT_EQ(gate.usedMemoryMb(), 512u);
  // 512 used, 256 set aside for reserved targets: an on-demand 512 would eat into them.
  auto held = gate.refusal(512, InstanceKind::kOnDemand, 256, 0);
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(held->limit, metrics::StartLimit::kMemory);
  EXPECT_EQ(held->reason,
            "the server's instance memory budget of 1024 MiB is in use or set aside for reserved instances");
  EXPECT_FALSE(gate.refusal(256, InstanceKind::kOnDemand, 256, 0).has_value());
  EXPECT_FALSE(gate.refusal(512, InstanceKind::kReserved, 256, 0).has_value()) << "reserved may use all that is free";
  EXPECT_TRUE(gate.refusal(768, InstanceKind::kReserved, 0, 0).has_value());
  gate.gone(512);
  EXPECT_EQ(gate.usedMemoryMb(), 0u);
  EXPECT_FALSE(gate.refusal(768, InstanceKind::kOnDemand, 256, 0).has_value());
}

TEST(StartGate, NoBudgetMeansNoMemoryLimit) {
  StartGate gate(limits(0, 100, 100, 100), kStart);
  gate.beginRound(kStart);
  EXPECT_FALSE(gate.refusal(1 << 30, InstanceKind::kOnDemand, 1 << 30, 0).has_value());
}

TEST(StartGate, StartsAtOnceAreCapped) {
  StartGate gate(limits(0, 100, 100, 4), kStart);
  gate.beginRound(kStart);
  EXPECT_FALSE(gate.refusal(128, InstanceKind::kOnDemand, 0, 3).has_value());
  auto held = gate.refusal(128, InstanceKind::kReserved, 0, 4);
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(held->limit, metrics::StartLimit::kConcurrentStarts);
  EXPECT_EQ(held->reason, "the server's limit of 4 instances starting at once was reached");
}

} // namespace
} // namespace surge::scheduler
