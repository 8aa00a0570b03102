// A parsed 5-field cron expression, the schedule of a reservation window. The syntax and the
// day-of-month / day-of-week rule follow Vixie cron's crontab(5), as Debian's cron implements it.
#pragma once

#include <absl/status/statusor.h>
#include <date/date.h>

#include <bitset>
#include <string>
#include <string_view>

namespace surge::reservations {

// "minute hour day-of-month month day-of-week", e.g. "*/15 9-17 * * MON-FRI".
//
// Each field is a comma-separated list of elements: `*`, a number `a`, a range `a-b`, or a step
// `*/n`, `a-b/n` or `a/n`. Ranges are inclusive; `a/n` means `a-max/n` (cronie's extension of
// Vixie cron); a range whose start exceeds its end is refused. Months take JAN-DEC and days of
// the week SUN-SAT, case-insensitive, also inside ranges and lists; 0 and 7 are both Sunday.
// The aliases @yearly (@annually), @monthly, @weekly, @daily (@midnight) and @hourly stand for
// their crontab(5) expansions; @reboot and a seconds or year field are refused.
//
// Day rule (Vixie cron): when the day-of-month or the day-of-week field starts with `*`, a day
// must match both; when both are restricted, a day matches when either does, so "0 0 1,15 * 5"
// runs on the 1st, the 15th and every Friday.
class CronExpression {
public:
  // Errors are InvalidArgument and name the field and the bad token, e.g.
  // `cron "0 25 * * *": hour 25 is out of range 0-23`.
  static absl::StatusOr<CronExpression> parse(std::string_view text);

  // The text as given to parse().
  const std::string& text() const { return text_; }

  // Whether the schedule runs on this local day: its month and the day rule above.
  bool matchesDay(date::year_month_day day, date::weekday weekday) const;
  // Bit m is set when the schedule runs at minute m (0-59) of a matching hour.
  const std::bitset<60>& minutes() const { return minutes_; }
  // Bit h is set when the schedule runs in hour h (0-23) of a matching day.
  const std::bitset<24>& hours() const { return hours_; }

private:
  CronExpression() = default;

  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> daysOfMonth_; // bits 1-31
  std::bitset<13> months_;      // bits 1-12
  std::bitset<7> daysOfWeek_;   // bit 0 is Sunday; a 7 in the text sets it too
  bool dayOfMonthStar_ = false;
  bool dayOfWeekStar_ = false;
};

} // namespace surge::reservations
