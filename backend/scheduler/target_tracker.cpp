// TargetTracker: the 10 s window of demand, and the highest of it over the last cool-down.
#include "scheduler/target_tracker.h"

#include <algorithm>
#include <cmath>

namespace surge::scheduler {
namespace {

double meanDemand(const std::deque<std::pair<SteadyTime, TargetTracker::Sample>>& samples) {
  if (samples.empty()) return 0;
  uint64_t demand = 0;
  for (const auto& [at, sample] : samples) demand += sample.demand;
  return static_cast<double>(demand) / static_cast<double>(samples.size());
}

} // namespace

TargetTracker::TargetTracker(common::TrackingPolicy policy, uint32_t concurrency)
    : policy_(policy), concurrency_(std::max<uint32_t>(concurrency, 1)), target_(policy.minReserved) {}

void TargetTracker::reconfigure(common::TrackingPolicy policy, uint32_t concurrency) {
  policy_ = policy;
  concurrency_ = std::max<uint32_t>(concurrency, 1);
  retarget();
}

uint32_t TargetTracker::desiredFor(double demand) const {
  const uint32_t max = std::max(policy_.minReserved, policy_.maxReserved);
  const double perInstance = static_cast<double>(concurrency_) * policy_.targetUtilization;
  // A hair over an exact multiple is that multiple: 3 / 0.6 asks for 5, not 6.
  const double wanted = std::ceil(demand / perInstance - 1e-9);
  if (wanted >= static_cast<double>(max)) return max;
  return std::max(policy_.minReserved, static_cast<uint32_t>(std::max(wanted, 0.0)));
}

uint32_t TargetTracker::desired() const { return desiredFor(meanDemand(samples_)); }

std::optional<double> TargetTracker::utilization() const {
  uint64_t demand = 0, capacity = 0;
  for (const auto& [at, sample] : samples_) {
    demand += sample.demand;
    capacity += sample.readyCapacity;
  }
  if (capacity == 0) return std::nullopt;
  return static_cast<double>(demand) / static_cast<double>(capacity);
}

void TargetTracker::retarget() { target_ = desiredFor(peaks_.empty() ? 0.0 : peaks_.front().second); }

bool TargetTracker::step(SteadyTime now, Sample sample) {
  samples_.emplace_back(now, sample);
  while (samples_.front().first <= now - absl::ToChronoNanoseconds(kWindow)) samples_.pop_front();
  const double demand = meanDemand(samples_);
  while (!peaks_.empty() && peaks_.back().second <= demand) peaks_.pop_back();
  peaks_.emplace_back(now, demand);
  while (peaks_.front().first <= now - absl::ToChronoNanoseconds(policy_.cooldown)) peaks_.pop_front();
  const uint32_t before = target_;
  retarget();
  return target_ != before;
}

} // namespace surge::scheduler
