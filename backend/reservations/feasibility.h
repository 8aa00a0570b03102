// Whether reservations can be honoured: the memory they hold at every moment of the planning
// horizon against the server's instance memory budget, and whether a window's instances can be
// warm by its start at the creation rate. Pure: the caller gathers every function's standing
// target, memory and windows (control/reservation_book.h).
#pragma once

#include "reservations/timeline.h"
#include "reservations/warm_up.h"
#include "reservations/window.h"

#include <absl/time/time.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace surge::reservations {

// One function's reservations.
struct FunctionReservations {
  std::string key;
  uint32_t memoryMb = 128;
  uint32_t standing = 0;
  std::vector<Window> windows;
};

struct Shortfall {
  enum class Kind { kMemory, kWarmUp };
  Kind kind = Kind::kMemory;
  // kMemory: the first moment over the budget; kWarmUp: the first start that is missed.
  absl::Time time;
  uint64_t memoryShortMb = 0;    // kMemory: at the worst moment
  uint32_t instancesNotWarm = 0; // kWarmUp: at the worst start
  // The largest count (of the window, or the standing target) without this shortfall.
  uint32_t maxCount = 0;
  std::string message;
};

// Checks changes to one function's reservations against every other function's, over
// [now, now + kHorizon).
class ReservationCheck {
public:
  // `others`: every function but the one that changes. memoryBudgetMb 0: no memory limit.
  ReservationCheck(const std::vector<FunctionReservations>& others, uint64_t memoryBudgetMb, absl::Time now);

  // The change from `before` to `after` (the same function) does not fit when at some moment
  // the reservations of all functions need more than the budget and the function's own need
  // more than before: lowering always goes through, even over a budget that shrank. `what`
  // opens the message ("a window of 40 instances").
  std::optional<Shortfall> memory(const FunctionReservations& before, const FunctionReservations& after,
                                  const std::string& what) const;

  // Whether every instance of `window` (of a function whose standing target is `standing`) is
  // ready at each of its starts, warming from its lead (or from now, for a start sooner than
  // that) beside every other window warming at the same time: `sameFunction` holds the
  // function's other windows.
  std::optional<Shortfall> warmUp(const Window& window, uint32_t standing, const std::vector<Window>& sameFunction,
                                  const WarmUpModel& model, const std::string& what) const;

  // The lead that has every instance of `window` ready at each start, beside the other windows
  // warming at the same time.
  absl::Duration defaultLead(const Window& window, uint32_t standing, const std::vector<Window>& sameFunction,
                             const WarmUpModel& model) const;

private:
  // An opening with the instances it must start (its count above its function's standing).
  struct Warming {
    absl::Time from, start;
    uint64_t instances;
  };
  // New instances of other openings warming during [from, to).
  uint64_t othersWarming(absl::Time from, absl::Time to, const std::vector<Warming>& sameFunction) const;
  std::vector<Warming> warmingsOf(const std::vector<Window>& windows, uint32_t standing) const;

  uint64_t memoryBudgetMb_;
  absl::Time now_, end_;
  // The other functions' reserved memory: (moment, MiB from then on), in time order.
  std::vector<std::pair<absl::Time, uint64_t>> othersMb_;
  std::vector<Warming> othersWarming_; // by start
};

} // namespace surge::reservations
