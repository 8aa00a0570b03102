// The real wall clock.
#include "common/clock.h"

#include <absl/time/clock.h>

namespace surge::common {

absl::Time SystemClock::now() const { return absl::Now(); }

std::chrono::steady_clock::time_point SystemClock::steadyNow() const { return std::chrono::steady_clock::now(); }

const Clock& SystemClock::instance() {
  static const SystemClock clock;
  return clock;
}

} // namespace surge::common
