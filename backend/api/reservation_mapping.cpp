// Reservation mapping: oneof windows, durations and timestamps, shortfall kinds.
#include "api/reservation_mapping.h"

#include "api/proto_time.h"
#include "reservations/recurrence.h"

#include <absl/strings/str_cat.h>

namespace surge::api {
absl::StatusOr<RequestedWindow> fromProto(const v1::ReservationSchedule& schedule) {
  RequestedWindow requested;
  reservations::Window& window = requested.window;
  window.count = schedule.count();
  window.description = schedule.description();
  switch (schedule.window_case()) {
  case v1::ReservationSchedule::kOnce:
    if (!schedule.once().has_start_time() || !schedule.once().has_end_time()) {
      return absl::InvalidArgumentError("a one-off window needs both once.start_time and once.end_time");
    }
    window.when = reservations::OneOff{fromProtoTimestamp(schedule.once().start_time()),
                                       fromProtoTimestamp(schedule.once().end_time())};
    break;
  case v1::ReservationSchedule::kRecurring:
    if (schedule.recurring().cron().empty()) {
      return absl::InvalidArgumentError("a recurring window needs recurring.cron, e.g. \"0 20 * * FRI\"");
    }
    if (!schedule.recurring().has_duration()) {
      return absl::InvalidArgumentError("a recurring window needs recurring.duration, how long each window lasts");
    }
    window.when =
        reservations::Recurring{schedule.recurring().cron(), fromProtoDuration(schedule.recurring().duration()),
                                schedule.recurring().time_zone().empty() ? "UTC" : schedule.recurring().time_zone()};
    break;
  default:
    return absl::InvalidArgumentError(
        "the window needs `once` (a start and an end time) or `recurring` (a cron, a duration and a time zone)");
  }
  if (schedule.has_lead()) {
    requested.leadGiven = true;
    window.lead = fromProtoDuration(schedule.lead());
  }
  return requested;
}

std::string windowIdText(int64_t id) { return id == 0 ? "" : absl::StrCat(id); }

void toProto(const reservations::Window& window, const std::string& ns, const std::string& function, absl::Time now,
             v1::ReservationSchedule& out) {
  out.set_id(windowIdText(window.id));
  out.set_namespace_(ns);
  out.set_function(function);
  out.set_count(window.count);
  out.set_description(window.description);
  if (window.createTime != absl::Time()) *out.mutable_create_time() = toProtoTimestamp(window.createTime);
  *out.mutable_lead() = toProtoDuration(window.lead);
  out.set_lead_computed(window.leadComputed);
  out.set_warning(window.warning);
  if (const auto* once = std::get_if<reservations::OneOff>(&window.when)) {
    *out.mutable_once()->mutable_start_time() = toProtoTimestamp(once->start);
    *out.mutable_once()->mutable_end_time() = toProtoTimestamp(once->end);
    if (once->start > now) *out.mutable_next_start_time() = toProtoTimestamp(once->start);
    return;
  }
  const auto& recurring = std::get<reservations::Recurring>(window.when);
  v1::RecurringWindow& proto = *out.mutable_recurring();
  proto.set_cron(recurring.cron);
  *proto.mutable_duration() = toProtoDuration(recurring.duration);
  proto.set_time_zone(recurring.timeZone);
  if (auto recurrence = reservations::Recurrence::create(recurring.cron, recurring.timeZone); recurrence.ok()) {
    if (auto next = recurrence->nextStart(now)) *out.mutable_next_start_time() = toProtoTimestamp(*next);
  }
}

void toProto(const reservations::Shortfall& shortfall, v1::ReservationShortfall& out) {
  out.set_kind(shortfall.kind == reservations::Shortfall::Kind::kMemory ? v1::ReservationShortfall::MEMORY
                                                                        : v1::ReservationShortfall::WARM_UP);
  *out.mutable_time() = toProtoTimestamp(shortfall.time);
  out.set_memory_short_mib(shortfall.memoryShortMb);
  out.set_instances_not_warm(shortfall.instancesNotWarm);
  out.set_max_count(shortfall.maxCount);
  out.set_message(shortfall.message);
}

} // namespace surge::api
