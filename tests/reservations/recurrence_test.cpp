// Recurrence: a cron schedule's starts in IANA zones, across month and year ends and the clock
// changes. The expected times were worked out by hand and checked with Python's zoneinfo and a
// separate brute-force cron evaluator, not taken from this code's output.
#include "reservations/recurrence.h"

#include <absl/strings/str_cat.h>
#include <absl/time/civil_time.h>
#include <date/tz.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace surge::reservations {
namespace {

// "2026-03-08T07:00:00Z".
absl::Time utc(const std::string& text) {
  absl::Time time;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, text, &time, &error)) << text << ": " << error;
  return time;
}

// A wall-clock time "2026-03-10T10:00:30" at a fixed UTC offset.
absl::Time wallClock(const std::string& text, int offsetHours) {
  absl::CivilSecond civil;
  EXPECT_TRUE(absl::ParseCivilTime(text, &civil)) << text;
  return absl::FromCivil(civil, absl::FixedTimeZone(offsetHours * 3600));
}

std::string format(absl::Time time) { return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone()); }

std::vector<std::string> formatted(const std::vector<absl::Time>& times) {
  std::vector<std::string> texts;
  for (absl::Time time : times) texts.push_back(format(time));
  return texts;
}

Recurrence created(std::string_view cron, std::string_view zone) {
  absl::StatusOr<Recurrence> recurrence = Recurrence::create(cron, zone);
  EXPECT_TRUE(recurrence.ok()) << recurrence.status();
  return *std::move(recurrence);
}

std::string nextStartOf(std::string_view cron, std::string_view zone, absl::Time from) {
  const std::optional<absl::Time> start = created(cron, zone).nextStart(from);
  return start ? format(*start) : "none";
}

// Local wall-clock times; the test reads them in UTC and in Asia/Shanghai, which has kept
// +08:00 without daylight saving time since 1991.
struct NextStartCase {
  const char* cron;
  const char* from;
  const char* next;
};
constexpr NextStartCase kNextStarts[] = {
    {"* * * * *", "2026-03-10T10:00:30", "2026-03-10T10:01:00"},
    {"* * * * *", "2026-03-10T10:00:00", "2026-03-10T10:00:00"}, // a start at `from` counts
    {"0 * * * *", "2026-03-10T10:00:01", "2026-03-10T11:00:00"},
    {"*/15 * * * *", "2026-03-10T10:16:00", "2026-03-10T10:30:00"},
    {"5-10/2 * * * *", "2026-03-10T10:08:00", "2026-03-10T10:09:00"},
    {"7/20 * * * *", "2026-03-10T10:28:00", "2026-03-10T10:47:00"},
    {"0,30 8,20 * * *", "2026-03-10T20:31:00", "2026-03-11T08:00:00"},
    {"0 12 * * 1-5/2", "2026-03-14T13:00:00", "2026-03-16T12:00:00"}, // Saturday to Monday
    {"0 12 * * 1-5/2", "2026-03-16T12:01:00", "2026-03-18T12:00:00"}, // Monday to Wednesday
    {"*/15 9-17 * * MON-FRI", "2026-03-13T17:46:00", "2026-03-16T09:00:00"},
    {"*/15 9-17 * * MON-FRI", "2026-03-13T17:44:00", "2026-03-13T17:45:00"},
    {"0 0 1,15 * 5", "2026-03-02T00:00:00", "2026-03-06T00:00:00"},       // a Friday before the 15th
    {"0 0 1,15 * 5", "2026-03-14T00:01:00", "2026-03-15T00:00:00"},       // the 15th, a Sunday
    {"0 0 13 * 1", "2026-03-03T00:00:00", "2026-03-09T00:00:00"},         // a Monday before the 13th
    {"0 0 */10 * 1", "2026-03-01T00:00:00", "2026-05-11T00:00:00"},       // AND: the 11th and a Monday
    {"30 6 * JAN,jul sun", "2026-03-01T00:00:00", "2026-07-05T06:30:00"}, // first Sunday of July
    {"0 9 * * 7", "2026-03-09T00:00:00", "2026-03-15T09:00:00"},
    {"0 9 * * 5-7", "2026-03-14T10:00:00", "2026-03-15T09:00:00"},
    {"0 0 29 2 *", "2026-03-01T00:00:00", "2028-02-29T00:00:00"},
    {"0 0 29 2 *", "2096-03-01T00:00:00", "2104-02-29T00:00:00"},   // 2100 is not a leap year
    {"0 0 29 2 */7", "2026-03-01T00:00:00", "2032-02-29T00:00:00"}, // AND: 29 February on a Sunday
    {"0 0 29 2 1", "2026-03-01T00:00:00", "2027-02-01T00:00:00"},   // OR: any Monday in February
    {"0 0 31 * *", "2026-04-01T00:00:00", "2026-05-31T00:00:00"},   // April has 30 days
    {"0 0 30 * *", "2026-02-01T00:00:00", "2026-03-30T00:00:00"},
    {"0 0 * * *", "2026-02-28T00:01:00", "2026-03-01T00:00:00"},
    {"0 0 1 1 *", "2026-12-31T23:59:00", "2027-01-01T00:00:00"},
    {"59 23 31 12 *", "2026-12-31T23:59:00", "2026-12-31T23:59:00"},
    {"@daily", "2026-03-10T00:00:01", "2026-03-11T00:00:00"},
    {"@weekly", "2026-03-10T00:00:00", "2026-03-15T00:00:00"},
    {"@annually", "2026-07-01T00:00:00", "2027-01-01T00:00:00"},
    {"@hourly", "2026-03-10T10:59:59", "2026-03-10T11:00:00"},
    {"@monthly", "2026-12-15T00:00:00", "2027-01-01T00:00:00"},
    {"0 0 * FEB MON", "2026-03-01T00:00:00", "2027-02-01T00:00:00"},
    {"15 14 1 * *", "2026-03-01T14:16:00", "2026-04-01T14:15:00"},
    {"23 0-20/2 * * *", "2026-03-10T01:00:00", "2026-03-10T02:23:00"},
    {"23 0-20/2 * * *", "2026-03-10T20:24:00", "2026-03-11T00:23:00"},
    {"05 09 * * *", "2026-03-10T09:06:00", "2026-03-11T09:05:00"},
    {"0\t12  * * *", "2026-03-10T00:00:00", "2026-03-10T12:00:00"},
    {"0 8 * Jun-Aug Sat,Sun", "2026-03-01T00:00:00", "2026-06-06T08:00:00"},
    {"0 0 1 */3 *", "2026-02-01T00:00:00", "2026-04-01T00:00:00"},
};

TEST(Recurrence, NextStartIsTheHandComputedTimeInUtcAndShanghai) {
  for (const auto& [zone, offsetHours] : {std::pair<const char*, int>{"UTC", 0}, {"Asia/Shanghai", 8}}) {
    for (const NextStartCase& row : kNextStarts) {
      SCOPED_TRACE(testing::Message() << zone << " \"" << row.cron << "\" from " << row.from);
      EXPECT_EQ(nextStartOf(row.cron, zone, wallClock(row.from, offsetHours)),
                format(wallClock(row.next, offsetHours)));
    }
  }
}

TEST(Recurrence, NextStartIsNoneForADateThatNeverComes) {
  EXPECT_EQ(nextStartOf("0 0 30 2 *", "UTC", utc("2026-01-01T00:00:00Z")), "none");
  EXPECT_EQ(nextStartOf("0 0 31 4,6,9,11 *", "Asia/Shanghai", utc("2026-01-01T00:00:00Z")), "none");
  EXPECT_TRUE(
      created("0 0 30 2 *", "UTC").startsBetween(utc("2026-01-01T00:00:00Z"), absl::InfiniteFuture(), 10).empty());
}

TEST(Recurrence, NextStartIsNoneMoreThanTenYearsAway) {
  // Sunday 29 Februaries: 2032, then 2060.
  EXPECT_EQ(nextStartOf("0 0 29 2 */7", "UTC", utc("2032-02-29T00:00:00Z")), "2032-02-29T00:00:00Z");
  EXPECT_EQ(nextStartOf("0 0 29 2 */7", "UTC", utc("2032-03-01T00:00:00Z")), "none");
}

TEST(Recurrence, NextStartIsNoneFromAnInfiniteTime) {
  const Recurrence everyMinute = created("* * * * *", "UTC");
  EXPECT_EQ(everyMinute.nextStart(absl::InfiniteFuture()), std::nullopt);
  EXPECT_EQ(everyMinute.nextStart(absl::InfinitePast()), std::nullopt);
}

TEST(Recurrence, SkippedTimeInNewYorkStartsWhenTheClocksJump) {
  // 2026-03-08: 02:00 EST becomes 03:00 EDT at 07:00 UTC.
  EXPECT_EQ(nextStartOf("30 2 * * *", "America/New_York", utc("2026-03-08T00:00:00Z")), "2026-03-08T07:00:00Z");
  // The day after, 02:30 exists again, in EDT.
  EXPECT_EQ(nextStartOf("30 2 * * *", "America/New_York", utc("2026-03-08T07:00:01Z")), "2026-03-09T06:30:00Z");
}

TEST(Recurrence, SkippedTimeInLondonStartsWhenTheClocksJump) {
  // 2026-03-29: 01:00 GMT becomes 02:00 BST at 01:00 UTC.
  EXPECT_EQ(nextStartOf("30 1 * * *", "Europe/London", utc("2026-03-28T12:00:00Z")), "2026-03-29T01:00:00Z");
}

TEST(Recurrence, SkippedTimesLandingOnOneInstantStartOnce) {
  // 02:00, 02:30 and 03:00 EDT all start at 07:00 UTC.
  const Recurrence halfHourly = created("*/30 * * * *", "America/New_York");
  EXPECT_EQ(formatted(halfHourly.startsBetween(utc("2026-03-08T06:00:00Z"), utc("2026-03-08T08:00:00Z"), 100)),
            (std::vector<std::string>{"2026-03-08T06:00:00Z", "2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z",
                                      "2026-03-08T07:30:00Z"}));
  const Recurrence skippedHour = created("0,30 2 * * *", "America/New_York");
  EXPECT_EQ(formatted(skippedHour.startsBetween(utc("2026-03-08T00:00:00Z"), utc("2026-03-09T00:00:00Z"), 100)),
            (std::vector<std::string>{"2026-03-08T07:00:00Z"}));
}

TEST(Recurrence, RepeatedTimeInNewYorkStartsOnceAtItsFirstOccurrence) {
  // 2026-11-01: 02:00 EDT becomes 01:00 EST at 06:00 UTC, so 01:30 happens at 05:30 and 06:30 UTC.
  const Recurrence recurrence = created("30 1 * * *", "America/New_York");
  EXPECT_EQ(formatted(recurrence.startsBetween(utc("2026-10-31T00:00:00Z"), utc("2026-11-03T00:00:00Z"), 100)),
            (std::vector<std::string>{"2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}));
  // From between the two occurrences, the next start is the next day's.
  EXPECT_EQ(recurrence.nextStart(utc("2026-11-01T05:30:01Z")), utc("2026-11-02T06:30:00Z"));
}

TEST(Recurrence, RepeatedTimeInLondonStartsOnceAtItsFirstOccurrence) {
  // 2026-10-25: 02:00 BST becomes 01:00 GMT at 01:00 UTC, so 01:30 happens at 00:30 and 01:30 UTC.
  const Recurrence recurrence = created("30 1 * * *", "Europe/London");
  EXPECT_EQ(formatted(recurrence.startsBetween(utc("2026-10-24T12:00:00Z"), utc("2026-10-27T00:00:00Z"), 100)),
            (std::vector<std::string>{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}));
}

TEST(Recurrence, RepeatedHourIsNotRunAgain) {
  const Recurrence halfHourly = created("*/30 * * * *", "America/New_York");
  EXPECT_EQ(formatted(halfHourly.startsBetween(utc("2026-11-01T04:00:00Z"), utc("2026-11-01T07:30:00Z"), 100)),
            (std::vector<std::string>{"2026-11-01T04:00:00Z", "2026-11-01T04:30:00Z", "2026-11-01T05:00:00Z",
                                      "2026-11-01T05:30:00Z", "2026-11-01T07:00:00Z"}));
}

TEST(Recurrence, DailyWindowInNewYorkFollowsTheClocksAcrossBothChanges) {
  const Recurrence nineAm = created("0 9 * * *", "America/New_York");
  EXPECT_EQ(formatted(nineAm.startsBetween(utc("2026-03-07T00:00:00Z"), utc("2026-03-09T00:00:00Z"), 10)),
            (std::vector<std::string>{"2026-03-07T14:00:00Z", "2026-03-08T13:00:00Z"}));
  EXPECT_EQ(formatted(nineAm.startsBetween(utc("2026-10-31T00:00:00Z"), utc("2026-11-02T00:00:00Z"), 10)),
            (std::vector<std::string>{"2026-10-31T13:00:00Z", "2026-11-01T14:00:00Z"}));
}

TEST(Recurrence, ShanghaiIsEightHoursAheadAllYear) {
  // Friday 20:00 in Shanghai is Friday 12:00 UTC every week of the year, with no clock change.
  const Recurrence fridayEvening = created("0 20 * * FRI", "Asia/Shanghai");
  const std::vector<absl::Time> starts =
      fridayEvening.startsBetween(utc("2026-01-01T00:00:00Z"), utc("2027-01-01T00:00:00Z"), 100);
  ASSERT_EQ(starts.size(), 52u);
  EXPECT_EQ(format(starts.front()), "2026-01-02T12:00:00Z");
  for (size_t i = 1; i < starts.size(); ++i) EXPECT_EQ(starts[i] - starts[i - 1], absl::Hours(24 * 7)) << i;
}

TEST(Recurrence, StartsBetweenIsAscendingHalfOpenAndLimited) {
  const Recurrence quarterHourly = created("*/15 * * * *", "UTC");
  const absl::Time from = utc("2026-03-10T10:00:00Z");
  EXPECT_EQ(formatted(quarterHourly.startsBetween(from, utc("2026-03-10T11:00:00Z"), 100)),
            (std::vector<std::string>{"2026-03-10T10:00:00Z", "2026-03-10T10:15:00Z", "2026-03-10T10:30:00Z",
                                      "2026-03-10T10:45:00Z"}));
  EXPECT_EQ(formatted(quarterHourly.startsBetween(from, utc("2026-03-10T11:00:00Z"), 2)),
            (std::vector<std::string>{"2026-03-10T10:00:00Z", "2026-03-10T10:15:00Z"}));
  EXPECT_TRUE(quarterHourly.startsBetween(from, utc("2026-03-10T11:00:00Z"), 0).empty());
  EXPECT_TRUE(quarterHourly.startsBetween(from, from, 10).empty());
  EXPECT_TRUE(quarterHourly.startsBetween(utc("2026-03-10T11:00:00Z"), from, 10).empty());
}

TEST(Recurrence, StartsBetweenCoversEveryMinuteOfNinetyDays) {
  const std::vector<absl::Time> starts =
      created("* * * * *", "America/New_York")
          .startsBetween(utc("2026-02-01T00:00:00Z"), utc("2026-05-02T00:00:00Z"), 1'000'000);
  // Every UTC minute of the 90 days: the local hour skipped on 2026-03-08 collapses into 03:00 EDT,
  // 07:00 UTC, which follows 01:59 EST, 06:59 UTC.
  ASSERT_EQ(starts.size(), 90u * 1440);
  EXPECT_EQ(format(starts.front()), "2026-02-01T00:00:00Z");
  EXPECT_EQ(format(starts.back()), "2026-05-01T23:59:00Z");
  for (size_t i = 1; i < starts.size(); ++i) ASSERT_EQ(starts[i] - starts[i - 1], absl::Minutes(1)) << i;
}

TEST(Recurrence, KeepsTheZoneNameAndTheCron) {
  const Recurrence shanghai = created("0 20 * * FRI", "Asia/Shanghai");
  EXPECT_EQ(shanghai.timeZoneName(), "Asia/Shanghai");
  EXPECT_EQ(shanghai.cron().text(), "0 20 * * FRI");
  EXPECT_EQ(created("0 20 * * FRI", "").timeZoneName(), "UTC");
}

TEST(Recurrence, CreateRefusesABadCronOrZone) {
  const absl::StatusOr<Recurrence> badCron = Recurrence::create("0 25 * * *", "UTC");
  EXPECT_EQ(badCron.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(badCron.status().message(), R"(cron "0 25 * * *": hour 25 is out of range 0-23)");
  const absl::StatusOr<Recurrence> badZone = Recurrence::create("0 20 * * *", "Mars/Base");
  EXPECT_EQ(badZone.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(badZone.status().message(),
            R"(unknown time zone "Mars/Base"; use an IANA name such as "Asia/Shanghai" or "UTC")");
}

TEST(FindTimeZone, FindsIanaNamesAndTakesEmptyAsUtc) {
  const absl::StatusOr<const date::time_zone*> shanghai = findTimeZone("Asia/Shanghai");
  ASSERT_TRUE(shanghai.ok()) << shanghai.status();
  EXPECT_EQ((*shanghai)->name(), "Asia/Shanghai");
  const absl::StatusOr<const date::time_zone*> empty = findTimeZone("");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ((*empty)->name(), "UTC");
}

TEST(FindTimeZone, RefusesUnknownNamesWithAHint) {
  for (const char* name : {"Mars/Base", "asia/shanghai", "+08:00", "../../etc/passwd", "localtime", "right/UTC"}) {
    const absl::StatusOr<const date::time_zone*> zone = findTimeZone(name);
    ASSERT_FALSE(zone.ok()) << name;
    EXPECT_EQ(zone.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_EQ(zone.status().message(),
              absl::StrCat("unknown time zone \"", name, "\"; use an IANA name such as \"Asia/Shanghai\" or \"UTC\""));
  }
}

} // namespace
} // namespace surge::reservations
