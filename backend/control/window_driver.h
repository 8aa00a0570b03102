// WindowDriver: applies the reservation windows as time passes. At each warm-up, start and end
// it computes what every function's windows ask for now (reservations::windowsAt) and pushes
// each change to the scheduler. Its own thread sleeps until the next change, waking at least
// once a minute so that a wall clock that was set does not leave it asleep.
#pragma once

#include "common/clock.h"
#include "common/mutex.h"
#include "reservations/window.h"
#include "scheduler/scheduler_types.h"

#include <absl/time/time.h>

#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace surge::control {

// Receives a function's new target (scheduler::Scheduler::setScheduledTarget, through the
// directory's definition). Called with the driver's lock held, in the order of the changes.
using ScheduledTargetSink = std::function<void(const std::string& key, scheduler::ScheduledTarget target)>;

// Thread-safe.
class WindowDriver {
public:
  WindowDriver(const common::Clock& clock, ScheduledTargetSink sink);
  ~WindowDriver(); // stops the thread

  // The function's windows from now on (none: its target goes back to the standing one). Wakes
  // the thread to apply them.
  void setWindows(const std::string& key, std::vector<reservations::Window> windows);
  // Pushes every function's target at `now` that differs from the one pushed last. The first
  // call (at start-up) also returns what it found under way: windows open since before the
  // server started, honoured now, and warm-ups that began while it was down, started now.
  std::vector<std::string> applyAt(absl::Time now);
  // The next warm-up, start or end after `now` over every function (at most a day ahead).
  absl::Time nextChange(absl::Time now) const;

  // Runs applyAt() on a thread of its own until stop() or destruction.
  void start();
  void stop();

private:
  void run();

  const common::Clock& clock_;
  ScheduledTargetSink sink_;
  mutable common::Mutex mu_;
  common::CondVar wake_;
  std::map<std::string, std::vector<reservations::Window>> windows_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, scheduler::ScheduledTarget> pushed_ ABSL_GUARDED_BY(mu_);
  bool first_ ABSL_GUARDED_BY(mu_) = true;
  bool changed_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

} // namespace surge::control
