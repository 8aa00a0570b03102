// ISO 8601 times in IANA zones, durations, and their display, for "surgectl reserve".
#include "cli/reservation_time.h"

#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>

#include <absl/status/status.h>
#include <absl/strings/str_cat.h>
#include <date/date.h>
#include <date/tz.h>

#include "common/absl_compat.h"

namespace surge::cli {
namespace {

// Reads the fixed-width fields of a time from left to right.
class Cursor {
public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool done() const { return pos_ == text_.size(); }
  bool peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  bool take(char c) {
    if (!peek(c)) return false;
    ++pos_;
    return true;
  }
  // Exactly `width` decimal digits.
  std::optional<int> number(size_t width) {
    if (text_.size() - pos_ < width) return std::nullopt;
    int value = 0;
    for (size_t i = 0; i < width; ++i) {
      const char c = text_[pos_ + i];
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + (c - '0');
    }
    pos_ += width;
    return value;
  }

private:
  std::string_view text_;
  size_t pos_ = 0;
};

struct WallTime {
  date::year_month_day day;
  std::chrono::seconds timeOfDay;
  std::optional<std::chrono::seconds> offset; // east of UTC
};

// "+08:00", "+0800", "+08", "-05:00", "Z"; at the end of the text.
std::optional<std::chrono::seconds> parseOffset(Cursor& cursor) {
  if (cursor.take('Z') || cursor.take('z')) return std::chrono::seconds(0);
  int sign = 0;
  if (cursor.take('+'))
    sign = 1;
  else if (cursor.take('-'))
    sign = -1;
  else
    return std::nullopt;
  const auto hours = cursor.number(2);
  if (!hours || *hours > 23) return std::nullopt;
  int minutes = 0;
  if (!cursor.done()) {
    const bool colon = cursor.take(':');
    const auto digits = cursor.number(2);
    if (!digits || *digits > 59 || (colon && !cursor.done())) return std::nullopt;
    minutes = *digits;
  }
  return std::chrono::seconds(sign * (*hours * 3600 + minutes * 60));
}

std::optional<WallTime> parseWallTime(std::string_view text) {
  Cursor cursor(text);
  const auto year = cursor.number(4);
  if (!year || !cursor.take('-')) return std::nullopt;
  const auto month = cursor.number(2);
  if (!month || !cursor.take('-')) return std::nullopt;
  const auto day = cursor.number(2);
  if (!day || !(cursor.take('T') || cursor.take('t') || cursor.take(' '))) return std::nullopt;
  const auto hour = cursor.number(2);
  if (!hour || !cursor.take(':')) return std::nullopt;
  const auto minute = cursor.number(2);
  if (!minute) return std::nullopt;
  int second = 0;
  if (cursor.take(':')) {
    const auto digits = cursor.number(2);
    if (!digits) return std::nullopt;
    second = *digits;
  }
  WallTime wall;
  wall.day = date::year(*year) / date::month(static_cast<unsigned>(*month)) / date::day(static_cast<unsigned>(*day));
  if (!wall.day.ok() || *hour > 23 || *minute > 59 || second > 59) return std::nullopt;
  wall.timeOfDay = std::chrono::hours(*hour) + std::chrono::minutes(*minute) + std::chrono::seconds(second);
  if (!cursor.done()) {
    wall.offset = parseOffset(cursor);
    if (!wall.offset || !cursor.done()) return std::nullopt;
  }
  return wall;
}

absl::Time fromSys(date::sys_seconds time) { return absl::FromUnixSeconds(time.time_since_epoch().count()); }

date::sys_seconds toSys(absl::Time time) { return date::sys_seconds(std::chrono::seconds(absl::ToUnixSeconds(time))); }

} // namespace

absl::StatusOr<const date::time_zone*> findTimeZone(std::string_view name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    // The library throws for an unknown name, and when it finds no tzdata at all.
    return absl::InvalidArgumentError(
        absl::StrCat("unknown time zone '", common::toAbsl(name),
                     "': give an IANA name such as UTC, Europe/Berlin or America/New_York (the system's tzdata, "
                     "/usr/share/zoneinfo, lists them)"));
  }
}

absl::StatusOr<absl::Time> parseWindowTime(std::string_view text, const date::time_zone& zone) {
  const std::optional<WallTime> wall = parseWallTime(text);
  if (!wall) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", common::toAbsl(text),
        "' is not a time: give ISO 8601 such as 2026-12-11T20:00:00+08:00, 2026-12-11T12:00:00Z, or a local "
        "time in --tz: 2026-12-11T20:00 or '2026-12-11 20:00:00'"));
  }
  const date::local_seconds local = date::local_days(wall->day) + wall->timeOfDay;
  if (wall->offset) return fromSys(date::sys_seconds(local.time_since_epoch() - *wall->offset));
  return fromSys(zone.to_sys(local, date::choose::earliest));
}

absl::StatusOr<absl::Duration> parseDurationFlag(std::string_view text) {
  absl::Duration duration;
  if (!absl::ParseDuration(common::toAbsl(text), &duration) || duration < absl::ZeroDuration() ||
      duration == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", common::toAbsl(text), "' is not a duration: give e.g. 90s, 15m, 2h, 1h30m or 500ms"));
  }
  return duration;
}

std::string formatTimeIn(absl::Time time, const date::time_zone* zone) {
  if (zone == nullptr) return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone());
  const date::sys_info info = zone->get_info(toSys(time));
  return absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", time, absl::FixedTimeZone(static_cast<int>(info.offset.count())));
}

absl::Time startOfHour(absl::Time time, const date::time_zone* zone) {
  const absl::Duration offset =
      zone == nullptr ? absl::ZeroDuration() : absl::Seconds(zone->get_info(toSys(time)).offset.count());
  // Floor (not truncate) so that times before 1970 go back to their hour too.
  const absl::Duration local = time - absl::UnixEpoch() + offset;
  const absl::Duration intoHour = local - absl::Floor(local, absl::Hours(1));
  return time - intoHour;
}

} // namespace surge::cli
