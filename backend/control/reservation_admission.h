// ReservationAdmission: whether reservations can be honoured, asked of every change that adds
// reserved memory or instances to warm (a window, a standing target, more memory per
// instance). It reads every function's reservations from the store and runs the pure checks of
// reservations/feasibility.h. Changes go one at a time under its mutex, from the check until
// the change is stored, so that two changes that each fit alone cannot both be accepted.
#pragma once

#include "common/mutex.h"
#include "reservations/feasibility.h"
#include "reservations/warm_up.h"

#include <absl/status/statusor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace surge::store {
class FunctionStore;
class ReservationWindows;
struct FunctionConfig;
struct FunctionRecord;
} // namespace surge::store

namespace surge::control {

struct ReservationLimits {
  uint64_t memoryBudgetMb = 0; // 0: no limit
  // The scheduler's start limits; startTime is each function's own.
  reservations::WarmUpModel warmUp;
};

// Thread-safe through mutex(); every call reads SQLite: call it on workers.
class ReservationAdmission {
public:
  ReservationAdmission(store::FunctionStore& functions, store::ReservationWindows& windows, ReservationLimits limits);

  common::Mutex& mutex() ABSL_LOCK_RETURNED(mu_) { return mu_; }
  const ReservationLimits& limits() const { return limits_; }

  // The reservations of every function that reserves anything (a standing target or a
  // window), keyed "namespace/name", and the one of `record` (which may reserve nothing).
  struct Reservations {
    reservations::FunctionReservations own;
    std::vector<reservations::FunctionReservations> others;
  };
  absl::StatusOr<Reservations> read(const store::FunctionRecord& record) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // OK when changing `current`'s config to `after` keeps every reservation within the memory
  // budget at every moment of the horizon, or reserves no more than before; RESOURCE_EXHAUSTED
  // with the shortfall otherwise. An invalid `after` is OK here: the store refuses it with its
  // own message.
  absl::Status checkConfig(const store::FunctionRecord& current, const store::FunctionConfig& after,
                           absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

private:
  store::FunctionStore& functions_;
  store::ReservationWindows& windows_;
  const ReservationLimits limits_;
  common::Mutex mu_;
};

// A function's reservations as the checks see them: its memory and standing target from
// `config` (defaults resolved; with a tracking policy its max), and its windows.
reservations::FunctionReservations reservationsOf(const std::string& key, const store::FunctionConfig& config,
                                                  std::vector<reservations::Window> windows);

} // namespace surge::control
