// A target tracking policy of reserved capacity: the reserved target follows the measured
// concurrency within [min, max]. Shared vocabulary of the store (kept in the function's config),
// the scheduler (which tracks) and the API. docs/reservations.md, "Target tracking".
#pragma once

#include <absl/time/time.h>

#include <cstdint>

namespace surge::common {

struct TrackingPolicy {
  static constexpr double kMinUtilization = 0.0; // exclusive
  static constexpr double kMaxUtilization = 1.0; // inclusive
  static constexpr absl::Duration kDefaultCooldown = absl::Minutes(5);
  static constexpr absl::Duration kMinCooldown = absl::Seconds(10);
  static constexpr absl::Duration kMaxCooldown = absl::Hours(24);

  uint32_t minReserved = 0;
  uint32_t maxReserved = 0;
  // In-flight requests ÷ the capacity of ready instances that the target aims at, in (0, 1].
  double targetUtilization = 0.6;
  // How long the demand must stay below the target before it is lowered.
  absl::Duration cooldown = kDefaultCooldown;

  bool operator==(const TrackingPolicy&) const = default;
};

} // namespace surge::common
