// The timeline of a function's reserved target, pure: overlapping windows, recurrence, the
// warm-up lead, DST in a window's zone, and what the windows ask for at one moment (a restart).
// Expected UTC times were worked out by hand (America/New_York is UTC-5 in winter, UTC-4 from
// 2026-03-08 07:00 UTC).
#include "reservations/timeline.h"

#include <absl/time/time.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace surge::reservations {
namespace {

absl::Time utc(const std::string& text) {
  absl::Time time;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, text, &time, &error)) << text << ": " << error;
  return time;
}

Window once(int64_t id, uint32_t count, const std::string& start, const std::string& end,
            absl::Duration lead = absl::ZeroDuration()) {
  Window window;
  window.id = id;
  window.count = count;
  window.when = OneOff{utc(start), utc(end)};
  window.lead = lead;
  return window;
}

Window every(int64_t id, uint32_t count, const std::string& cron, absl::Duration duration, const std::string& zone,
             absl::Duration lead = absl::ZeroDuration()) {
  Window window;
  window.id = id;
  window.count = count;
  window.when = Recurring{cron, duration, zone};
  window.lead = lead;
  return window;
}

std::vector<Step> plan(uint32_t standing, const std::vector<Window>& windows, const std::string& from,
                       const std::string& to) {
  return planSteps(standing, openingsOf(windows, utc(from), utc(to)), utc(from), utc(to));
}

TEST(Timeline, OutsideEveryWindowTheStandingTargetInsideTheLargestOpenCount) {
  const std::vector<Window> windows = {once(1, 10, "2026-12-11T12:00:00Z", "2026-12-11T14:00:00Z"),
                                       once(2, 30, "2026-12-11T13:00:00Z", "2026-12-11T13:30:00Z"),
                                       once(3, 1, "2026-12-11T20:00:00Z", "2026-12-11T21:00:00Z")};
  EXPECT_THAT(plan(4, windows, "2026-12-11T00:00:00Z", "2026-12-12T00:00:00Z"),
              ::testing::ElementsAre(
                  Step{utc("2026-12-11T00:00:00Z"), 4, 0, false}, Step{utc("2026-12-11T12:00:00Z"), 10, 1, false},
                  Step{utc("2026-12-11T13:00:00Z"), 30, 2, false}, Step{utc("2026-12-11T13:30:00Z"), 10, 1, false},
                  Step{utc("2026-12-11T14:00:00Z"), 4, 0, false},
                  Step{utc("2026-12-11T20:00:00Z"), 1, 3, false}, // lower than standing: its count
                  Step{utc("2026-12-11T21:00:00Z"), 4, 0, false}));
}

TEST(Timeline, AWarmUpRaisesTheTargetFromStartMinusLeadButNeverLowersIt) {
  const std::vector<Window> windows = {once(1, 8, "2026-12-11T12:00:00Z", "2026-12-11T13:00:00Z", absl::Minutes(5)),
                                       // warms inside window 1 with a smaller count: no step
                                       once(2, 6, "2026-12-11T13:00:00Z", "2026-12-11T14:00:00Z", absl::Minutes(5))};
  EXPECT_THAT(plan(2, windows, "2026-12-11T11:00:00Z", "2026-12-11T15:00:00Z"),
              ::testing::ElementsAre(
                  Step{utc("2026-12-11T11:00:00Z"), 2, 0, false}, Step{utc("2026-12-11T11:55:00Z"), 8, 1, true},
                  Step{utc("2026-12-11T12:00:00Z"), 8, 1, false}, Step{utc("2026-12-11T13:00:00Z"), 6, 2, false},
                  Step{utc("2026-12-11T14:00:00Z"), 2, 0, false}));
}

TEST(Timeline, ARecurringWindowOpensAtEachStartInItsZone) {
  // Weekdays 09:00 in Shanghai (UTC+8) for 2 h: 01:00-03:00 UTC, Mon 2026-12-07 to Fri 12-11.
  const std::vector<Window> windows = {every(7, 5, "0 9 * * MON-FRI", absl::Hours(2), "Asia/Shanghai")};
  const std::vector<Step> steps = plan(0, windows, "2026-12-05T00:00:00Z", "2026-12-14T00:00:00Z");
  ASSERT_EQ(steps.size(), 11u);
  for (size_t day = 0; day < 5; ++day) {
    const absl::Time opens = utc("2026-12-07T01:00:00Z") + absl::Hours(24) * static_cast<double>(day);
    EXPECT_EQ(steps[1 + 2 * day], (Step{opens, 5, 7, false}));
    EXPECT_EQ(steps[2 + 2 * day], (Step{opens + absl::Hours(2), 0, 0, false}));
  }
}

TEST(Timeline, DaylightSavingTimeMovesTheUtcStartAndTheSkippedHourStartsAtTheJump) {
  // 09:00 New York: 14:00 UTC on Saturday 7 March (EST), 13:00 UTC on Monday 9 March (EDT).
  const std::vector<Window> daily = {every(1, 3, "0 9 * * *", absl::Hours(1), "America/New_York")};
  const std::vector<Step> steps = plan(0, daily, "2026-03-07T00:00:00Z", "2026-03-10T00:00:00Z");
  ASSERT_EQ(steps.size(), 7u);
  EXPECT_EQ(steps[1].at, utc("2026-03-07T14:00:00Z"));
  EXPECT_EQ(steps[3].at, utc("2026-03-08T13:00:00Z"));
  EXPECT_EQ(steps[5].at, utc("2026-03-09T13:00:00Z"));
  // 02:30 does not exist on 8 March: the window opens when the clocks jump, 03:00 EDT, for its
  // full duration; the lead warms ahead of that instant.
  const std::vector<Window> skipped = {
      every(2, 4, "30 2 * * *", absl::Minutes(90), "America/New_York", absl::Minutes(10))};
  EXPECT_THAT(plan(0, skipped, "2026-03-08T06:00:00Z", "2026-03-08T10:00:00Z"),
              ::testing::ElementsAre(
                  Step{utc("2026-03-08T06:00:00Z"), 0, 0, false}, Step{utc("2026-03-08T06:50:00Z"), 4, 2, true},
                  Step{utc("2026-03-08T07:00:00Z"), 4, 2, false}, Step{utc("2026-03-08T08:30:00Z"), 0, 0, false}));
  // 01:30 happens twice on 1 November: the window opens once, at the first (EDT, 05:30 UTC).
  const std::vector<Window> repeated = {every(3, 2, "30 1 * * *", absl::Minutes(30), "America/New_York")};
  EXPECT_THAT(plan(0, repeated, "2026-11-01T04:00:00Z", "2026-11-01T09:00:00Z"),
              ::testing::ElementsAre(Step{utc("2026-11-01T04:00:00Z"), 0, 0, false},
                                     Step{utc("2026-11-01T05:30:00Z"), 2, 3, false},
                                     Step{utc("2026-11-01T06:00:00Z"), 0, 0, false}));
}

TEST(Timeline, APlanFromInsideAWindowStartsOpenAndWindowsAtSaysWhatARestartFinds) {
  const std::vector<Window> windows = {once(1, 6, "2026-12-11T12:00:00Z", "2026-12-11T14:00:00Z"),
                                       once(2, 9, "2026-12-11T15:00:00Z", "2026-12-11T16:00:00Z", absl::Hours(1))};
  EXPECT_EQ(plan(0, windows, "2026-12-11T13:00:00Z", "2026-12-11T13:30:00Z").front(),
            (Step{utc("2026-12-11T13:00:00Z"), 6, 1, false}));
  const std::vector<Opening> openings = openingsOf(windows, utc("2026-12-11T00:00:00Z"), utc("2026-12-12T00:00:00Z"));
  const WindowsAt inFirst = windowsAt(openings, utc("2026-12-11T13:00:00Z"));
  EXPECT_EQ(inFirst.open, 6u);
  EXPECT_EQ(inFirst.openWindowId, 1);
  EXPECT_EQ(inFirst.warming, 0u);
  const WindowsAt warmingSecond = windowsAt(openings, utc("2026-12-11T14:30:00Z"));
  EXPECT_FALSE(warmingSecond.open.has_value());
  EXPECT_EQ(warmingSecond.warming, 9u);
  EXPECT_EQ(warmingSecond.warmingWindowId, 2);
}

} // namespace
} // namespace surge::reservations
