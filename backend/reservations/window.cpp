// Window validation: every message says what to change.
#include "reservations/window.h"

#include "reservations/recurrence.h"

#include <absl/strings/str_cat.h>

namespace surge::reservations {
namespace {

absl::Status validateRecurring(const Recurring& recurring, absl::Time now) {
  auto recurrence = Recurrence::create(recurring.cron, recurring.timeZone);
  if (!recurrence.ok()) return recurrence.status();
  if (recurring.duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("a recurring window needs a duration greater than zero");
  }
  auto first = recurrence->nextStart(now);
  if (!first || *first - now > absl::Hours(24 * 366)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cron \"", recurring.cron, "\" starts no window in the next year; check its day and month"));
  }
  // Each window must close before the next opens, or "a window" would have no end. Checked over
  // the planning horizon, where DST may bring two starts closer.
  const std::vector<absl::Time> starts = recurrence->startsBetween(now, now + kHorizon, 200001);
  for (size_t i = 1; i < starts.size(); ++i) {
    const absl::Duration gap = starts[i] - starts[i - 1];
    if (recurring.duration >= gap) {
      return absl::InvalidArgumentError(absl::StrCat("duration ", absl::FormatDuration(recurring.duration),
                                                     " is not shorter than the ", absl::FormatDuration(gap),
                                                     " between the starts at ", formatTime(starts[i - 1]), " and ",
                                                     formatTime(starts[i]), "; shorten it or start less often"));
    }
  }
  return absl::OkStatus();
}

} // namespace

std::string formatTime(absl::Time time) { return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", time, absl::UTCTimeZone()); }

absl::Status validateWindow(const Window& window, uint32_t maxInstances, absl::Time now) {
  if (window.count == 0) {
    return absl::InvalidArgumentError("count must be at least 1; to stop reserving, remove the window");
  }
  if (window.count > maxInstances) {
    return absl::InvalidArgumentError(absl::StrCat("count ", window.count, " is above the function's max_instances (",
                                                   maxInstances, "); lower it or raise max_instances first"));
  }
  if (window.lead < absl::ZeroDuration() || window.lead > kMaxLead) {
    return absl::InvalidArgumentError(
        absl::StrCat("lead ", absl::FormatDuration(window.lead), " is out of range: allowed 0 to 24h"));
  }
  if (window.description.size() > kMaxDescriptionBytes) {
    return absl::InvalidArgumentError(absl::StrCat("description is ", window.description.size(), " bytes; at most ",
                                                   kMaxDescriptionBytes, " are allowed"));
  }
  if (const auto* once = std::get_if<OneOff>(&window.when)) {
    if (once->end <= once->start) {
      return absl::InvalidArgumentError(absl::StrCat("the window ends (", formatTime(once->end), ") before it starts (",
                                                     formatTime(once->start), ")"));
    }
    if (once->end <= now) {
      return absl::InvalidArgumentError(
          absl::StrCat("the window ended at ", formatTime(once->end), ", in the past; give a future end time"));
    }
    return absl::OkStatus();
  }
  return validateRecurring(std::get<Recurring>(window.when), now);
}

} // namespace surge::reservations
