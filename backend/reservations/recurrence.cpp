// The walk over local days and minutes that turns a cron schedule into instants of one zone.
#include "reservations/recurrence.h"

#include <absl/status/status.h>
#include <absl/strings/str_cat.h>
#include <date/tz.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <utility>

#include "common/absl_compat.h"

namespace surge::reservations {
namespace {

using common::toAbsl;

// 29 February comes within 8 years (2096 to 2104); see the header for the rare schedules that
// come less often.
constexpr date::days kSearchHorizon{3653};

// The date library's calendar ends in the year 32767; these bounds keep the search well inside
// it, and inside absl::Time's finite range.
constexpr int64_t kFirstSupportedSecond = -62135596800; // 0001-01-01T00:00:00Z
constexpr int64_t kLastSupportedSecond = 253402300799;  // 9999-12-31T23:59:59Z

// The first whole second at or after `time`, as Unix seconds, clamped to one past the supported
// range: a start, always a whole minute, lies at or after `time` exactly when it lies at or after
// this second.
int64_t ceilToUnixSeconds(absl::Time time) {
  if (time > absl::FromUnixSeconds(kLastSupportedSecond)) return kLastSupportedSecond + 1;
  if (time < absl::FromUnixSeconds(kFirstSupportedSecond)) return kFirstSupportedSecond - 1;
  const int64_t seconds = absl::ToUnixSeconds(time);
  return absl::FromUnixSeconds(seconds) < time ? seconds + 1 : seconds;
}

// The UTC offset of a whole local day when one offset holds all day; nullopt on a day the clocks
// change, whose times each need the zone's rules.
std::optional<std::chrono::seconds> offsetOfWholeDay(const date::time_zone& zone, date::local_days day) {
  const date::local_info info = zone.get_info(date::local_seconds(day));
  if (info.result != date::local_info::unique) return std::nullopt;
  const date::sys_seconds dayStart = date::sys_seconds(day.time_since_epoch()) - info.first.offset;
  if (info.first.begin <= dayStart && dayStart + date::days{1} <= info.first.end) return info.first.offset;
  return std::nullopt;
}

} // namespace

absl::StatusOr<const date::time_zone*> findTimeZone(std::string_view name) {
  if (name.empty()) name = "UTC";
  try {
    date::get_tzdb();
  } catch (const std::exception& e) {
    return absl::FailedPreconditionError(absl::StrCat("the time zone database in /usr/share/zoneinfo cannot be read (",
                                                      e.what(), "); install the tzdata package"));
  }
  // The zoneinfo directory's "localtime" is the host's /etc/localtime, not an IANA name: a
  // window must not move when the server's own setting changes.
  if (name != "localtime") {
    try {
      return date::locate_zone(name);
    } catch (const std::exception&) {
      // Not in the database: the same answer as "localtime".
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown time zone \"", toAbsl(name), "\"; use an IANA name such as \"Asia/Shanghai\" or \"UTC\""));
}

absl::StatusOr<Recurrence> Recurrence::create(std::string_view cron, std::string_view timeZone) {
  absl::StatusOr<CronExpression> expression = CronExpression::parse(cron);
  if (!expression.ok()) return expression.status();
  absl::StatusOr<const date::time_zone*> zone = findTimeZone(timeZone);
  if (!zone.ok()) return zone.status();
  return Recurrence(*std::move(expression), *zone, timeZone.empty() ? "UTC" : std::string(timeZone));
}

Recurrence::Recurrence(CronExpression cron, const date::time_zone* zone, std::string timeZoneName)
    : cron_(std::move(cron)), zone_(zone), timeZoneName_(std::move(timeZoneName)) {
  for (int hour = 0; hour < 24; ++hour) {
    if (!cron_.hours().test(static_cast<size_t>(hour))) continue;
    for (int minute = 0; minute < 60; ++minute) {
      if (cron_.minutes().test(static_cast<size_t>(minute))) minutesOfDay_.push_back(hour * 60 + minute);
    }
  }
}

std::optional<absl::Time> Recurrence::nextStart(absl::Time from) const {
  const std::vector<absl::Time> starts = startsBetween(from, absl::InfiniteFuture(), 1);
  if (starts.empty()) return std::nullopt;
  return starts.front();
}

std::vector<absl::Time> Recurrence::startsBetween(absl::Time from, absl::Time to, size_t limit) const {
  std::vector<absl::Time> starts;
  if (from >= to || limit == 0) return starts;
  const int64_t fromSecond = ceilToUnixSeconds(from);
  if (fromSecond < kFirstSupportedSecond || fromSecond > kLastSupportedSecond) return starts;
  const date::sys_seconds first{std::chrono::seconds(fromSecond)};
  const date::sys_seconds end{std::chrono::seconds(ceilToUnixSeconds(to))};

  // Local times are walked in order, and with the rules above their instants never go backwards,
  // so the starts come out ascending. The walk begins a day early because a skipped local time of
  // the day before can start exactly at `from`, when the clocks jump over midnight.
  date::local_days day = date::floor<date::days>(zone_->to_local(first)) - date::days{1};
  date::local_days giveUp = day + kSearchHorizon;
  std::optional<date::sys_seconds> previous;
  for (; day <= giveUp; day += date::days{1}) {
    if (!cron_.matchesDay(date::year_month_day(day), date::weekday(day))) continue;
    const std::optional<std::chrono::seconds> offset = offsetOfWholeDay(*zone_, day);
    for (const int minuteOfDay : minutesOfDay_) {
      const date::local_seconds local = day + std::chrono::minutes(minuteOfDay);
      // earliest: a skipped time maps to the instant of the jump, a repeated one to its first
      // occurrence.
      const date::sys_seconds start =
          offset ? date::sys_seconds(local.time_since_epoch()) - *offset : zone_->to_sys(local, date::choose::earliest);
      if (start < first || start == previous) continue;
      if (start >= end) return starts;
      starts.push_back(absl::FromUnixSeconds(start.time_since_epoch().count()));
      if (starts.size() == limit) return starts;
      previous = start;
      giveUp = day + kSearchHorizon;
    }
  }
  return starts;
}

} // namespace surge::reservations
