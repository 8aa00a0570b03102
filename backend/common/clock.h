// The Clock seam: production code reads time through it so tests can drive time by hand.
#pragma once

#include <absl/time/time.h>

#include <chrono>

namespace surge::common {

// Thread-safe: implementations may be called from any thread.
class Clock {
public:
  virtual ~Clock() = default;
  // Wall-clock time, used for timestamps that users see.
  virtual absl::Time now() const = 0;
  // Monotonic time, for timeouts and deadlines: it never jumps when the wall clock is set.
  virtual std::chrono::steady_clock::time_point steadyNow() const = 0;
};

// The real wall clock.
class SystemClock final : public Clock {
public:
  absl::Time now() const override;
  std::chrono::steady_clock::time_point steadyNow() const override;
  // A process-wide instance, for wiring in main() and integration tests.
  static const Clock& instance();
};

} // namespace surge::common
