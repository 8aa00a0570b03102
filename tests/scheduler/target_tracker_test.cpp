// TargetTracker alone: the tracked target from one made-up sample per second (10 s window,
// immediate scale-out, scale-in after the cool-down to the peak desired over it, clamping).
#include "scheduler/target_tracker.h"

#include <gtest/gtest.h>

namespace surge::scheduler {
namespace {

common::TrackingPolicy policy(uint32_t min, uint32_t max, double target = 0.5,
                              absl::Duration cooldown = absl::Seconds(60)) {
  return {.minReserved = min, .maxReserved = max, .targetUtilization = target, .cooldown = cooldown};
}

class TargetTrackerTest : public ::testing::Test {
protected:
  // Feeds `seconds` samples of `demand`, one per second; returns the target after them.
  uint32_t feed(TargetTracker& tracker, uint32_t demand, int seconds, uint32_t capacity = 0) {
    for (int i = 0; i < seconds; ++i) {
      now_ += std::chrono::seconds(1);
      tracker.step(now_, {demand, capacity});
    }
    return tracker.target();
  }
  SteadyTime now_{};
};

TEST_F(TargetTrackerTest, StartsAtTheMinimumWithNoSamples) {
  TargetTracker tracker(policy(2, 10), 1);
  EXPECT_EQ(tracker.target(), 2u);
  EXPECT_EQ(tracker.desired(), 2u);
  EXPECT_FALSE(tracker.utilization().has_value());
}

TEST_F(TargetTrackerTest, DesiredIsTheWindowsMeanDemandOverConcurrencyTimesTarget) {
  TargetTracker tracker(policy(0, 100, 0.5), 2); // one instance serves 1 request at the target
  EXPECT_EQ(feed(tracker, 6, 10), 6u);           // 6 / (2 × 0.5)
  EXPECT_EQ(tracker.desired(), 6u);
  // An exact multiple is not rounded up by floating point: 3 / (1 × 0.6) asks for 5.
  TargetTracker exact(policy(0, 100, 0.6), 1);
  EXPECT_EQ(feed(exact, 3, 10), 5u);
}

TEST_F(TargetTrackerTest, ALoadStepRaisesTheTargetOnTheFirstSampleThatAsksForMore) {
  TargetTracker tracker(policy(1, 20, 0.5), 1);
  feed(tracker, 0, 10);
  ASSERT_EQ(tracker.target(), 1u);
  // 6 in flight from now on: the 10 s mean climbs 0.6, 1.2, 1.8...; the target follows at once.
  now_ += std::chrono::seconds(1);
  EXPECT_TRUE(tracker.step(now_, {6, 1}));
  EXPECT_EQ(tracker.target(), 2u); // ceil(0.6 / 0.5)
  EXPECT_EQ(feed(tracker, 6, 1), 3u);
  EXPECT_EQ(feed(tracker, 6, 8), 12u); // the whole window at 6: 6 / 0.5
  EXPECT_EQ(feed(tracker, 6, 5), 12u);
}

TEST_F(TargetTrackerTest, UtilizationIsDemandOverReadyCapacityInTheWindow) {
  TargetTracker tracker(policy(0, 10, 0.5), 1);
  feed(tracker, 3, 10, 4);
  ASSERT_TRUE(tracker.utilization().has_value());
  EXPECT_DOUBLE_EQ(*tracker.utilization(), 0.75);
}

TEST_F(TargetTrackerTest, ScaleInWaitsForTheCooldownThenKeepsTheHighestDemandOfIt) {
  TargetTracker tracker(policy(1, 20, 0.5, absl::Seconds(60)), 1);
  ASSERT_EQ(feed(tracker, 5, 10), 10u);
  // The load falls to 2 (desired 4) and once, 30 s later, is 3 for a second (window 2.1: desired 5).
  feed(tracker, 2, 29);
  feed(tracker, 3, 1);
  feed(tracker, 2, 29);
  EXPECT_EQ(tracker.target(), 10u) << "lowered before the cool-down ended";
  // A cool-down after the last second at 5, the target follows the window's fall a cool-down late.
  feed(tracker, 2, 2);
  EXPECT_EQ(tracker.target(), 9u); // the window's mean 4.4, a cool-down ago
  feed(tracker, 2, 9);
  EXPECT_EQ(tracker.target(), 5u) << "dropped below the highest demand of the last cool-down";
  feed(tracker, 2, 30);
  EXPECT_EQ(tracker.target(), 4u);
}

TEST_F(TargetTrackerTest, ARiseDuringTheCooldownRestartsIt) {
  TargetTracker tracker(policy(0, 20, 1.0, absl::Seconds(30)), 1);
  ASSERT_EQ(feed(tracker, 8, 10), 8u);
  feed(tracker, 2, 25);
  EXPECT_EQ(tracker.target(), 8u);
  feed(tracker, 8, 10); // back up to 8 for a whole window
  feed(tracker, 2, 29);
  EXPECT_EQ(tracker.target(), 8u) << "the rise did not restart the cool-down";
  feed(tracker, 2, 11);
  EXPECT_EQ(tracker.target(), 2u);
}

TEST_F(TargetTrackerTest, TheTargetStaysWithinMinAndMax) {
  TargetTracker tracker(policy(3, 5, 0.5, absl::Seconds(10)), 1);
  EXPECT_EQ(feed(tracker, 100, 10), 5u);
  EXPECT_EQ(feed(tracker, 0, 40), 3u);
}

TEST_F(TargetTrackerTest, ANewPolicyRetargetsAtOnceFromTheKeptDemand) {
  TargetTracker tracker(policy(1, 20, 0.5), 1);
  ASSERT_EQ(feed(tracker, 5, 10), 10u);
  tracker.reconfigure(policy(1, 4, 0.5), 1);
  EXPECT_EQ(tracker.target(), 4u);
  tracker.reconfigure(policy(12, 14, 0.5), 1);
  EXPECT_EQ(tracker.target(), 12u);
  tracker.reconfigure(policy(0, 20, 1.0), 1);
  EXPECT_EQ(tracker.target(), 5u) << "not recomputed from the demand of the last cool-down";
}

} // namespace
} // namespace surge::scheduler
