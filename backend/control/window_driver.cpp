// WindowDriver: the windows' targets at each change, pushed to the scheduler.
#include "control/window_driver.h"

#include "reservations/timeline.h"

#include <absl/strings/str_cat.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace surge::control {
namespace {

// How far ahead nextChange() looks, and the longest sleep: a wall clock that jumps is noticed
// within this.
constexpr absl::Duration kLookAhead = absl::Hours(24);
constexpr absl::Duration kLongestSleep = absl::Minutes(1);

} // namespace

WindowDriver::WindowDriver(const common::Clock& clock, ScheduledTargetSink sink)
    : clock_(clock), sink_(std::move(sink)) {}

WindowDriver::~WindowDriver() { stop(); }

void WindowDriver::setWindows(const std::string& key, std::vector<reservations::Window> windows) {
  common::MutexLock lock(mu_);
  if (windows.empty()) {
    windows_.erase(key);
  } else {
    windows_[key] = std::move(windows);
  }
  if (!windows_.contains(key) && !pushed_.contains(key)) return;
  changed_ = true;
  wake_.notifyAll();
}

std::vector<std::string> WindowDriver::applyAt(absl::Time now) {
  std::vector<std::string> notices;
  common::MutexLock lock(mu_);
  const bool first = std::exchange(first_, false);
  // Functions that lost their windows go back to their standing target once.
  for (auto it = pushed_.begin(); it != pushed_.end();) {
    if (windows_.contains(it->first)) {
      ++it;
      continue;
    }
    sink_(it->first, {});
    it = pushed_.erase(it);
  }
  for (const auto& [key, windows] : windows_) {
    const std::vector<reservations::Opening> openings =
        reservations::openingsOf(windows, now, now + absl::Nanoseconds(1));
    const reservations::WindowsAt at = reservations::windowsAt(openings, now);
    const scheduler::ScheduledTarget target{at.open, at.warming};
    if (first) {
      for (const reservations::Opening& opening : openings) {
        if (opening.start <= now) {
          notices.push_back(absl::StrCat("window ", opening.windowId, " of ", key, " has been open since ",
                                         reservations::formatTime(opening.start), ": its ", opening.count,
                                         " reserved instances are warmed now"));
        } else if (opening.warmFrom < now) {
          notices.push_back(absl::StrCat("the warm-up of window ", opening.windowId, " of ", key, " was due at ",
                                         reservations::formatTime(opening.warmFrom),
                                         " while surged was down: warming its ", opening.count,
                                         " instances now, for its start at ", reservations::formatTime(opening.start)));
        }
      }
    }
    auto pushed = pushed_.find(key);
    const scheduler::ScheduledTarget before = pushed == pushed_.end() ? scheduler::ScheduledTarget{} : pushed->second;
    if (target == before) continue;
    sink_(key, target);
    if (target.empty()) {
      pushed_.erase(key);
    } else {
      pushed_[key] = target;
    }
  }
  return notices;
}

absl::Time WindowDriver::nextChange(absl::Time now) const {
  common::MutexLock lock(mu_);
  absl::Time next = now + kLookAhead;
  for (const auto& [key, windows] : windows_) {
    for (const reservations::Opening& opening : reservations::openingsOf(windows, now, now + kLookAhead)) {
      for (absl::Time at : {opening.warmFrom, opening.start, opening.end}) {
        if (at > now) next = std::min(next, at);
      }
    }
  }
  return next;
}

void WindowDriver::start() {
  common::MutexLock lock(mu_);
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void WindowDriver::stop() {
  {
    common::MutexLock lock(mu_);
    stopping_ = true;
    wake_.notifyAll();
  }
  if (thread_.joinable()) thread_.join();
}

void WindowDriver::run() {
  for (;;) {
    const absl::Time now = clock_.now();
    for (const std::string& notice : applyAt(now)) spdlog::warn("reservations: {}", notice);
    const absl::Duration sleep = std::clamp(nextChange(now) - clock_.now(), absl::ZeroDuration(), kLongestSleep);
    common::MutexLock lock(mu_);
    wake_.waitFor(mu_, absl::ToChronoNanoseconds(sleep),
                  [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || changed_; });
    if (stopping_) return;
    changed_ = false;
  }
}

} // namespace surge::control
