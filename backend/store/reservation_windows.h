// The reservation windows table: each function's windows, deleted with the function.
#pragma once

#include "reservations/window.h"

#include <absl/status/statusor.h>

#include <cstdint>
#include <vector>

namespace surge::store {

class Database;

// A stored window and the function it belongs to.
struct StoredWindow {
  int64_t functionId = 0;
  reservations::Window window; // functionKey is "namespace/name"
};

// Thread-safe (each call is one statement or transaction on the shared database).
class ReservationWindows {
public:
  explicit ReservationWindows(Database& db) : db_(db) {}

  // Stores `window` for the function and returns it with its new id.
  absl::StatusOr<reservations::Window> add(int64_t functionId, reservations::Window window);
  // Every stored window, by id; those of one function with `functionId` != 0.
  absl::StatusOr<std::vector<StoredWindow>> list(int64_t functionId = 0) const;
  // NOT_FOUND naming the id when the function has no such window.
  absl::Status remove(int64_t functionId, int64_t id);
  // Replaces the warning of a window (a restart's check found it broken, or no longer).
  absl::Status setWarning(int64_t id, const std::string& warning);

private:
  Database& db_;
};

} // namespace surge::store
