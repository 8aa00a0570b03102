// The memory check walks the step functions of the reserved memory (other functions, the
// changed one before and after) over the horizon; the warm-up check adds up the instances of
// the openings warming together.
#include "reservations/feasibility.h"

#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>

#include <algorithm>
#include <limits>

namespace surge::reservations {
namespace {

using MemorySteps = std::vector<std::pair<absl::Time, uint64_t>>;

MemorySteps memorySteps(const FunctionReservations& function, absl::Time from, absl::Time to) {
  MemorySteps steps;
  for (const Step& step : planSteps(function.standing, openingsOf(function.windows, from, to), from, to)) {
    steps.emplace_back(step.at, uint64_t{step.target} * function.memoryMb);
  }
  return steps;
}

// The value of a step function at `at` (0 before its first step), read by a cursor that only
// moves forward.
class StepCursor {
public:
  explicit StepCursor(const MemorySteps& steps) : steps_(steps) {}
  uint64_t at(absl::Time time) {
    while (next_ < steps_.size() && steps_[next_].first <= time) value_ = steps_[next_++].second;
    return value_;
  }

private:
  const MemorySteps& steps_;
  size_t next_ = 0;
  uint64_t value_ = 0;
};

std::string seconds(absl::Duration d) { return absl::StrFormat("%.1f s", absl::ToDoubleSeconds(d)); }

} // namespace

ReservationCheck::ReservationCheck(const std::vector<FunctionReservations>& others, uint64_t memoryBudgetMb,
                                   absl::Time now)
    : memoryBudgetMb_(memoryBudgetMb), now_(now), end_(now + kHorizon) {
  // Each function's steps become changes of the sum.
  std::vector<std::pair<absl::Time, int64_t>> changes;
  for (const FunctionReservations& function : others) {
    int64_t last = 0;
    for (const auto& [at, mb] : memorySteps(function, now_, end_)) {
      changes.emplace_back(at, static_cast<int64_t>(mb) - last);
      last = static_cast<int64_t>(mb);
    }
    for (const Warming& warming : warmingsOf(function.windows, function.standing)) othersWarming_.push_back(warming);
  }
  std::sort(changes.begin(), changes.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  int64_t sum = 0;
  for (const auto& [at, delta] : changes) {
    sum += delta;
    if (!othersMb_.empty() && othersMb_.back().first == at) {
      othersMb_.back().second = static_cast<uint64_t>(sum);
    } else {
      othersMb_.emplace_back(at, static_cast<uint64_t>(sum));
    }
  }
  std::sort(othersWarming_.begin(), othersWarming_.end(),
            [](const Warming& a, const Warming& b) { return a.start < b.start; });
}

std::optional<Shortfall> ReservationCheck::memory(const FunctionReservations& before, const FunctionReservations& after,
                                                  const std::string& what) const {
  if (memoryBudgetMb_ == 0) return std::nullopt;
  const MemorySteps beforeSteps = memorySteps(before, now_, end_);
  const MemorySteps afterSteps = memorySteps(after, now_, end_);
  std::vector<absl::Time> moments;
  for (const MemorySteps* steps : {&othersMb_, &beforeSteps, &afterSteps}) {
    for (const auto& [at, mb] : *steps) moments.push_back(at);
  }
  std::sort(moments.begin(), moments.end());
  moments.erase(std::unique(moments.begin(), moments.end()), moments.end());

  StepCursor others(othersMb_), was(beforeSteps), will(afterSteps);
  std::optional<Shortfall> shortfall;
  uint64_t worstOthers = 0, worstOwn = 0;
  for (absl::Time at : moments) {
    const uint64_t othersMb = others.at(at), ownBefore = was.at(at), own = will.at(at);
    if (othersMb + own <= memoryBudgetMb_ || own <= ownBefore) continue;
    const uint64_t room = memoryBudgetMb_ > othersMb ? memoryBudgetMb_ - othersMb : 0;
    const auto fitting = static_cast<uint32_t>(
        std::min<uint64_t>(room / std::max(after.memoryMb, 1u), std::numeric_limits<uint32_t>::max()));
    const uint64_t shortMb = othersMb + own - memoryBudgetMb_;
    if (!shortfall) {
      shortfall = Shortfall{Shortfall::Kind::kMemory, at, shortMb, 0, fitting, ""};
    } else {
      shortfall->maxCount = std::min(shortfall->maxCount, fitting);
    }
    if (shortMb >= shortfall->memoryShortMb) {
      shortfall->memoryShortMb = shortMb;
      worstOthers = othersMb;
      worstOwn = own;
    }
  }
  if (!shortfall) return std::nullopt;
  shortfall->message = absl::StrCat(
      what, " does not fit the instance memory budget: from ", formatTime(shortfall->time), " the reservations need ",
      worstOthers + worstOwn, " MiB at worst (", after.key, " ", worstOwn / std::max(after.memoryMb, 1u), " × ",
      after.memoryMb, " MiB, other functions ", worstOthers, " MiB) but the budget is ", memoryBudgetMb_,
      " MiB (--memory-budget-mib): ", shortfall->memoryShortMb, " MiB short. ",
      shortfall->maxCount > 0 ? absl::StrCat("Lower the count to ", shortfall->maxCount, " or less, move")
                              : std::string("Nothing of this size fits beside the other reservations then: move"),
      " or remove windows, or raise --memory-budget-mib");
  return shortfall;
}

std::vector<ReservationCheck::Warming> ReservationCheck::warmingsOf(const std::vector<Window>& windows,
                                                                    uint32_t standing) const {
  std::vector<Warming> warmings;
  for (const Opening& opening : openingsOf(windows, now_, end_)) {
    if (opening.count > standing && opening.warmFrom < opening.start) {
      warmings.push_back({opening.warmFrom, opening.start, opening.count - standing});
    }
  }
  return warmings;
}

uint64_t ReservationCheck::othersWarming(absl::Time from, absl::Time to,
                                         const std::vector<Warming>& sameFunction) const {
  uint64_t instances = 0;
  auto overlapping = [&](const Warming& w) { return w.from < to && w.start > from; };
  // By start: none starting at or before `from` overlaps, nor any warming from a lead (at most
  // kMaxLead) after `to`.
  auto it = std::upper_bound(othersWarming_.begin(), othersWarming_.end(), from,
                             [](absl::Time at, const Warming& w) { return at < w.start; });
  for (; it != othersWarming_.end() && it->start < to + kMaxLead; ++it) {
    if (overlapping(*it)) instances += it->instances;
  }
  for (const Warming& w : sameFunction) {
    if (overlapping(w)) instances += w.instances;
  }
  return instances;
}

std::optional<Shortfall> ReservationCheck::warmUp(const Window& window, uint32_t standing,
                                                  const std::vector<Window>& sameFunction, const WarmUpModel& model,
                                                  const std::string& what) const {
  if (window.count <= standing) return std::nullopt;
  const uint64_t own = window.count - standing;
  const std::vector<Warming> same = warmingsOf(sameFunction, standing);
  std::optional<Shortfall> shortfall;
  uint64_t worstOthers = 0;
  absl::Duration worstAvailable, worstNeeded;
  bool startsTooSoon = false;
  for (const Opening& opening : openingsOf(window, now_, end_)) {
    if (opening.start <= now_) continue; // open already: warming is over
    const absl::Time from = std::max(opening.warmFrom, now_);
    const absl::Duration available = opening.start - from;
    const uint64_t others = othersWarming(from, opening.start, same);
    const absl::Duration needed = model.warmTime(own + others);
    if (needed <= available) continue;
    const uint64_t ready = model.warmable(available);
    const auto notWarm = static_cast<uint32_t>(std::min(own, own + others - std::min(ready, own + others)));
    const auto fitting =
        static_cast<uint32_t>(standing + (ready > others ? std::min<uint64_t>(ready - others, own) : 0));
    if (!shortfall) {
      shortfall = Shortfall{Shortfall::Kind::kWarmUp, opening.start, 0, 0, fitting, ""};
    } else {
      shortfall->maxCount = std::min(shortfall->maxCount, fitting);
    }
    if (notWarm > shortfall->instancesNotWarm) {
      shortfall->instancesNotWarm = notWarm;
      worstOthers = others;
      worstAvailable = available;
      worstNeeded = needed;
      startsTooSoon = opening.warmFrom < now_;
    }
  }
  if (!shortfall) return std::nullopt;
  const std::string beside =
      worstOthers > 0 ? absl::StrCat(" beside ", worstOthers, " of other windows warming then") : "";
  const std::string way =
      startsTooSoon ? absl::StrCat("start it at least ", seconds(model.leadFor(own + worstOthers)), " from now")
                    : absl::StrCat("give it a lead of at least ", seconds(model.leadFor(own + worstOthers)));
  shortfall->message = absl::StrCat(
      what, " cannot be warm by its start at ", formatTime(shortfall->time), ": ", own, " new instances", beside,
      " take ", seconds(worstNeeded), " to start at ", model.creationPerMinute, " per minute (", model.concurrentStarts,
      " at once, about ", absl::FormatDuration(model.startTime), " each), but only ", seconds(worstAvailable),
      startsTooSoon ? " remain before it" : " of lead warm it", "; ", shortfall->instancesNotWarm,
      " would not be ready. ", way, ", or lower the count to ", shortfall->maxCount);
  return shortfall;
}

absl::Duration ReservationCheck::defaultLead(const Window& window, uint32_t standing,
                                             const std::vector<Window>& sameFunction, const WarmUpModel& model) const {
  if (window.count <= standing) return absl::ZeroDuration();
  const uint64_t own = window.count - standing;
  Window starts = window;
  starts.lead = absl::ZeroDuration();
  const std::vector<Opening> openings = openingsOf(starts, now_, end_);
  const std::vector<Warming> same = warmingsOf(sameFunction, standing);
  absl::Duration lead = model.leadFor(own);
  // A longer lead overlaps more warm-ups of other windows: grow it until it covers them, a few
  // rounds at most (each round can only add what the previous lead overlapped).
  for (int round = 0; round < 4; ++round) {
    uint64_t most = 0;
    for (const Opening& opening : openings)
      most = std::max(most, othersWarming(opening.start - lead, opening.start, same));
    const absl::Duration longer = model.leadFor(own + most);
    if (longer <= lead) break;
    lead = longer;
  }
  return lead;
}

} // namespace surge::reservations
