// Text for ScalingService's reservation windows, dry-run verdicts and reservation plans.
#include "cli/reservation_render.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <date/tz.h>

#include "api/proto_time.h"
#include "cli/output.h"
#include "cli/reservation_time.h"

namespace surge::cli {
namespace {

namespace v1 = surge::v1;

// A timestamp the server left unset is "-", as formatTimestamp() shows it.
std::string timeCell(const google::protobuf::Timestamp& timestamp, const date::time_zone* zone) {
  if (timestamp.seconds() == 0 && timestamp.nanos() == 0) return "-";
  return formatTimeIn(api::fromProtoTimestamp(timestamp), zone);
}

std::string_view shortfallKindName(v1::ReservationShortfall::Kind kind) {
  switch (kind) {
  case v1::ReservationShortfall::MEMORY: return "memory";
  case v1::ReservationShortfall::WARM_UP: return "warm-up";
  default: return "shortfall";
  }
}

std::string shortfallNumbers(const v1::ReservationShortfall& shortfall) {
  switch (shortfall.kind()) {
  case v1::ReservationShortfall::MEMORY:
    return absl::StrCat("needs ", shortfall.memory_short_mib(), " MiB more than the memory budget; at most ",
                        shortfall.max_count(), " instances fit");
  case v1::ReservationShortfall::WARM_UP:
    return absl::StrCat(shortfall.instances_not_warm(), " instances would not be ready by the start; at most ",
                        shortfall.max_count(), " can be");
  default: return absl::StrCat("at most ", shortfall.max_count(), " instances");
  }
}

std::string timeZoneName(const date::time_zone* zone) { return zone == nullptr ? "UTC" : std::string(zone->name()); }

// One step of a plan and the time it lasts until.
struct Span {
  absl::Time start;
  absl::Time end;
  const v1::ReservationStep* step;
};

} // namespace

std::string windowText(const v1::ReservationSchedule& schedule, const date::time_zone* zone) {
  switch (schedule.window_case()) {
  case v1::ReservationSchedule::kOnce:
    return absl::StrCat(timeCell(schedule.once().start_time(), zone), " → ",
                        timeCell(schedule.once().end_time(), zone));
  case v1::ReservationSchedule::kRecurring: {
    const v1::RecurringWindow& recurring = schedule.recurring();
    return absl::StrCat("cron ", withoutControlCharacters(recurring.cron()), " for ",
                        absl::FormatDuration(api::fromProtoDuration(recurring.duration())), " (",
                        recurring.time_zone().empty() ? "UTC" : withoutControlCharacters(recurring.time_zone()), ")");
  }
  default: return "-";
  }
}

std::string leadText(const v1::ReservationSchedule& schedule) {
  if (!schedule.has_lead()) return "-";
  std::string text = absl::FormatDuration(api::fromProtoDuration(schedule.lead()));
  if (schedule.lead_computed()) text += " (computed)";
  return text;
}

std::string shortfallText(const v1::ReservationShortfall& shortfall, const date::time_zone* zone) {
  std::string text(shortfallKindName(shortfall.kind()));
  if (shortfall.has_time()) absl::StrAppend(&text, " at ", timeCell(shortfall.time(), zone));
  absl::StrAppend(&text, ": ",
                  shortfall.message().empty() ? shortfallNumbers(shortfall)
                                              : withoutControlCharacters(shortfall.message()));
  return text;
}

void printSchedule(std::ostream& out, const v1::ReservationSchedule& schedule, const date::time_zone* zone) {
  KeyValueBlock block;
  if (!schedule.id().empty()) block.add("id", withoutControlCharacters(schedule.id()));
  if (!schedule.function().empty()) block.add("function", qualifiedName(schedule.namespace_(), schedule.function()));
  block.add("count", absl::StrCat(schedule.count()));
  block.add("window", windowText(schedule, zone));
  block.add("lead", leadText(schedule));
  block.add("next start", timeCell(schedule.next_start_time(), zone));
  block.add("description", tableCell(schedule.description()));
  if (schedule.has_create_time()) block.add("created", timeCell(schedule.create_time(), zone));
  // The shortfalls' messages make up the warning: either is enough.
  if (!schedule.warning().empty() && schedule.shortfalls().empty()) {
    block.add("warning", withoutControlCharacters(schedule.warning()));
  }
  if (!schedule.shortfalls().empty()) block.add("shortfalls", "");
  block.print(out);
  for (const v1::ReservationShortfall& shortfall : schedule.shortfalls()) {
    out << "  " << shortfallText(shortfall, zone) << '\n';
  }
}

DryRunVerdict dryRunVerdict(const v1::ReservationSchedule& answer, bool force) {
  if (answer.shortfalls().empty() && answer.warning().empty()) return DryRunVerdict::kAccepted;
  return force ? DryRunVerdict::kAcceptedWithWarning : DryRunVerdict::kRefused;
}

void printDryRun(std::ostream& out, const v1::ReservationSchedule& answer, bool force, const date::time_zone* zone) {
  switch (dryRunVerdict(answer, force)) {
  case DryRunVerdict::kAccepted: out << "would be accepted\n"; break;
  case DryRunVerdict::kAcceptedWithWarning: out << "would be stored with a warning (--force)\n"; break;
  case DryRunVerdict::kRefused: out << "would be refused\n"; break;
  }
  printSchedule(out, answer, zone);
}

std::vector<PlanHour> planByHour(const v1::ReservationPlan& plan, absl::Time from, int hours) {
  std::vector<Span> spans;
  for (const v1::ReservationStep& step : plan.steps()) {
    const absl::Time start = api::fromProtoTimestamp(step.start_time());
    if (!spans.empty()) spans.back().end = start;
    spans.push_back(Span{start, absl::InfiniteFuture(), &step});
  }
  std::vector<PlanHour> result;
  for (int i = 0; i < hours; ++i) {
    const absl::Time start = from + absl::Hours(i);
    const absl::Time end = start + absl::Hours(1);
    // The setters of the largest target, in the order they first come, each with whether all its
    // steps at that target in this hour are warm-ups.
    int64_t best = -1;
    std::vector<std::pair<std::string, bool>> setters;
    for (const Span& span : spans) {
      if (span.start >= end || span.end <= start) continue;
      const int64_t target = span.step->reserved_target();
      if (target < best) continue;
      if (target > best) {
        best = target;
        setters.clear();
      }
      const std::string id = span.step->schedule_id().empty() ? "standing" : span.step->schedule_id();
      const bool warming = span.step->warming() && !span.step->schedule_id().empty();
      auto known = std::find_if(setters.begin(), setters.end(), [&](const auto& setter) { return setter.first == id; });
      if (known == setters.end()) {
        setters.emplace_back(id, warming);
      } else {
        known->second = known->second && warming;
      }
    }
    PlanHour hour{start, plan.standing_target(), "standing"};
    if (best >= 0) {
      hour.target = static_cast<uint32_t>(best);
      hour.setBy = absl::StrJoin(setters, ", ", [](std::string* text, const std::pair<std::string, bool>& setter) {
        absl::StrAppend(text, withoutControlCharacters(setter.first), setter.second ? " (warming)" : "");
      });
    }
    result.push_back(std::move(hour));
  }
  return result;
}

void printScheduleList(std::ostream& out, const v1::ListReservationSchedulesResponse& list,
                       const v1::ReservationPlan& plan, absl::Time from, int hours, const date::time_zone* zone) {
  if (list.schedules().empty()) {
    out << "no reservation windows\n";
  } else {
    Table windows({"ID", "COUNT", "WINDOW", "LEAD", "NEXT START", "DESCRIPTION"});
    for (const v1::ReservationSchedule& schedule : list.schedules()) {
      windows.addRow({tableCell(schedule.id()), absl::StrCat(schedule.count()), windowText(schedule, zone),
                      leadText(schedule), timeCell(schedule.next_start_time(), zone),
                      tableCell(schedule.description())});
      if (!schedule.warning().empty()) windows.addNote("warning: " + withoutControlCharacters(schedule.warning()));
    }
    windows.print(out);
  }
  out << "\nreserved target by hour (" << timeZoneName(zone) << "; standing target " << plan.standing_target()
      << "):\n";
  Table byHour({"HOUR", "TARGET", "SET BY"});
  for (const PlanHour& hour : planByHour(plan, from, hours)) {
    byHour.addRow({formatTimeIn(hour.start, zone), absl::StrCat(hour.target), hour.setBy});
  }
  byHour.print(out);
  if (plan.truncated()) out << "(the server cut the plan at its step limit; the later hours may be incomplete)\n";
}

} // namespace surge::cli
