// How long warming a number of instances takes, from the scheduler's start limits: creation
// tokens (a burst, then a rate per minute), starts at once, and how long one start takes.
#pragma once

#include "common/runtime.h"

#include <absl/time/time.h>

#include <cstdint>

namespace surge::reservations {

struct WarmUpModel {
  uint32_t creationBurst = 300;
  uint32_t creationPerMinute = 300;
  uint32_t concurrentStarts = 4;
  absl::Duration startTime = absl::Milliseconds(100);

  // Until the n-th new instance is ready, from a full token bucket: the later of its token
  // plus one start, and ceil(n / concurrentStarts) starts one after another.
  absl::Duration warmTime(uint64_t n) const;
  // The most instances ready within `available`.
  uint64_t warmable(absl::Duration available) const;
  // The lead that warms n instances with room to spare: half as long again, plus 2 s for a
  // loaded machine, in whole seconds, at most kMaxLead.
  absl::Duration leadFor(uint64_t n) const;
};

// What one start of `runtime` typically takes here when the function has no start of its own
// measured yet: generous figures over docs/BENCHMARKS.md's cold starts.
absl::Duration typicalStart(common::Runtime runtime);

} // namespace surge::reservations
