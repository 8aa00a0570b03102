// The times, zones and durations of "surgectl reserve": ISO 8601 times read in an IANA zone,
// durations such as "1h30m", and times shown in a zone. IANA zones come from the date library
// (the system's tzdata); callers pass them as opaque pointers.
#pragma once

#include <string>
#include <string_view>

#include <absl/status/statusor.h>
#include <absl/time/time.h>

namespace date {
class time_zone;
} // namespace date

namespace surge::cli {

// The IANA zone `name`, e.g. "Asia/Shanghai" or "UTC". INVALID_ARGUMENT naming it when the
// system's tzdata does not know it. The zone lives as long as the process.
absl::StatusOr<const date::time_zone*> findTimeZone(std::string_view name);

// An ISO 8601 date and time to the minute or second, with 'T' or a space between them:
// "2026-12-11T20:00:00+08:00", "2026-12-11T12:00:00Z", "2026-12-11T20:00", "2026-12-11 20:00:00".
// An offset ("Z", "+08:00", "+0800", "+08") fixes the time; without one it is a local time in
// `zone`. A local time that the zone skips (the hour lost when clocks go forward) is read as
// the moment of the change, and one that occurs twice (the hour repeated when they go back) as
// the first of the two: date::choose::earliest. INVALID_ARGUMENT with the forms allowed.
absl::StatusOr<absl::Time> parseWindowTime(std::string_view text, const date::time_zone& zone);

// A duration such as "90s", "15m", "2h", "1h30m" or "500ms" (absl::ParseDuration's forms: a
// sequence of decimal numbers each with a unit ns, us, ms, s, m or h). INVALID_ARGUMENT, with
// examples, for anything else and for a negative or infinite duration.
absl::StatusOr<absl::Duration> parseDurationFlag(std::string_view text);

// RFC 3339 to the second: in UTC with "Z" when `zone` is null, else in `zone` with its offset
// then, e.g. "2026-12-11T20:00:00+08:00".
std::string formatTimeIn(absl::Time time, const date::time_zone* zone);

// The start of the hour `time` falls in, on the clock of `zone` (UTC when null): for a zone
// whose offset is not whole hours (Asia/Kolkata), that is not a whole UTC hour.
absl::Time startOfHour(absl::Time time, const date::time_zone* zone);

} // namespace surge::cli
