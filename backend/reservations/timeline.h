// The timeline of a function's reserved target: its windows' openings (each warm-up, start and
// end) and the steps of the target they make over a range, beside the standing target.
#pragma once

#include "reservations/window.h"

#include <absl/time/time.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace surge::reservations {

// One opening of a window: its instances warm from warmFrom, it is open in [start, end).
struct Opening {
  absl::Time warmFrom;
  absl::Time start;
  absl::Time end;
  uint32_t count = 0;
  int64_t windowId = 0;
};

// The openings of `window` that matter in [from, to): those warming or open at some moment of
// it, in start order, at most `limit`.
std::vector<Opening> openingsOf(const Window& window, absl::Time from, absl::Time to, size_t limit = 200000);
// The same over several windows, in start order.
std::vector<Opening> openingsOf(const std::vector<Window>& windows, absl::Time from, absl::Time to);

// The reserved target from `at` until the next step.
struct Step {
  absl::Time at;
  uint32_t target = 0;
  int64_t windowId = 0; // the window that sets it; 0: the standing target
  bool warming = false; // raised ahead of windowId's start
  bool operator==(const Step&) const = default;
};

// The target is the largest count among the open windows, or `standing` outside all of them,
// raised to the largest count among the windows warming up. Steps over [from, to): the first
// at `from`, then one at each change; at most `limit` (a longer plan is cut).
std::vector<Step> planSteps(uint32_t standing, const std::vector<Opening>& openings, absl::Time from, absl::Time to,
                            size_t limit = 1000000);

// What the windows ask of the scheduler at `at`: the largest open count (none open: nullopt)
// and the largest warming count.
struct WindowsAt {
  std::optional<uint32_t> open;
  int64_t openWindowId = 0;
  uint32_t warming = 0;
  int64_t warmingWindowId = 0;
};
WindowsAt windowsAt(const std::vector<Opening>& openings, absl::Time at);

} // namespace surge::reservations
