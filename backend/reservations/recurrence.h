// The start instants of a cron schedule read in an IANA time zone, the recurrence of a
// reservation window such as "every Friday 20:00 Asia/Shanghai".
#pragma once

#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reservations/cron_expression.h"

namespace date {
class time_zone;
} // namespace date

namespace surge::reservations {

// The zone of an IANA name from the system's tzdata, such as "Asia/Shanghai"; "" means "UTC".
// InvalidArgument for a name the database does not hold, FailedPrecondition when the database
// itself cannot be read. The zone lives as long as the process.
absl::StatusOr<const date::time_zone*> findTimeZone(std::string_view name);

// A cron expression whose fields are local wall-clock times of one zone. Immutable, so it may be
// shared between threads.
//
// Daylight saving time, where a wall-clock time occurs zero times or twice:
// - A local start that does not exist (the clocks spring forward over it) starts at the instant
//   the clocks jump: 02:30 on 2026-03-08 in America/New_York starts at 03:00 EDT (07:00 UTC).
//   Vixie cron likewise runs the jobs of a skipped hour right after the change, and a promotion's
//   window must not be silently skipped for a day. Skipped times that land on the same instant,
//   such as 02:00 and 02:30 there, give one start.
// - A local start that occurs twice (the clocks fall back over it) starts once, at its first
//   occurrence: 01:30 on 2026-11-01 in America/New_York starts at 01:30 EDT (05:30 UTC), so that
//   a window is not opened twice.
//
// The search gives up after 10 years without a start. Every schedule that ever matches does so
// within 8 years (29 February), except 29 February further restricted by a day-of-week field
// that starts with `*`, such as "0 0 29 2 */7" (a Sunday 29 February, once in 28 years): those
// starts are found only while within 10 years. "0 0 30 2 *" never matches.
//
// The zone rules come from the tzdata files. Debian's date library (3.0.1) reads only their
// listed transitions, which end in 2037, and not the rule that follows them: after 2037 a zone
// keeps the offset of its last listed transition, so daylight saving time is not applied there.
class Recurrence {
public:
  // InvalidArgument when the cron expression or the zone name is bad (see CronExpression::parse
  // and findTimeZone).
  static absl::StatusOr<Recurrence> create(std::string_view cron, std::string_view timeZone);

  // The first start at or after `from`; nullopt when there is none within 10 years, or `from` is
  // outside the years 1-9999 (such as absl::InfinitePast()).
  std::optional<absl::Time> nextStart(absl::Time from) const;
  // The starts in [from, to), ascending, at most `limit` of them; none when `from`
  // is outside the years 1-9999.
  std::vector<absl::Time> startsBetween(absl::Time from, absl::Time to, size_t limit) const;

  const CronExpression& cron() const { return cron_; }
  // The zone's name as given to create(), "UTC" when that was empty.
  const std::string& timeZoneName() const { return timeZoneName_; }

private:
  Recurrence(CronExpression cron, const date::time_zone* zone, std::string timeZoneName);

  CronExpression cron_;
  const date::time_zone* zone_;
  std::string timeZoneName_;
  // The matching minutes of a matching day, as minutes since local midnight, ascending.
  std::vector<int> minutesOfDay_;
};

} // namespace surge::reservations
