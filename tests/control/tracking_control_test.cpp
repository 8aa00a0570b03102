// Target tracking policies through FunctionControl, on a real store and a real scheduler with the
// fake engine: set, stored, synced to the scheduler and audited; SetReservedCapacity refused while
// one is on; the policy's max admitted like a standing target against the budget and the windows;
// bad policies refused with what is allowed.
#include "control/control_fixture.h"

#include "reservations/window.h"

namespace surge::control {
namespace {

using ::testing::HasSubstr;

common::TrackingPolicy policy(uint32_t min, uint32_t max, double target = 0.6,
                              absl::Duration cooldown = absl::Seconds(60)) {
  return {.minReserved = min, .maxReserved = max, .targetUtilization = target, .cooldown = cooldown};
}

class TrackingControlTest : public ControlFixture {
protected:
  void SetUp() override {
    ControlFixture::SetUp();
    ASSERT_TRUE(control_->create(who_, {"default", "hot"}, reserving(1)).ok());
    ASSERT_TRUE(uploadCode("hot").ok());
  }
  absl::StatusOr<store::FunctionRecord> track(std::optional<common::TrackingPolicy> p,
                                              const std::string& name = "hot") {
    return control_->setTrackingPolicy(who_, {"default", name}, p);
  }
  std::vector<auth::AuditEvent> audited(const std::string& action) {
    auto events = audit_->list(absl::InfinitePast(), 100, "");
    EXPECT_TRUE(events.ok());
    std::vector<auth::AuditEvent> found;
    for (const auto& event : events->events) {
      if (event.action == action) found.push_back(event);
    }
    return found;
  }
};

TEST_F(TrackingControlTest, APolicyIsStoredSyncedAndAuditedAndOffGoesBackToTheStandingTarget) {
  auto tracked = track(policy(2, 4));
  ASSERT_TRUE(tracked.ok()) << tracked.status();
  ASSERT_TRUE(tracked->config.tracking.has_value());
  EXPECT_EQ(*tracked->config.tracking, policy(2, 4));
  EXPECT_EQ(scheduledTarget("default/hot"), 2u) << "the standing target 1 still applied";
  auto stored = store_->getFunction("default", "hot");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->config.tracking, policy(2, 4)) << "not read back from SQLite";
  EXPECT_EQ(stored->config.reservedTarget, 1u) << "the standing target is kept for when tracking ends";
  auto set = audited("scaling.track");
  ASSERT_EQ(set.size(), 1u);
  EXPECT_EQ(set[0].target, "default/hot");
  EXPECT_EQ(set[0].detail, absl::StrCat("min=2 max=4 target=0.6 cooldown=60s revision=", tracked->revision));

  auto off = track(std::nullopt);
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->config.tracking.has_value());
  EXPECT_EQ(scheduledTarget("default/hot"), 1u);
  auto unset = audited("scaling.untrack");
  ASSERT_EQ(unset.size(), 1u);
  EXPECT_EQ(unset[0].detail, absl::StrCat("standing=1 revision=", off->revision));
}

TEST_F(TrackingControlTest, SetReservedCapacityIsRefusedWhileAPolicyIsOnNamingTheWayOut) {
  ASSERT_TRUE(track(policy(2, 6)).ok());
  auto refused = control_->setReservedTarget(who_, {"default", "hot"}, 5);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.status().message(),
            "default/hot follows a tracking policy (min 2, max 6, target 0.6); turn it off with "
            "`surgectl reserve track hot --off` to set a standing target");
  EXPECT_EQ(store_->getFunction("default", "hot")->config.reservedTarget, 1u);

  ASSERT_TRUE(control_->create(who_, {"shop", "cart"}, reserving(0)).ok());
  ASSERT_TRUE(control_->setTrackingPolicy(who_, {"shop", "cart"}, policy(0, 1)).ok());
  EXPECT_THAT(std::string(control_->setReservedTarget(who_, {"shop", "cart"}, 1).status().message()),
              HasSubstr("`surgectl -n shop reserve track cart --off`"));

  ASSERT_TRUE(track(std::nullopt).ok());
  EXPECT_TRUE(control_->setReservedTarget(who_, {"default", "hot"}, 5).ok());
}

TEST_F(TrackingControlTest, ThePolicysMaxIsAdmittedLikeAStandingTarget) {
  // 1024 MiB of 128 MiB instances: 8 fit.
  auto refused = track(policy(1, 9));
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("a tracking policy up to 9 instances of 128 MiB does not fit the instance memory budget"));
  EXPECT_FALSE(store_->getFunction("default", "hot")->config.tracking.has_value()) << "stored though refused";
  ASSERT_TRUE(track(policy(1, 8)).ok());
  // Later changes by others are checked against the max, not the tracked target now.
  auto other = control_->create(who_, {"default", "other"}, reserving(1));
  ASSERT_EQ(other.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(other.status().message()), HasSubstr("other functions 1024 MiB"));
  // More memory per instance is checked against the max too; lowering the max goes through.
  auto bigger = control_->updateConfig(
      who_, {"default", "hot"}, 0,
      [](store::FunctionConfig& config) {
        config.memoryMb = 256;
        return absl::OkStatus();
      },
      "fields=memory_mb");
  EXPECT_EQ(bigger.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(track(policy(0, 2)).ok());
  EXPECT_TRUE(control_->create(who_, {"default", "other"}, reserving(1)).ok());
}

TEST_F(TrackingControlTest, ThePolicysMaxIsCheckedAgainstTheStoredWindows) {
  ASSERT_TRUE(control_->create(who_, {"default", "promo"}, reserving(0)).ok());
  reservations::Window window;
  window.count = 6;
  window.when = reservations::OneOff{clock_.now() + absl::Hours(1), clock_.now() + absl::Hours(2)};
  ASSERT_TRUE(reservations_->add(who_, {"default", "promo"}, window, {}).ok()); // 768 MiB in the window
  auto refused = track(policy(1, 3));
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("other functions 768 MiB"));
  EXPECT_TRUE(track(policy(1, 2)).ok());
}

TEST_F(TrackingControlTest, BadPoliciesAreRefusedWithWhatIsAllowed) {
  auto refused = [&](common::TrackingPolicy p, const std::string& message) {
    auto answer = track(p);
    EXPECT_EQ(answer.status().code(), absl::StatusCode::kInvalidArgument) << message;
    EXPECT_EQ(answer.status().message(), message);
  };
  refused(policy(0, 101), "tracking max_reserved 101 exceeds max_instances 100; lower it or raise max_instances first");
  refused(policy(5, 4), "tracking min_reserved 5 exceeds max_reserved 4");
  refused(policy(0, 0), "tracking max_reserved must be at least 1 (turn tracking off instead)");
  refused(policy(1, 4, 0), "tracking target_utilization 0 is outside (0, 1]; for example 0.6 keeps 40% headroom");
  refused(policy(1, 4, 1.5), "tracking target_utilization 1.5 is outside (0, 1]; for example 0.6 keeps 40% headroom");
  refused(policy(1, 4, 0.6, absl::Seconds(5)), "tracking cooldown 5s must be whole seconds from 10s to 24h");
  refused(policy(1, 4, 0.6, absl::Hours(25)), "tracking cooldown 25h must be whole seconds from 10s to 24h");
  refused(policy(1, 4, 0.6, absl::Milliseconds(10500)),
          "tracking cooldown 10.5s must be whole seconds from 10s to 24h");
  EXPECT_TRUE(audited("scaling.track").empty());
  // A policy also holds max_instances down.
  ASSERT_TRUE(track(policy(1, 8)).ok());
  auto lower = control_->updateConfig(
      who_, {"default", "hot"}, 0,
      [](store::FunctionConfig& config) {
        config.maxInstances = 5;
        return absl::OkStatus();
      },
      "fields=max_instances");
  EXPECT_EQ(lower.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(lower.status().message(),
            "tracking max_reserved 8 exceeds max_instances 5; lower it or raise max_instances first");
}

TEST_F(TrackingControlTest, APolicySurvivesARestartAndItsMinimumIsWarmedAtStartUp) {
  ASSERT_TRUE(track(policy(3, 6)).ok());
  // A second scheduler and control over the same store, as a restarted surged builds them.
  surge::testing::FakeEngine* engine = nullptr;
  auto scheduler = scheduler::Scheduler::create(
      [&engine](engine::Executor executor,
                engine::InstanceObserver& observer) -> absl::StatusOr<scheduler::EngineOnLoop> {
        auto made = std::make_unique<surge::testing::FakeEngine>(std::move(executor), observer);
        engine = made.get();
        return scheduler::EngineOnLoop{std::move(made)};
      },
      clock_, scheduler::SchedulerOptions{.memoryBudgetMb = limits_.memoryBudgetMb});
  ASSERT_TRUE(scheduler.ok()) << scheduler.status();
  FunctionControl restarted(*store_, **scheduler, *audit_, *admission_, *driver_, clock_);
  ASSERT_TRUE(restarted.start().ok());
  std::promise<scheduler::FunctionStatus> status;
  auto answer = status.get_future();
  (*scheduler)->status("default/hot", [&status](scheduler::FunctionStatus s) { status.set_value(std::move(s)); });
  ASSERT_EQ(answer.wait_for(10s), std::future_status::ready);
  const scheduler::FunctionStatus after = answer.get();
  EXPECT_EQ(after.reservedTarget, 3u);
  EXPECT_EQ(after.trackedTarget, 3u);
  EXPECT_EQ(after.tracking, policy(3, 6));
  EXPECT_EQ(after.instances.size(), 3u) << "the minimum is not warmed at start-up";
}

} // namespace
} // namespace surge::control
