// The real wall clock.
#include "common/clock.h"

#include <absl/time/clock.h>

namespace surge::common {

absl::Time SystemClock::now() const { return absl::Now(); }

const Clock& SystemClock::instance() {
  static const SystemClock clock;
  return clock;
}

} // namespace surge::common
