// The pure parts of "surgectl reserve add | list": times, zones and durations read and shown;
// the request add's flags make (or the usage error); hand-built windows, verdicts and plans in,
// exact text out; no server.
#include "cli/reservation_render.h"

#include "api/proto_time.h"
#include "cli/output.h"
#include "cli/reservation_commands.h"
#include "cli/reservation_time.h"

#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace surge::cli {
namespace {

namespace v1 = surge::v1;
using ::testing::HasSubstr;

absl::Time utc(int year, int month, int day, int hour, int minute, int second = 0) {
  return absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, second), absl::UTCTimeZone());
}

const date::time_zone& zone(const char* name) {
  auto found = findTimeZone(name);
  EXPECT_TRUE(found.ok()) << found.status();
  return **found;
}

absl::Time parsed(const char* text, const char* zoneName) {
  auto time = parseWindowTime(text, zone(zoneName));
  EXPECT_TRUE(time.ok()) << text << ": " << time.status();
  return time.ok() ? *time : absl::InfinitePast();
}

TEST(ReservationTime, TimesWithAnOffsetIgnoreTheZone) {
  EXPECT_EQ(parsed("2026-12-11T20:00:00+08:00", "America/New_York"), utc(2026, 12, 11, 12, 0));
  EXPECT_EQ(parsed("2026-12-11T12:00:00Z", "Asia/Shanghai"), utc(2026, 12, 11, 12, 0));
  EXPECT_EQ(parsed("2026-12-11T07:00:00-0500", "UTC"), utc(2026, 12, 11, 12, 0));
  EXPECT_EQ(parsed("2026-12-11T17:30+05:30", "UTC"), utc(2026, 12, 11, 12, 0));
  EXPECT_EQ(parsed("2026-12-11t20:00:00+08", "UTC"), utc(2026, 12, 11, 12, 0));
}

TEST(ReservationTime, LocalTimesAreReadInTheZoneWithOrWithoutSeconds) {
  EXPECT_EQ(parsed("2026-12-11T20:00", "Asia/Shanghai"), utc(2026, 12, 11, 12, 0));
  EXPECT_EQ(parsed("2026-12-11 20:00:00", "Asia/Shanghai"), utc(2026, 12, 11, 12, 0));
  EXPECT_EQ(parsed("2026-12-11T20:00:05", "UTC"), utc(2026, 12, 11, 20, 0, 5));
  // New York is UTC-5 in winter and UTC-4 in summer.
  EXPECT_EQ(parsed("2026-12-11T09:00", "America/New_York"), utc(2026, 12, 11, 14, 0));
  EXPECT_EQ(parsed("2026-07-04T09:00", "America/New_York"), utc(2026, 7, 4, 13, 0));
}

TEST(ReservationTime, SkippedAndRepeatedLocalTimesTakeTheEarliestReading) {
  // 2026-03-08 02:00 EST jumps to 03:00 EDT: 02:30 does not exist; it is read as the change.
  EXPECT_EQ(parsed("2026-03-08T02:30", "America/New_York"), utc(2026, 3, 8, 7, 0));
  // 2026-11-01 02:00 EDT falls back to 01:00 EST: 01:30 happens twice; the first is EDT.
  EXPECT_EQ(parsed("2026-11-01T01:30", "America/New_York"), utc(2026, 11, 1, 5, 30));
  EXPECT_EQ(parsed("2026-11-01T02:30", "America/New_York"), utc(2026, 11, 1, 7, 30));
}

TEST(ReservationTime, MalformedTimesSayWhichFormsAreAllowed) {
  for (const char* text :
       {"tomorrow", "2026-12-11", "2026-13-01T00:00", "2026-02-30T10:00", "2026-12-11T24:00", "2026-12-11T20:00+8",
        "2026-12-11T20:00:00.5Z", "2026-12-11T20:00Zulu", "1796990400", "2026-12-11T20:00+08:00:00", ""}) {
    auto time = parseWindowTime(text, zone("UTC"));
    ASSERT_FALSE(time.ok()) << text;
    EXPECT_EQ(time.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(time.status().message(),
              std::string("'") + text +
                  "' is not a time: give ISO 8601 such as 2026-12-11T20:00:00+08:00, 2026-12-11T12:00:00Z, or a "
                  "local time in --tz: 2026-12-11T20:00 or '2026-12-11 20:00:00'");
  }
}

TEST(ReservationTime, UnknownZonesAreNamed) {
  auto mars = findTimeZone("Mars/Olympus_Mons");
  ASSERT_FALSE(mars.ok());
  EXPECT_EQ(mars.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(mars.status().message(), HasSubstr("unknown time zone 'Mars/Olympus_Mons': give an IANA name"));
  EXPECT_FALSE(findTimeZone("").ok());
  EXPECT_TRUE(findTimeZone("UTC").ok());
}

TEST(ReservationTime, DurationsTakeUnitsAndRefuseNegativeOnes) {
  EXPECT_EQ(*parseDurationFlag("90s"), absl::Seconds(90));
  EXPECT_EQ(*parseDurationFlag("15m"), absl::Minutes(15));
  EXPECT_EQ(*parseDurationFlag("2h"), absl::Hours(2));
  EXPECT_EQ(*parseDurationFlag("1h30m"), absl::Minutes(90));
  EXPECT_EQ(*parseDurationFlag("500ms"), absl::Milliseconds(500));
  for (const char* text : {"90", "-5m", "inf", "2 h", "1d", "soon", ""}) {
    auto duration = parseDurationFlag(text);
    ASSERT_FALSE(duration.ok()) << text;
    EXPECT_EQ(duration.status().message(),
              std::string("'") + text + "' is not a duration: give e.g. 90s, 15m, 2h, 1h30m or 500ms");
  }
}

TEST(ReservationTime, TimesAreShownInUtcOrInTheZoneWithItsOffset) {
  const absl::Time noon = utc(2026, 12, 11, 12, 0);
  EXPECT_EQ(formatTimeIn(noon, nullptr), "2026-12-11T12:00:00Z");
  EXPECT_EQ(formatTimeIn(noon, &zone("Asia/Shanghai")), "2026-12-11T20:00:00+08:00");
  EXPECT_EQ(formatTimeIn(noon, &zone("America/New_York")), "2026-12-11T07:00:00-05:00");
  EXPECT_EQ(formatTimeIn(utc(2026, 7, 4, 13, 0), &zone("America/New_York")), "2026-07-04T09:00:00-04:00");
}

TEST(ReservationTime, TheHourStartsOnTheZonesClock) {
  const absl::Time now = utc(2026, 12, 11, 12, 47, 13);
  EXPECT_EQ(startOfHour(now, nullptr), utc(2026, 12, 11, 12, 0));
  EXPECT_EQ(startOfHour(now, &zone("America/New_York")), utc(2026, 12, 11, 12, 0));
  // Kolkata is UTC+05:30: 18:17 local, whose hour began at 18:00 local, 12:30 UTC.
  EXPECT_EQ(startOfHour(now, &zone("Asia/Kolkata")), utc(2026, 12, 11, 12, 30));
  EXPECT_EQ(startOfHour(utc(2026, 12, 11, 12, 0), nullptr), utc(2026, 12, 11, 12, 0));
}

TEST(AddReservationRequest, OneOffWindowsCarryBothTimesAndTheFlags) {
  ReserveAddFlags flags;
  flags.name = "hello";
  flags.count = 10;
  flags.start = "2026-12-11T20:00";
  flags.end = "2026-12-11 23:30";
  flags.timeZone = "Asia/Shanghai";
  flags.lead = "1h30m";
  flags.description = "double twelve";
  flags.force = true;
  auto request = addReservationRequest("shop", flags);
  ASSERT_TRUE(request.ok()) << request.status();
  const v1::ReservationSchedule& schedule = request->schedule();
  EXPECT_EQ(schedule.namespace_(), "shop");
  EXPECT_EQ(schedule.function(), "hello");
  EXPECT_EQ(schedule.count(), 10u);
  ASSERT_TRUE(schedule.has_once());
  EXPECT_EQ(api::fromProtoTimestamp(schedule.once().start_time()), utc(2026, 12, 11, 12, 0));
  EXPECT_EQ(api::fromProtoTimestamp(schedule.once().end_time()), utc(2026, 12, 11, 15, 30));
  EXPECT_EQ(schedule.lead().seconds(), 5400);
  EXPECT_EQ(schedule.description(), "double twelve");
  EXPECT_TRUE(request->force());
  EXPECT_FALSE(request->validate_only());
}

TEST(AddReservationRequest, RecurringWindowsCarryCronDurationAndZone) {
  ReserveAddFlags flags;
  flags.name = "hello";
  flags.count = 4;
  flags.cron = "0  20 * *\t5";
  flags.duration = "2h";
  flags.dryRun = true;
  auto request = addReservationRequest("default", flags);
  ASSERT_TRUE(request.ok()) << request.status();
  ASSERT_TRUE(request->schedule().has_recurring());
  const v1::RecurringWindow& recurring = request->schedule().recurring();
  EXPECT_EQ(recurring.cron(), "0 20 * * 5");
  EXPECT_EQ(recurring.duration().seconds(), 7200);
  EXPECT_EQ(recurring.time_zone(), "UTC");
  EXPECT_FALSE(request->schedule().has_lead()) << "no --lead: the server computes it";
  EXPECT_TRUE(request->validate_only());
  EXPECT_FALSE(request->force());
}

TEST(AddReservationRequest, BadFlagsSayWhatIsAllowed) {
  ReserveAddFlags base;
  base.name = "hello";
  base.count = 3;
  auto error = [&](auto change) {
    ReserveAddFlags flags = base;
    change(flags);
    auto request = addReservationRequest("default", flags);
    EXPECT_FALSE(request.ok());
    EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(request.status().message());
  };
  const std::string forms = "give one window: --start TIME --end TIME (once), or --cron EXPR --duration D (repeating)";
  EXPECT_EQ(error([](ReserveAddFlags&) {}), "no window given: " + forms);
  EXPECT_EQ(error([](ReserveAddFlags& f) {
              f.start = "2026-12-11T20:00";
              f.end = "2026-12-11T21:00";
              f.cron = "0 20 * * 5";
              f.duration = "1h";
            }),
            "--start/--end and --cron/--duration cannot go together: " + forms);
  EXPECT_EQ(error([](ReserveAddFlags& f) { f.start = "2026-12-11T20:00"; }),
            "--start needs --end, the time the window closes");
  EXPECT_EQ(error([](ReserveAddFlags& f) { f.duration = "1h"; }),
            "--duration needs --cron, the times the window opens");
  EXPECT_THAT(error([](ReserveAddFlags& f) {
                f.start = "2026-12-11T20:00";
                f.end = "2026-12-11T20:00";
              }),
              HasSubstr("--end (2026-12-11T20:00) must be after --start (2026-12-11T20:00)"));
  EXPECT_THAT(error([](ReserveAddFlags& f) {
                f.start = "noon";
                f.end = "2026-12-11T20:00";
              }),
              HasSubstr("--start: 'noon' is not a time"));
  EXPECT_THAT(error([](ReserveAddFlags& f) {
                f.cron = "0 20 * *";
                f.duration = "1h";
              }),
              HasSubstr("--cron: '0 20 * *' has 4 fields; give five"));
  EXPECT_EQ(error([](ReserveAddFlags& f) {
              f.cron = "0 20 * * 5";
              f.duration = "0s";
            }),
            "--duration: a window must last longer than 0, e.g. 2h");
  EXPECT_EQ(error([](ReserveAddFlags& f) {
              f.cron = "0 20 * * 5";
              f.duration = "1h";
              f.lead = "25h";
            }),
            "--lead: 25h is more than 24h; leave it out to have the server compute it");
  EXPECT_THAT(error([](ReserveAddFlags& f) {
                f.cron = "0 20 * * 5";
                f.duration = "1h";
                f.timeZone = "Asia/Atlantis";
              }),
              HasSubstr("--tz: unknown time zone 'Asia/Atlantis'"));
  EXPECT_EQ(error([](ReserveAddFlags& f) {
              f.cron = "0 20 * * 5";
              f.duration = "1h";
              f.description = std::string(257, 'x');
            }),
            "--description is 257 bytes; at most 256 are allowed");
  EXPECT_THAT(error([](ReserveAddFlags& f) { f.name = "Bad_Name"; }), HasSubstr("function name"));
}

v1::ReservationSchedule oneOff() {
  v1::ReservationSchedule schedule;
  schedule.set_id("r-1");
  schedule.set_namespace_("default");
  schedule.set_function("hello");
  schedule.set_count(10);
  *schedule.mutable_once()->mutable_start_time() = api::toProtoTimestamp(utc(2026, 12, 11, 12, 0));
  *schedule.mutable_once()->mutable_end_time() = api::toProtoTimestamp(utc(2026, 12, 11, 13, 0));
  *schedule.mutable_lead() = api::toProtoDuration(absl::Minutes(10));
  schedule.set_lead_computed(true);
  *schedule.mutable_next_start_time() = api::toProtoTimestamp(utc(2026, 12, 11, 12, 0));
  schedule.set_description("promotion");
  return schedule;
}

v1::ReservationSchedule recurring() {
  v1::ReservationSchedule schedule;
  schedule.set_id("r-2");
  schedule.set_namespace_("default");
  schedule.set_function("hello");
  schedule.set_count(4);
  schedule.mutable_recurring()->set_cron("40 21 * * *");
  *schedule.mutable_recurring()->mutable_duration() = api::toProtoDuration(absl::Hours(1));
  schedule.mutable_recurring()->set_time_zone("Asia/Shanghai");
  *schedule.mutable_lead() = api::toProtoDuration(absl::Minutes(10));
  *schedule.mutable_next_start_time() = api::toProtoTimestamp(utc(2026, 12, 11, 13, 40));
  schedule.set_warning("the memory budget fits 3 of the 4 instances from 2026-12-11T13:30:00Z");
  return schedule;
}

v1::ReservationShortfall memoryShortfall() {
  v1::ReservationShortfall shortfall;
  shortfall.set_kind(v1::ReservationShortfall::MEMORY);
  *shortfall.mutable_time() = api::toProtoTimestamp(utc(2026, 12, 11, 11, 50));
  shortfall.set_memory_short_mib(512);
  shortfall.set_max_count(6);
  return shortfall;
}

TEST(ReservationRender, WindowsLeadsAndShortfallsReadAsText) {
  EXPECT_EQ(windowText(oneOff(), nullptr), "2026-12-11T12:00:00Z → 2026-12-11T13:00:00Z");
  EXPECT_EQ(windowText(oneOff(), &zone("Asia/Shanghai")), "2026-12-11T20:00:00+08:00 → 2026-12-11T21:00:00+08:00");
  EXPECT_EQ(windowText(recurring(), nullptr), "cron 40 21 * * * for 1h (Asia/Shanghai)");
  EXPECT_EQ(windowText(v1::ReservationSchedule(), nullptr), "-");
  EXPECT_EQ(leadText(oneOff()), "10m (computed)");
  EXPECT_EQ(leadText(recurring()), "10m");
  EXPECT_EQ(leadText(v1::ReservationSchedule()), "-");

  v1::ReservationShortfall memory = memoryShortfall();
  EXPECT_EQ(shortfallText(memory, nullptr),
            "memory at 2026-12-11T11:50:00Z: needs 512 MiB more than the memory budget; at most 6 instances fit");
  memory.set_message("needs 512 MiB beyond --memory-budget-mib 4096; lower --count to 6");
  EXPECT_EQ(shortfallText(memory, nullptr),
            "memory at 2026-12-11T11:50:00Z: needs 512 MiB beyond --memory-budget-mib 4096; lower --count to 6");
  v1::ReservationShortfall warmUp;
  warmUp.set_kind(v1::ReservationShortfall::WARM_UP);
  *warmUp.mutable_time() = api::toProtoTimestamp(utc(2026, 12, 11, 12, 0));
  warmUp.set_instances_not_warm(3);
  warmUp.set_max_count(7);
  EXPECT_EQ(shortfallText(warmUp, &zone("Asia/Shanghai")),
            "warm-up at 2026-12-11T20:00:00+08:00: 3 instances would not be ready by the start; at most 7 can be");
}

TEST(ReservationRender, AStoredWindowIsABlockWithItsWarning) {
  v1::ReservationSchedule schedule = recurring();
  *schedule.mutable_create_time() = api::toProtoTimestamp(utc(2026, 12, 7, 21, 30));
  std::ostringstream out;
  printSchedule(out, schedule, nullptr);
  EXPECT_EQ(out.str(), "id:          r-2\n"
                       "function:    default/hello\n"
                       "count:       4\n"
                       "window:      cron 40 21 * * * for 1h (Asia/Shanghai)\n"
                       "lead:        10m\n"
                       "next start:  2026-12-11T13:40:00Z\n"
                       "description: -\n"
                       "created:     2026-12-07T21:30:00Z\n"
                       "warning:     the memory budget fits 3 of the 4 instances from 2026-12-11T13:30:00Z\n");
}

TEST(ReservationRender, ADryRunSaysWhetherTheWindowWouldBeAccepted) {
  v1::ReservationSchedule accepted = oneOff();
  accepted.clear_id();
  EXPECT_EQ(dryRunVerdict(accepted, false), DryRunVerdict::kAccepted);
  std::ostringstream acceptedOut;
  printDryRun(acceptedOut, accepted, false, nullptr);
  EXPECT_EQ(acceptedOut.str(), "would be accepted\n"
                               "function:    default/hello\n"
                               "count:       10\n"
                               "window:      2026-12-11T12:00:00Z → 2026-12-11T13:00:00Z\n"
                               "lead:        10m (computed)\n"
                               "next start:  2026-12-11T12:00:00Z\n"
                               "description: promotion\n");

  v1::ReservationSchedule refused = accepted;
  *refused.add_shortfalls() = memoryShortfall();
  EXPECT_EQ(dryRunVerdict(refused, false), DryRunVerdict::kRefused);
  EXPECT_EQ(dryRunVerdict(refused, true), DryRunVerdict::kAcceptedWithWarning);
  std::ostringstream refusedOut;
  printDryRun(refusedOut, refused, false, nullptr);
  EXPECT_EQ(refusedOut.str(),
            "would be refused\n"
            "function:    default/hello\n"
            "count:       10\n"
            "window:      2026-12-11T12:00:00Z → 2026-12-11T13:00:00Z\n"
            "lead:        10m (computed)\n"
            "next start:  2026-12-11T12:00:00Z\n"
            "description: promotion\n"
            "shortfalls:\n"
            "  memory at 2026-12-11T11:50:00Z: needs 512 MiB more than the memory budget; at most 6 instances fit\n");
  std::ostringstream forcedOut;
  printDryRun(forcedOut, refused, true, nullptr);
  EXPECT_THAT(forcedOut.str(), ::testing::StartsWith("would be stored with a warning (--force)\n"));
}

v1::ReservationStep step(absl::Time start, uint32_t target, const std::string& id, bool warming = false) {
  v1::ReservationStep s;
  *s.mutable_start_time() = api::toProtoTimestamp(start);
  s.set_reserved_target(target);
  s.set_schedule_id(id);
  s.set_warming(warming);
  return s;
}

// Standing target 2; r-1 (10 instances, 12:00-13:00) warms from 11:50; r-2 (4 instances,
// 13:40-14:40) warms from 13:30.
v1::ReservationPlan plan() {
  v1::ReservationPlan p;
  p.set_namespace_("default");
  p.set_function("hello");
  p.set_standing_target(2);
  *p.add_steps() = step(utc(2026, 12, 11, 10, 0), 2, "");
  *p.add_steps() = step(utc(2026, 12, 11, 11, 50), 10, "r-1", true);
  *p.add_steps() = step(utc(2026, 12, 11, 12, 0), 10, "r-1");
  *p.add_steps() = step(utc(2026, 12, 11, 13, 0), 2, "");
  *p.add_steps() = step(utc(2026, 12, 11, 13, 30), 4, "r-2", true);
  *p.add_steps() = step(utc(2026, 12, 11, 13, 40), 4, "r-2");
  *p.add_steps() = step(utc(2026, 12, 11, 14, 40), 2, "");
  return p;
}

TEST(ReservationRender, EachHourTakesTheLargestTargetOfItsStepsAndWhatSetsIt) {
  const std::vector<PlanHour> hours = planByHour(plan(), utc(2026, 12, 11, 10, 0), 6);
  ASSERT_EQ(hours.size(), 6u);
  auto row = [](const PlanHour& h) {
    return formatTimeIn(h.start, nullptr) + " " + std::to_string(h.target) + " " + h.setBy;
  };
  EXPECT_EQ(row(hours[0]), "2026-12-11T10:00:00Z 2 standing");
  EXPECT_EQ(row(hours[1]), "2026-12-11T11:00:00Z 10 r-1 (warming)");
  EXPECT_EQ(row(hours[2]), "2026-12-11T12:00:00Z 10 r-1");
  EXPECT_EQ(row(hours[3]), "2026-12-11T13:00:00Z 4 r-2") << "warming and open in the same hour: open";
  EXPECT_EQ(row(hours[4]), "2026-12-11T14:00:00Z 4 r-2");
  EXPECT_EQ(row(hours[5]), "2026-12-11T15:00:00Z 2 standing");

  // Equal targets name every setter; no steps at all is the standing target.
  v1::ReservationPlan tie;
  tie.set_standing_target(4);
  *tie.add_steps() = step(utc(2026, 12, 11, 10, 0), 4, "");
  *tie.add_steps() = step(utc(2026, 12, 11, 10, 30), 4, "r-3");
  EXPECT_EQ(planByHour(tie, utc(2026, 12, 11, 10, 0), 1).at(0).setBy, "standing, r-3");
  v1::ReservationPlan empty;
  empty.set_standing_target(3);
  const PlanHour none = planByHour(empty, utc(2026, 12, 11, 10, 0), 1).at(0);
  EXPECT_EQ(none.target, 3u);
  EXPECT_EQ(none.setBy, "standing");
}

TEST(ReservationRender, TheListIsATableWithWarningsBeneathThenTheTargetByHour) {
  v1::ListReservationSchedulesResponse list;
  *list.add_schedules() = oneOff();
  *list.add_schedules() = recurring();
  std::ostringstream out;
  printScheduleList(out, list, plan(), utc(2026, 12, 11, 10, 0), 5, nullptr);
  EXPECT_EQ(out.str(),
            "ID    COUNT   WINDOW                                        LEAD             NEXT START             "
            "DESCRIPTION\n"
            "r-1   10      2026-12-11T12:00:00Z → 2026-12-11T13:00:00Z   10m (computed)   2026-12-11T12:00:00Z   "
            "promotion\n"
            "r-2   4       cron 40 21 * * * for 1h (Asia/Shanghai)       10m              2026-12-11T13:40:00Z   -\n"
            "  warning: the memory budget fits 3 of the 4 instances from 2026-12-11T13:30:00Z\n"
            "\n"
            "reserved target by hour (UTC; standing target 2):\n"
            "HOUR                   TARGET   SET BY\n"
            "2026-12-11T10:00:00Z   2        standing\n"
            "2026-12-11T11:00:00Z   10       r-1 (warming)\n"
            "2026-12-11T12:00:00Z   10       r-1\n"
            "2026-12-11T13:00:00Z   4        r-2\n"
            "2026-12-11T14:00:00Z   4        r-2\n");
}

TEST(ReservationRender, AnEmptyListSaysSoAndStillShowsTheTargetInTheZone) {
  v1::ReservationPlan standing;
  standing.set_standing_target(1);
  *standing.add_steps() = step(utc(2026, 12, 11, 10, 0), 1, "");
  std::ostringstream out;
  printScheduleList(out, v1::ListReservationSchedulesResponse(), standing, utc(2026, 12, 11, 10, 0), 2,
                    &zone("Asia/Shanghai"));
  EXPECT_EQ(out.str(), "no reservation windows\n"
                       "\n"
                       "reserved target by hour (Asia/Shanghai; standing target 1):\n"
                       "HOUR                        TARGET   SET BY\n"
                       "2026-12-11T18:00:00+08:00   1        standing\n"
                       "2026-12-11T19:00:00+08:00   1        standing\n");
}

TEST(ReservationRender, JsonWithMembersIsOneObject) {
  v1::ListReservationSchedulesResponse list;
  *list.add_schedules() = oneOff();
  const v1::ReservationPlan p = plan();
  std::ostringstream out;
  ASSERT_TRUE(printJsonWithMembers(out, list, {{"plan", &p}}).ok());
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out.str(), &parsed).ok()) << out.str();
  ASSERT_EQ(parsed.fields().size(), 2u) << out.str();
  const auto& schedules = parsed.fields().at("schedules").list_value();
  ASSERT_EQ(schedules.values_size(), 1);
  EXPECT_EQ(schedules.values(0).struct_value().fields().at("id").string_value(), "r-1");
  EXPECT_EQ(schedules.values(0).struct_value().fields().at("lead").string_value(), "600s");
  const auto& planJson = parsed.fields().at("plan").struct_value();
  EXPECT_EQ(planJson.fields().at("standingTarget").number_value(), 2);
  EXPECT_EQ(planJson.fields().at("steps").list_value().values_size(), 7);
  EXPECT_EQ(out.str().back(), '\n');
  EXPECT_EQ(out.str().find("{\n"), 0u) << "pretty-printed, as printJson() is";
}

TEST(Table, NotesGoBeneathTheirRowAndColumnsCountCharacters) {
  Table table({"A", "B"});
  table.addRow({"x → y", "1"});
  table.addNote("a long note that does not widen the first column");
  table.addRow({"xyzab", "2"});
  std::ostringstream out;
  table.print(out);
  EXPECT_EQ(out.str(), "A       B\n"
                       "x → y   1\n"
                       "  a long note that does not widen the first column\n"
                       "xyzab   2\n");
}

} // namespace
} // namespace surge::cli
