// ReservationControl: reservation windows, made once for every caller. A window is validated,
// given its lead, checked for memory and warm-up (ReservationAdmission), stored, handed to the
// WindowDriver and audited; the plan and the status's next change come from the same windows.
#pragma once

#include "common/function_ref.h"
#include "control/reservation_admission.h"
#include "control/window_driver.h"
#include "reservations/feasibility.h"
#include "reservations/timeline.h"
#include "reservations/window.h"

#include <absl/status/statusor.h>

#include <optional>
#include <vector>

namespace surge::store {
class FunctionStore;
class ReservationWindows;
} // namespace surge::store
namespace surge::auth {
class AuditLog;
struct Principal;
} // namespace surge::auth
namespace surge::scheduler {
class Scheduler;
}

namespace surge::control {

// Thread-safe. Every call reads SQLite and some wait for the scheduler's loop: call them on
// workers, never on a gRPC reactor or the scheduler's loop.
class ReservationControl {
public:
  ReservationControl(store::FunctionStore& functions, store::ReservationWindows& windows,
                     ReservationAdmission& admission, WindowDriver& driver, scheduler::Scheduler& scheduler,
                     auth::AuditLog& audit, const common::Clock& clock);

  // Hands the stored windows to the driver and checks each against the budget this server runs
  // with (a window that no longer fits is logged and keeps a warning saying why). Called once,
  // before serving and before the driver starts.
  absl::Status start();

  struct AddOptions {
    bool leadGiven = false; // use window.lead as it is; else compute it
    bool force = false;
    bool validateOnly = false;
  };
  struct Added {
    reservations::Window window; // with its id once stored
    std::vector<reservations::Shortfall> shortfalls;
  };
  // Adds `window` to the function. A window that cannot be honoured is refused with
  // RESOURCE_EXHAUSTED saying its shortfalls, unless `force` stores it with them as its warning;
  // `validateOnly` stores nothing and answers the verdict.
  absl::StatusOr<Added> add(const auth::Principal& who, const common::FunctionRef& ref, reservations::Window window,
                            AddOptions options);
  absl::StatusOr<std::vector<reservations::Window>> list(const common::FunctionRef& ref) const;
  absl::Status remove(const auth::Principal& who, const common::FunctionRef& ref, int64_t id);

  struct Plan {
    uint32_t standing = 0;
    std::vector<reservations::Step> steps;
    bool truncated = false;
  };
  // The function's target over [from, to), at most `limit` steps.
  absl::StatusOr<Plan> plan(const common::FunctionRef& ref, absl::Time from, absl::Time to, size_t limit) const;

  // The function was deleted (its windows with it): the driver forgets them.
  void deleted(const common::FunctionRef& ref);

private:
  // The function's measured mean start, or its runtime's typical one.
  absl::Duration startTime(const std::string& key, common::Runtime runtime) const;
  absl::Status refreshDriver(int64_t functionId, const std::string& key);
  absl::StatusOr<std::vector<reservations::Window>> windowsOf(int64_t functionId) const;

  store::FunctionStore& functions_;
  store::ReservationWindows& windows_;
  ReservationAdmission& admission_;
  WindowDriver& driver_;
  scheduler::Scheduler& scheduler_;
  auth::AuditLog& audit_;
  const common::Clock& clock_;
};

} // namespace surge::control
