// Target tracking in SchedulerCore, on the fake clock and engine: a load step raises the reserved
// target within a second and starts reserved instances, scale-in waits for the cool-down, the
// windows set a floor, the standing target does not apply while a policy is on.
#include "core_fixture.h"

namespace surge::scheduler {
namespace {

class TrackingCoreTest : public SchedulerCoreTest {
protected:
  static common::TrackingPolicy policy(uint32_t min, uint32_t max, double target = 0.5,
                                       absl::Duration cooldown = absl::Seconds(60)) {
    return {.minReserved = min, .maxReserved = max, .targetUtilization = target, .cooldown = cooldown};
  }
  // Seconds pass one by one, so that the trackers take one sample each.
  void tick(int seconds) {
    for (int i = 0; i < seconds; ++i) advance(absl::Seconds(1));
  }
  FunctionStatus status() const { return core_->status("default/fn"); }
  void readyAll() {
    for (engine::InstanceId id : live()) {
      if (!engine_.instances().at(id).ready) ready(id);
    }
  }
};

TEST_F(TrackingCoreTest, APolicyKeepsItsMinimumAndIgnoresTheStandingTarget) {
  core_->update(define({.reserved = 3, .tracking = policy(2, 10)}));
  loop_.runAll();
  EXPECT_EQ(status().reservedTarget, 2u);
  EXPECT_EQ(status().trackedTarget, 2u);
  EXPECT_TRUE(status().trackingSets);
  EXPECT_EQ(live().size(), 2u);
}

TEST_F(TrackingCoreTest, ALoadStepRaisesTheTargetOnTheNextSecondAndStartsReservedInstances) {
  core_->update(define({.tracking = policy(1, 10)}));
  loop_.runAll();
  readyAll();
  tick(10);
  ASSERT_EQ(status().reservedTarget, 1u);
  std::vector<ResultSlot> slots;
  for (int i = 0; i < 4; ++i) slots.push_back(submit("load" + std::to_string(i)));
  // The window's mean demand, (9 × 0 + 4) / 10 = 0.4, asks for ceil(0.4 / 0.5) = 1 more than none.
  tick(1);
  EXPECT_EQ(status().trackedTarget, 1u);
  tick(1); // 0.8 / 0.5: 2
  EXPECT_EQ(status().reservedTarget, 2u);
  tick(8); // the whole window at 4: 8
  EXPECT_EQ(status().reservedTarget, 8u);
  EXPECT_EQ(status().trackedTarget, 8u);
  EXPECT_TRUE(status().trackingSets);
  readyAll();
  EXPECT_EQ(status().reservedReady, 8u);
  ASSERT_TRUE(status().utilization.has_value());
  EXPECT_GT(*status().utilization, 0.0);
}

TEST_F(TrackingCoreTest, ScaleInWaitsForTheCooldownAndStopsNothingAtOnce) {
  core_->update(define({.tracking = policy(1, 10, 0.5, absl::Seconds(60))}));
  loop_.runAll();
  readyAll();
  for (int i = 0; i < 3; ++i) submit("load" + std::to_string(i));
  readyAll(); // the on-demand starts for the queued two
  tick(10);
  readyAll();
  ASSERT_EQ(status().reservedTarget, 6u);
  for (int i = 0; i < 3; ++i) finish("load" + std::to_string(i));
  tick(59);
  EXPECT_EQ(status().reservedTarget, 6u) << "lowered within the cool-down";
  tick(11); // the window's fall, a cool-down late
  EXPECT_EQ(status().reservedTarget, 1u);
  // The surplus became on-demand, idle: nothing was stopped at once.
  EXPECT_EQ(live().size(), 6u);
  EXPECT_EQ(status().reservedReady, 1u);
}

TEST_F(TrackingCoreTest, OpenWindowsSetAFloorUnderTheTrackedTarget) {
  auto function = define({.tracking = policy(1, 10)});
  core_->update(function);
  core_->setScheduledTarget(function, {.open = 5});
  loop_.runAll();
  EXPECT_EQ(status().reservedTarget, 5u);
  EXPECT_EQ(status().trackedTarget, 1u);
  EXPECT_FALSE(status().trackingSets);
  readyAll();
  for (int i = 0; i < 4; ++i) submit("load" + std::to_string(i));
  tick(10);
  EXPECT_EQ(status().reservedTarget, 8u);
  EXPECT_TRUE(status().trackingSets);
  // A warming window above it raises it too.
  core_->setScheduledTarget(function, {.open = 5, .warming = 9});
  loop_.runAll();
  EXPECT_EQ(status().reservedTarget, 9u);
  EXPECT_FALSE(status().trackingSets);
}

TEST_F(TrackingCoreTest, TurningThePolicyOffGoesBackToTheStandingTarget) {
  core_->update(define({.reserved = 3, .tracking = policy(6, 10)}));
  loop_.runAll();
  ASSERT_EQ(status().reservedTarget, 6u);
  core_->update(define({.reserved = 3, .revision = 2}));
  loop_.runAll();
  EXPECT_EQ(status().reservedTarget, 3u);
  EXPECT_FALSE(status().trackedTarget.has_value());
  // A new policy starts from its min again, and a changed one keeps what was measured.
  core_->update(define({.reserved = 3, .revision = 3, .tracking = policy(2, 10)}));
  loop_.runAll();
  EXPECT_EQ(status().reservedTarget, 2u);
  core_->update(define({.reserved = 3, .revision = 4, .tracking = policy(4, 10)}));
  loop_.runAll();
  EXPECT_EQ(status().reservedTarget, 4u);
}

TEST_F(TrackingCoreTest, AFunctionWithAPolicyIsNotForgottenWhenIdleAtZero) {
  core_->update(define({.tracking = policy(0, 10)}));
  loop_.runAll();
  tick(30);
  EXPECT_EQ(status().trackedTarget, 0u);
  // Load that arrives later is tracked without a new definition.
  submit("late");
  tick(10);
  EXPECT_EQ(status().trackedTarget, 2u);
}

} // namespace
} // namespace surge::scheduler
