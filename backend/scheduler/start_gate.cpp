// StartGate: memory budget, concurrent starts and the creation token bucket.
#include "scheduler/start_gate.h"

#include <absl/strings/str_cat.h>

#include <algorithm>
#include <chrono>

namespace surge::scheduler {
namespace {

// Refills are fractions of a token; this much short of a whole one still counts as one.
constexpr double kTokenSlack = 1e-6;

} // namespace

StartGate::StartGate(const SchedulerOptions& options, SteadyTime now)
    : memoryBudgetMb_(options.memoryBudgetMb), creationBurst_(options.creationBurst),
      creationPerMinute_(options.creationPerMinute), maxConcurrentStarts_(options.maxConcurrentStarts),
      tokens_(options.creationBurst), tokensAt_(now) {}

void StartGate::beginRound(SteadyTime now) {
  const double perSecond = creationPerMinute_ / 60.0;
  tokens_ =
      std::min<double>(creationBurst_, tokens_ + perSecond * std::chrono::duration<double>(now - tokensAt_).count());
  tokensAt_ = now;
  waitingForToken_ = false;
}

std::optional<HeldBack> StartGate::refusal(uint64_t memoryMb, InstanceKind kind, uint64_t reservedShortfallMb,
                                           uint32_t startingNow) {
  if (memoryBudgetMb_ > 0) {
    // A reserved start may use any free memory; an on-demand one not what reserved targets
    // still need.
    const uint64_t needed = usedMemoryMb_ + memoryMb + (kind == InstanceKind::kReserved ? 0 : reservedShortfallMb);
    if (needed > memoryBudgetMb_) {
      return HeldBack{metrics::StartLimit::kMemory,
                      absl::StrCat("the server's instance memory budget of ", memoryBudgetMb_,
                                   " MiB is in use or set aside for reserved instances")};
    }
  }
  if (startingNow >= maxConcurrentStarts_) {
    return HeldBack{metrics::StartLimit::kConcurrentStarts, absl::StrCat("the server's limit of ", maxConcurrentStarts_,
                                                                         " instances starting at once was reached")};
  }
  if (tokens_ < 1 - kTokenSlack) {
    waitingForToken_ = true;
    return HeldBack{metrics::StartLimit::kCreationRate,
                    absl::StrCat("the server's instance creation rate (", creationBurst_, " at once, then ",
                                 creationPerMinute_, " per minute) was reached")};
  }
  return std::nullopt;
}

void StartGate::started(uint64_t memoryMb) {
  tokens_ -= 1;
  usedMemoryMb_ += memoryMb;
}

void StartGate::gone(uint64_t memoryMb) { usedMemoryMb_ -= std::min(usedMemoryMb_, memoryMb); }

std::optional<SteadyTime> StartGate::nextToken() const {
  if (!waitingForToken_ || creationPerMinute_ == 0) return std::nullopt;
  const double perSecond = creationPerMinute_ / 60.0;
  return tokensAt_ + std::chrono::duration_cast<SteadyTime::duration>(
                         std::chrono::duration<double>(std::max(0.0, 1.0 - tokens_) / perSecond));
}

} // namespace surge::scheduler
