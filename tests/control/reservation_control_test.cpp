// Reservation windows through ReservationControl and FunctionControl, on a fake clock, a real
// store and a real scheduler with the fake engine: the targets the driver applies at each
// warm-up, start and end; both refusals with their numbers; validate_only and force; later
// changes checked against the stored windows; a restart with a smaller budget; a restart in the
// middle of a window and a missed warm-up.
#include "control/control_fixture.h"

#include "reservations/window.h"

namespace surge::control {
namespace {

using reservations::OneOff;
using reservations::Recurring;
using reservations::Shortfall;
using reservations::Window;
using ::testing::HasSubstr;
using ::testing::SizeIs;

class ReservationControlTest : public ControlFixture {
protected:
  void SetUp() override {
    ControlFixture::SetUp();
    ASSERT_TRUE(control_->create(who_, {"default", "promo"}, reserving(0)).ok());
    ASSERT_TRUE(uploadCode("promo").ok());
  }

  Window once(uint32_t count, absl::Duration in, absl::Duration length) {
    Window window;
    window.count = count;
    window.when = OneOff{clock_.now() + in, clock_.now() + in + length};
    return window;
  }
  absl::StatusOr<ReservationControl::Added> add(Window window, ReservationControl::AddOptions options = {},
                                                const std::string& name = "promo") {
    return reservations_->add(who_, {"default", name}, std::move(window), options);
  }
  // Moves the clock and lets the driver apply what changed.
  void at(absl::Duration from, absl::Time start) {
    clock_.advance(start + from - clock_.now());
    driver_->applyAt(clock_.now());
  }
};

TEST_F(ReservationControlTest, AWindowWarmsAheadOfItsStartHoldsAndEnds) {
  Window window = once(5, absl::Hours(1), absl::Hours(2));
  window.lead = absl::Minutes(10);
  auto added = add(window, {.leadGiven = true});
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_GT(added->window.id, 0);
  const absl::Time start = std::get<OneOff>(added->window.when).start;

  driver_->applyAt(clock_.now());
  EXPECT_EQ(scheduledTarget("default/promo"), 0u) << "nothing before the warm-up";
  at(-absl::Minutes(10) - absl::Seconds(1), start);
  EXPECT_EQ(scheduledTarget("default/promo"), 0u);
  at(-absl::Minutes(10), start);
  EXPECT_EQ(scheduledTarget("default/promo"), 5u) << "warming from start - lead";
  at(absl::ZeroDuration(), start);
  EXPECT_EQ(scheduledTarget("default/promo"), 5u);
  at(absl::Hours(2) - absl::Seconds(1), start);
  EXPECT_EQ(scheduledTarget("default/promo"), 5u);
  at(absl::Hours(2), start);
  EXPECT_EQ(scheduledTarget("default/promo"), 0u) << "back to the standing target at the end";
}

TEST_F(ReservationControlTest, TheComputedLeadHasEveryInstanceReadyFromTheRuntimesTypicalStart) {
  auto added = add(once(8, absl::Hours(1), absl::Hours(1)));
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_TRUE(added->window.leadComputed);
  // 8 instances, 4 at once, 100 ms each (no start measured yet): 0.2 s; x1.5 + 2 s, in seconds.
  EXPECT_EQ(added->window.lead, absl::Seconds(3));
}

TEST_F(ReservationControlTest, AWindowBeyondTheMemoryBudgetIsRefusedWithTheShortfall) {
  // 1024 MiB: 9 x 128 MiB is 128 MiB short; 8 fit.
  auto refused = add(once(9, absl::Hours(1), absl::Hours(1)));
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("a window of 9 instances of 128 MiB does not fit the instance memory budget"));
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("128 MiB short. Lower the count to 8 or less"));

  auto verdict = add(once(9, absl::Hours(1), absl::Hours(1)), {.validateOnly = true});
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  ASSERT_THAT(verdict->shortfalls, SizeIs(1));
  EXPECT_EQ(verdict->shortfalls[0].kind, Shortfall::Kind::kMemory);
  EXPECT_EQ(verdict->shortfalls[0].memoryShortMb, 128u);
  EXPECT_EQ(verdict->shortfalls[0].maxCount, 8u);
  EXPECT_EQ(verdict->window.id, 0) << "validate_only stores nothing";
  EXPECT_THAT(*reservations_->list({"default", "promo"}), SizeIs(0));

  auto fits = add(once(8, absl::Hours(1), absl::Hours(1)), {.validateOnly = true});
  ASSERT_TRUE(fits.ok());
  EXPECT_THAT(fits->shortfalls, SizeIs(0)) << "8 would be accepted";

  auto forced = add(once(9, absl::Hours(1), absl::Hours(1)), {.force = true});
  ASSERT_TRUE(forced.ok()) << forced.status();
  auto listed = reservations_->list({"default", "promo"});
  ASSERT_THAT(*listed, SizeIs(1));
  EXPECT_THAT((*listed)[0].warning, HasSubstr("128 MiB short")) << "kept on the window";
}

TEST_F(ReservationControlTest, AWindowThatCannotBeWarmByItsStartIsRefusedWithTheInstancesShort) {
  Window window = once(8, absl::Hours(1), absl::Hours(1));
  window.lead = absl::Milliseconds(150);
  // 8 instances, 4 at once, 100 ms each: 0.2 s; in 150 ms one round makes 4.
  auto refused = add(window, {.leadGiven = true, .validateOnly = true});
  ASSERT_TRUE(refused.ok()) << refused.status();
  ASSERT_THAT(refused->shortfalls, SizeIs(1));
  EXPECT_EQ(refused->shortfalls[0].kind, Shortfall::Kind::kWarmUp);
  EXPECT_EQ(refused->shortfalls[0].instancesNotWarm, 4u);
  EXPECT_EQ(refused->shortfalls[0].maxCount, 4u);
  EXPECT_THAT(refused->shortfalls[0].message, HasSubstr("give it a lead of at least"));
  EXPECT_EQ(add(window, {.leadGiven = true}).status().code(), absl::StatusCode::kResourceExhausted);

  // Starting in 150 ms, even the computed lead cannot help.
  auto soon = add(once(8, absl::Milliseconds(150), absl::Hours(1)), {.validateOnly = true});
  ASSERT_TRUE(soon.ok());
  ASSERT_THAT(soon->shortfalls, SizeIs(1));
  EXPECT_EQ(soon->shortfalls[0].instancesNotWarm, 4u);
  EXPECT_THAT(soon->shortfalls[0].message, HasSubstr("start it at least"));
}

TEST_F(ReservationControlTest, LaterChangesAreCheckedAgainstTheStoredWindows) {
  ASSERT_TRUE(add(once(6, absl::Hours(1), absl::Hours(1))).ok()); // 768 of 1024 MiB in the window
  // Another function's standing target fits now, but not beside the window.
  auto other = control_->create(who_, {"default", "other"}, reserving(3));
  ASSERT_EQ(other.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(other.status().message()), HasSubstr("other functions 768 MiB"));
  ASSERT_TRUE(control_->create(who_, {"default", "other"}, reserving(2)).ok());
  EXPECT_EQ(control_->setReservedTarget(who_, {"default", "other"}, 3).status().code(),
            absl::StatusCode::kResourceExhausted);
  // More memory per instance: the window's 6 x 256 MiB no longer fit.
  auto bigger = control_->updateConfig(
      who_, {"default", "promo"}, 0,
      [](store::FunctionConfig& config) {
        config.memoryMb = 256;
        return absl::OkStatus();
      },
      "fields=memory_mb");
  ASSERT_EQ(bigger.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(bigger.status().message()), HasSubstr("MiB short"));
  // Lowering always goes through.
  EXPECT_TRUE(control_->setReservedTarget(who_, {"default", "other"}, 1).ok());
}

TEST_F(ReservationControlTest, ARestartWithASmallerBudgetWarnsOnTheWindowsItBreaks) {
  ASSERT_TRUE(add(once(6, absl::Hours(1), absl::Hours(1))).ok());
  ASSERT_TRUE(add(once(2, absl::Hours(5), absl::Hours(1))).ok());
  ReservationAdmission smaller(*store_, *windowStore_, {.memoryBudgetMb = 512, .warmUp = {}});
  WindowDriver driver(clock_, [](const std::string&, scheduler::ScheduledTarget) {});
  ReservationControl restarted(*store_, *windowStore_, smaller, driver, *scheduler_, *audit_, clock_);
  ASSERT_TRUE(restarted.start().ok());
  auto listed = restarted.list({"default", "promo"});
  ASSERT_THAT(*listed, SizeIs(2));
  EXPECT_THAT((*listed)[0].warning, HasSubstr("the budget is 512 MiB (--memory-budget-mib): 256 MiB short"));
  EXPECT_EQ((*listed)[1].warning, "") << "2 x 128 MiB still fit";

  // Back on the larger budget the warning goes.
  ASSERT_TRUE(reservations_->start().ok());
  EXPECT_EQ((*reservations_->list({"default", "promo"}))[0].warning, "");
}

TEST_F(ReservationControlTest, ARestartInAWindowHonoursItAtOnceAndAMissedWarmUpStartsAtOnce) {
  Window open = once(3, absl::Hours(1), absl::Hours(2));
  open.lead = absl::Minutes(5);
  ASSERT_TRUE(add(open, {.leadGiven = true}).ok());
  Window later = once(4, absl::Hours(4), absl::Hours(1));
  later.lead = absl::Minutes(30);
  ASSERT_TRUE(add(later, {.leadGiven = true}).ok());

  // surged was down from before the first window until inside it.
  clock_.advance(absl::Hours(1) + absl::Minutes(10));
  std::vector<std::pair<std::string, scheduler::ScheduledTarget>> pushed;
  WindowDriver restarted(
      clock_, [&](const std::string& key, scheduler::ScheduledTarget target) { pushed.emplace_back(key, target); });
  ReservationControl control(*store_, *windowStore_, *admission_, restarted, *scheduler_, *audit_, clock_);
  ASSERT_TRUE(control.start().ok());
  auto notices = restarted.applyAt(clock_.now());
  ASSERT_THAT(notices, SizeIs(1));
  EXPECT_THAT(notices[0], HasSubstr("has been open since"));
  ASSERT_THAT(pushed, SizeIs(1));
  EXPECT_EQ(pushed[0].second, (scheduler::ScheduledTarget{.open = 3}));

  // And down again until the second window's warm-up was under way.
  clock_.advance(absl::Hours(2) + absl::Minutes(35));
  WindowDriver again(
      clock_, [&](const std::string& key, scheduler::ScheduledTarget target) { pushed.emplace_back(key, target); });
  ReservationControl control2(*store_, *windowStore_, *admission_, again, *scheduler_, *audit_, clock_);
  ASSERT_TRUE(control2.start().ok());
  notices = again.applyAt(clock_.now());
  ASSERT_THAT(notices, SizeIs(1));
  EXPECT_THAT(notices[0], HasSubstr("was due at"));
  EXPECT_EQ(pushed.back().second, (scheduler::ScheduledTarget{.open = std::nullopt, .warming = 4}));
}

TEST_F(ReservationControlTest, RemovingAWindowOrTheFunctionEndsItsTargetAndIsAudited) {
  auto added = add(once(3, absl::Minutes(1), absl::Hours(1)));
  ASSERT_TRUE(added.ok());
  clock_.advance(absl::Minutes(1));
  driver_->applyAt(clock_.now());
  EXPECT_EQ(scheduledTarget("default/promo"), 3u);
  EXPECT_EQ(reservations_->remove(who_, {"default", "promo"}, added->window.id + 100).code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(reservations_->remove(who_, {"default", "promo"}, added->window.id).ok());
  driver_->applyAt(clock_.now());
  EXPECT_EQ(scheduledTarget("default/promo"), 0u);

  ASSERT_TRUE(add(once(2, absl::ZeroDuration(), absl::Hours(1))).ok());
  driver_->applyAt(clock_.now());
  EXPECT_EQ(scheduledTarget("default/promo"), 2u);
  ASSERT_TRUE(control_->remove(who_, {"default", "promo"}, 0).ok());
  driver_->applyAt(clock_.now());
  EXPECT_THAT(*windowStore_->list(), SizeIs(0)) << "deleted with the function";

  auto events = audit_->list(absl::InfinitePast(), 100, "");
  ASSERT_TRUE(events.ok());
  std::vector<std::string> actions;
  for (const auto& event : events->events) actions.push_back(event.action);
  EXPECT_THAT(actions, ::testing::IsSupersetOf({"reservation.add", "reservation.remove"}));
}

TEST_F(ReservationControlTest, BadWindowsAreRefusedWithWhatToChange) {
  EXPECT_THAT(std::string(add(once(0, absl::Hours(1), absl::Hours(1))).status().message()), HasSubstr("at least 1"));
  EXPECT_THAT(std::string(add(once(101, absl::Hours(1), absl::Hours(1))).status().message()),
              HasSubstr("max_instances"));
  EXPECT_THAT(std::string(add(once(1, -absl::Hours(2), absl::Hours(1))).status().message()), HasSubstr("in the past"));
  Window recurring;
  recurring.count = 1;
  recurring.when = Recurring{"0 * * * *", absl::Hours(2), "UTC"};
  EXPECT_THAT(std::string(add(recurring).status().message()), HasSubstr("is not shorter than"));
  recurring.when = Recurring{"0 20 * * FRI", absl::Hours(2), "Mars/Base"};
  EXPECT_EQ(add(recurring).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      reservations_->add(who_, {"default", "missing"}, once(1, absl::Hours(1), absl::Hours(1)), {}).status().code(),
      absl::StatusCode::kNotFound);
}

} // namespace
} // namespace surge::control
