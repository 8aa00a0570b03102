// The feasibility checks, pure: memory at every moment of the horizon against other functions'
// standing targets and recurring windows (with their warm-ups), warm-up beside other windows
// warming at the same time, the lead that covers them, and the warm-up model itself.
#include "reservations/feasibility.h"

#include <absl/time/time.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace surge::reservations {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'796'000'000); // 2026-11-30 00:53:20 UTC

Window once(int64_t id, uint32_t count, absl::Duration in, absl::Duration length,
            absl::Duration lead = absl::ZeroDuration()) {
  Window window;
  window.id = id;
  window.count = count;
  window.when = OneOff{kNow + in, kNow + in + length};
  window.lead = lead;
  return window;
}

TEST(WarmUpModel, TokensAndStartsAtOnceBothBound) {
  const WarmUpModel model{
      .creationBurst = 10, .creationPerMinute = 60, .concurrentStarts = 4, .startTime = absl::Milliseconds(100)};
  EXPECT_EQ(model.warmTime(0), absl::ZeroDuration());
  EXPECT_EQ(model.warmTime(4), absl::Milliseconds(100)) << "one round of four";
  EXPECT_EQ(model.warmTime(10), absl::Milliseconds(300)) << "three rounds, all from the burst";
  EXPECT_EQ(model.warmTime(20), absl::Seconds(10) + absl::Milliseconds(100)) << "ten more tokens at one a second";
  EXPECT_EQ(model.warmable(absl::Milliseconds(300)), 10u) << "the 11th waits a second for its token";
  EXPECT_EQ(model.warmable(absl::Milliseconds(1100)), 11u);
  EXPECT_EQ(model.warmable(absl::Milliseconds(99)), 0u);
  EXPECT_EQ(model.leadFor(20), absl::Seconds(18)) << "10.1 s x 1.5 + 2 s, rounded up";
  EXPECT_EQ(model.leadFor(0), absl::ZeroDuration());
}

TEST(ReservationCheck, MemoryCountsOtherFunctionsRecurringWindowsAndTheirWarmUps) {
  // Another function holds 2 x 256 MiB and, every day at 12:00 UTC for an hour (warming 10
  // minutes ahead), 6 x 256 MiB. Budget 2048 MiB.
  FunctionReservations other{"shop/other", 256, 2, {}};
  Window daily;
  daily.id = 1;
  daily.count = 6;
  daily.when = Recurring{"0 12 * * *", absl::Hours(1), "UTC"};
  daily.lead = absl::Minutes(10);
  other.windows.push_back(daily);
  const ReservationCheck check({other}, 2048, kNow);

  FunctionReservations mine{"shop/promo", 128, 0, {}};
  FunctionReservations withWindow = mine;
  // 4 x 128 MiB from 11:55 to 12:30 tomorrow: beside 1536 MiB during the other's warm-up and
  // window, 2048 MiB exactly: fits.
  withWindow.windows.push_back(once(2, 4, absl::Hours(35) + absl::Minutes(1) + absl::Seconds(40), absl::Minutes(35)));
  EXPECT_FALSE(check.memory(mine, withWindow, "a window").has_value());

  withWindow.windows.back().count = 6; // 768 MiB: 256 MiB short while the other is warm
  auto shortfall = check.memory(mine, withWindow, "a window of 6 instances of 128 MiB");
  ASSERT_TRUE(shortfall.has_value());
  EXPECT_EQ(shortfall->kind, Shortfall::Kind::kMemory);
  EXPECT_EQ(shortfall->memoryShortMb, 256u);
  EXPECT_EQ(shortfall->maxCount, 4u);
  EXPECT_EQ(shortfall->time, absl::FromUnixSeconds(1'796'126'400) - absl::Minutes(5))
      << "its own start, inside the other's warm-up";
  EXPECT_THAT(shortfall->message, HasSubstr("need 2304 MiB at worst (shop/promo 6 × 128 MiB, other functions "
                                            "1536 MiB) but the budget is 2048 MiB"));

  // Lowering always goes through, even over a budget that is already exceeded.
  EXPECT_FALSE(check.memory(withWindow, mine, "removing").has_value());
  const ReservationCheck tight({other}, 1024, kNow);
  FunctionReservations lower = withWindow;
  lower.windows.back().count = 1;
  EXPECT_FALSE(tight.memory(withWindow, lower, "lowering").has_value());
  EXPECT_TRUE(ReservationCheck({other}, 0, kNow).memory(mine, withWindow, "no budget") == std::nullopt);
}

TEST(ReservationCheck, WarmUpSharesTheCreationRateWithOtherWindowsWarmingThen) {
  const WarmUpModel model{
      .creationBurst = 10, .creationPerMinute = 60, .concurrentStarts = 10, .startTime = absl::Milliseconds(100)};
  // Another function warms 20 new instances for a start at +1 h, from 60 s before it.
  FunctionReservations other{"shop/other", 64, 0, {once(1, 20, absl::Hours(1), absl::Hours(1), absl::Seconds(60))}};
  const ReservationCheck check({other}, 0, kNow);
  // Alone, 10 instances need 0.1 s; beside the other's 20, 30 need 20.1 s.
  Window mine = once(2, 10, absl::Hours(1), absl::Hours(1), absl::Seconds(15));
  auto shortfall = check.warmUp(mine, 0, {}, model, "a window of 10 instances");
  ASSERT_TRUE(shortfall.has_value());
  EXPECT_EQ(shortfall->kind, Shortfall::Kind::kWarmUp);
  EXPECT_EQ(shortfall->time, kNow + absl::Hours(1));
  // In 15 s: the 10 of the burst and 14 tokens after it (the last at 14 s, ready at 14.1 s): 24.
  EXPECT_EQ(shortfall->instancesNotWarm, 6u);
  EXPECT_EQ(shortfall->maxCount, 4u);
  EXPECT_THAT(shortfall->message, HasSubstr("beside 20 of other windows warming then"));
  EXPECT_THAT(shortfall->message, HasSubstr("give it a lead of at least 33.0 s"));

  // The computed lead covers the others: 30 instances, 20.1 s x 1.5 + 2 s, rounded up.
  mine.lead = check.defaultLead(mine, 0, {}, model);
  EXPECT_EQ(mine.lead, absl::Seconds(33));
  EXPECT_FALSE(check.warmUp(mine, 0, {}, model, "").has_value());
  // The function's standing instances need no warming.
  EXPECT_FALSE(check.warmUp(once(3, 10, absl::Hours(1), absl::Hours(1)), 10, {}, model, "").has_value());
}

} // namespace
} // namespace surge::reservations
