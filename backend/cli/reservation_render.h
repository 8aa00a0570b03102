// How "surgectl reserve add | list" show reservation windows, their shortfalls, a dry run's
// verdict and the reserved target hour by hour. Pure, so that unit tests check them. Times are
// shown in `zone` with its offset, or in UTC when it is null (see formatTimeIn()).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <absl/time/time.h>

#include "surge/v1/scaling.pb.h"

namespace date {
class time_zone;
} // namespace date

namespace surge::cli {

// A one-off window as "START → END"; a recurring one as "cron 0 20 * * 5 for 2h (Asia/Shanghai)"
// (UTC when the schedule names no zone); "-" for neither.
std::string windowText(const surge::v1::ReservationSchedule& schedule, const date::time_zone* zone);
// "4m30s (computed)" when the server computed the lead, "10m" when it was given, "-" when unset.
std::string leadText(const surge::v1::ReservationSchedule& schedule);
// "memory at 2026-12-11T11:54:00Z: MESSAGE": the kind, when it first falls short and the
// server's message; numbers in words when the message is empty.
std::string shortfallText(const surge::v1::ReservationShortfall& shortfall, const date::time_zone* zone);

// One window as a "key: value" block (id, function, count, window, lead, next start,
// description, created, warning; fields the answer leaves empty are left out), then its
// shortfalls one per line, indented, under "shortfalls:".
void printSchedule(std::ostream& out, const surge::v1::ReservationSchedule& schedule, const date::time_zone* zone);

// What a dry run's answer means. The server reports a window that would fall short in its
// shortfalls; with --force it would still be stored, with a warning.
enum class DryRunVerdict { kAccepted, kAcceptedWithWarning, kRefused };
DryRunVerdict dryRunVerdict(const surge::v1::ReservationSchedule& answer, bool force);
// "would be accepted", "would be stored with a warning (--force)" or "would be refused", then
// the window as printSchedule() shows it.
void printDryRun(std::ostream& out, const surge::v1::ReservationSchedule& answer, bool force,
                 const date::time_zone* zone);

// The reserved target over one hour of a plan: the largest target of the steps that overlap it,
// and what sets it: window ids, "ID (warming)" when every step of that window with that target
// in the hour warms it up, "standing" for the standing target; several joined by ", ".
struct PlanHour {
  absl::Time start;
  uint32_t target = 0;
  std::string setBy;
};
// The hours from `from` (a step's range start) for `hours` hours. Each step lasts until the next
// one starts; the last until the end. An hour no step covers has the standing target.
std::vector<PlanHour> planByHour(const surge::v1::ReservationPlan& plan, absl::Time from, int hours);

// "reserve list": the windows as a table (ID, COUNT, WINDOW, LEAD, NEXT START, DESCRIPTION), each
// window's warning on its own line beneath its row, and then the reserved target for `hours`
// hours from `from`, a row per hour (HOUR, TARGET, SET BY).
void printScheduleList(std::ostream& out, const surge::v1::ListReservationSchedulesResponse& list,
                       const surge::v1::ReservationPlan& plan, absl::Time from, int hours, const date::time_zone* zone);

} // namespace surge::cli
