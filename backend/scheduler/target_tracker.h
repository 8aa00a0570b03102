// TargetTracker: the reserved target that a tracking policy sets, from one sample of demand per
// second. Pure: the caller owns time and the samples, so tests drive it with made-up seconds.
//
// The rule (docs/reservations.md, "Target tracking"):
// - demand is the requests in flight plus those queued, sampled once a second; its mean over the
//   samples of the last 10 s is the window's demand;
// - desired(demand) = ceil(demand / (instance concurrency × target utilisation));
// - the tracked target is desired(the highest window demand of the last cool-down), clamped to
//   [min, max]. A rise therefore applies on the sample that shows it (scale-out at most 1 s
//   after the window's utilisation of the tracked capacity passes the target), and a fall only
//   once every higher sample is a whole cool-down old: the target never drops below what the
//   load asked for during the cool-down, so it does not flap.
#pragma once

#include "common/tracking_policy.h"
#include "scheduler/scheduler_types.h"

#include <absl/time/time.h>

#include <cstdint>
#include <deque>
#include <optional>

namespace surge::scheduler {

// Not thread-safe; the scheduler's loop owns it.
class TargetTracker {
public:
  static constexpr absl::Duration kWindow = absl::Seconds(10);

  struct Sample {
    uint32_t demand = 0;        // in flight + queued
    uint32_t readyCapacity = 0; // slots of ready instances
  };

  // Starts at the policy's min, with no samples.
  TargetTracker(common::TrackingPolicy policy, uint32_t concurrency);

  // A changed policy or concurrency; keeps the samples, and clamps the target into the new
  // [min, max] at once.
  void reconfigure(common::TrackingPolicy policy, uint32_t concurrency);

  // Takes the sample of the second ending at `now`; returns whether the target changed.
  bool step(SteadyTime now, Sample sample);

  uint32_t target() const { return target_; }
  const common::TrackingPolicy& policy() const { return policy_; }
  // Mean demand ÷ mean ready capacity over the window; nullopt with no samples or no capacity.
  std::optional<double> utilization() const;
  // What the window's demand asks for now, clamped; the policy's min with no samples.
  uint32_t desired() const;

private:
  uint32_t desiredFor(double demand) const;
  void retarget();

  common::TrackingPolicy policy_;
  uint32_t concurrency_ = 1;
  uint32_t target_ = 0;
  // The samples of the last 10 s.
  std::deque<std::pair<SteadyTime, Sample>> samples_;
  // The window's mean demand at each second of the last cool-down, kept as a falling staircase
  // (a value followed by a higher one can never be the maximum again), so that the front is the
  // highest.
  std::deque<std::pair<SteadyTime, double>> peaks_;
};

} // namespace surge::scheduler
