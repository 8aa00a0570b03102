// StartGate: whether the server may start one more instance now. Three limits, each with the
// reason a held-back request is told: the instance memory budget (with the memory reserved
// targets still need set aside from on-demand starts), the instances starting at once, and the
// creation rate (a token bucket). It counts what it let through until the instance is gone.
#pragma once

#include "metrics/function_metrics.h"
#include "scheduler/scheduler_types.h"

#include <absl/status/status.h>

#include <cstdint>
#include <optional>
#include <string>

namespace surge::scheduler {

// Why a start may not happen now: the limit (counted in metrics) and what a held-back request is told.
struct HeldBack {
  metrics::StartLimit limit;
  std::string reason;
};

// Not thread-safe: the scheduler's loop owns it. Time comes from the caller (a fake clock in tests).
class StartGate {
public:
  StartGate(const SchedulerOptions& options, SteadyTime now);

  // Starts a round of start decisions at `now`: refills the tokens, and forgets that a start
  // waited for one (a refusal in this round says so again).
  void beginRound(SteadyTime now);
  // Why a start of `memoryMb` of `kind` may not happen now, or nullopt when it may.
  // `reservedShortfallMb`: memory that reserved targets still need and no instance holds yet;
  // an on-demand start may not take it. `startingNow`: instances starting at this moment.
  std::optional<HeldBack> refusal(uint64_t memoryMb, InstanceKind kind, uint64_t reservedShortfallMb,
                                  uint32_t startingNow);
  // A start went through: takes a token and counts its memory.
  void started(uint64_t memoryMb);
  // An instance that went through is gone: its memory is free again.
  void gone(uint64_t memoryMb);

  // When the next token comes, if a start waits for one; nullopt otherwise.
  std::optional<SteadyTime> nextToken() const;
  // The memory of the instances not yet gone.
  uint64_t usedMemoryMb() const { return usedMemoryMb_; }
  uint64_t memoryBudgetMb() const { return memoryBudgetMb_; }

private:
  const uint64_t memoryBudgetMb_;
  const uint32_t creationBurst_;
  const uint32_t creationPerMinute_;
  const uint32_t maxConcurrentStarts_;
  double tokens_;
  SteadyTime tokensAt_;
  bool waitingForToken_ = false;
  uint64_t usedMemoryMb_ = 0;
};

} // namespace surge::scheduler
