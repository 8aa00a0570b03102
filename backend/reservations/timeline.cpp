// Openings from one-off and recurring windows, and the target's steps by a sweep over them.
#include "reservations/timeline.h"

#include "reservations/recurrence.h"

#include <algorithm>
#include <set>
#include <utility>

namespace surge::reservations {

std::vector<Opening> openingsOf(const Window& window, absl::Time from, absl::Time to, size_t limit) {
  std::vector<Opening> openings;
  auto add = [&](absl::Time start, absl::Time end) {
    if (end <= from || start - window.lead >= to) return;
    openings.push_back({start - window.lead, start, end, window.count, window.id});
  };
  if (const auto* once = std::get_if<OneOff>(&window.when)) {
    add(once->start, once->end);
    return openings;
  }
  const auto& recurring = std::get<Recurring>(window.when);
  auto recurrence = Recurrence::create(recurring.cron, recurring.timeZone);
  if (!recurrence.ok()) return openings; // validated when stored; a zone gone from tzdata opens nothing
  // A start up to one duration before `from` is still open; one up to the lead after `to` warms.
  for (absl::Time start : recurrence->startsBetween(from - recurring.duration, to + window.lead, limit)) {
    add(start, start + recurring.duration);
  }
  return openings;
}

std::vector<Opening> openingsOf(const std::vector<Window>& windows, absl::Time from, absl::Time to) {
  std::vector<Opening> all;
  for (const Window& window : windows) {
    std::vector<Opening> some = openingsOf(window, from, to);
    all.insert(all.end(), some.begin(), some.end());
  }
  std::sort(all.begin(), all.end(), [](const Opening& a, const Opening& b) { return a.start < b.start; });
  return all;
}

namespace {

// The windows open and warming at a moment of the sweep, largest count last.
struct SweepState {
  std::multiset<std::pair<uint32_t, int64_t>> open, warming;

  Step stepAt(absl::Time at, uint32_t standing) const {
    Step step{at, standing, 0, false};
    if (!open.empty()) step = {at, open.rbegin()->first, open.rbegin()->second, false};
    if (!warming.empty() && warming.rbegin()->first > step.target) {
      step = {at, warming.rbegin()->first, warming.rbegin()->second, true};
    }
    return step;
  }
};

enum class Change { kWarm, kOpen, kClose };
struct Event {
  absl::Time at;
  Change change;
  const Opening* opening;
};

std::vector<Event> eventsOf(const std::vector<Opening>& openings) {
  std::vector<Event> events;
  events.reserve(openings.size() * 3);
  for (const Opening& opening : openings) {
    if (opening.warmFrom < opening.start) events.push_back({opening.warmFrom, Change::kWarm, &opening});
    events.push_back({opening.start, Change::kOpen, &opening});
    events.push_back({opening.end, Change::kClose, &opening});
  }
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.at < b.at; });
  return events;
}

void apply(SweepState& state, const Event& event) {
  const std::pair<uint32_t, int64_t> entry{event.opening->count, event.opening->windowId};
  auto erase = [&](std::multiset<std::pair<uint32_t, int64_t>>& set) {
    if (auto it = set.find(entry); it != set.end()) set.erase(it);
  };
  switch (event.change) {
  case Change::kWarm: state.warming.insert(entry); break;
  case Change::kOpen:
    if (event.opening->warmFrom < event.opening->start) erase(state.warming);
    state.open.insert(entry);
    break;
  case Change::kClose: erase(state.open); break;
  }
}

} // namespace

std::vector<Step> planSteps(uint32_t standing, const std::vector<Opening>& openings, absl::Time from, absl::Time to,
                            size_t limit) {
  const std::vector<Event> events = eventsOf(openings);
  SweepState state;
  size_t next = 0;
  for (; next < events.size() && events[next].at <= from; ++next) apply(state, events[next]);
  std::vector<Step> steps{state.stepAt(from, standing)};
  while (next < events.size() && events[next].at < to && steps.size() < limit) {
    const absl::Time at = events[next].at;
    for (; next < events.size() && events[next].at == at; ++next) apply(state, events[next]);
    Step step = state.stepAt(at, standing);
    const Step& last = steps.back();
    if (step.target != last.target || step.windowId != last.windowId || step.warming != last.warming) {
      steps.push_back(step);
    }
  }
  return steps;
}

WindowsAt windowsAt(const std::vector<Opening>& openings, absl::Time at) {
  WindowsAt now;
  for (const Opening& opening : openings) {
    if (opening.start <= at && at < opening.end) {
      if (!now.open || opening.count > *now.open) {
        now.open = opening.count;
        now.openWindowId = opening.windowId;
      }
    } else if (opening.warmFrom <= at && at < opening.start && opening.count > now.warming) {
      now.warming = opening.count;
      now.warmingWindowId = opening.windowId;
    }
  }
  return now;
}

} // namespace surge::reservations
