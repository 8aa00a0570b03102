// InstancePool: the instances of one instance spec (a function's version with one config) and
// the requests waiting for them. It knows which instances have a free slot (reserved first,
// oldest first), what the pool wants started (its demand), how fast its queue drains, and how
// its reserved instances meet their target. It starts, stops and dispatches nothing itself:
// SchedulerCore does, from what the pool tells it.
#pragma once

#include "engine/engine.h"
#include "scheduler/pending_queue.h"
#include "scheduler/scheduler_types.h"

#include <absl/time/time.h>

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

namespace surge::scheduler {

struct FunctionPools;
class InstancePool;

// One instance as the scheduler sees it. STARTING until the engine says it is ready, READY while
// it takes requests, DRAINING once it takes none (stopping, or dead with answers on their way).
enum class Phase { kStarting, kReady, kDraining };
struct PoolInstance {
  engine::InstanceId id = 0;
  InstancePool* pool = nullptr;
  InstanceKind kind = InstanceKind::kOnDemand;
  Phase phase = Phase::kStarting;
  uint32_t inFlight = 0;
  SteadyTime idleSince;
  absl::Time startTime;
  SteadyTime startedAt; // when start() was asked, for the pool's mean start time
  // The engine said it is gone, but answers for requests sent to it are still on their way.
  bool exited = false;
};

// The state GetScalingStatus and the metrics report: STARTING, IDLE or BUSY (ready, with or
// without requests in flight), DRAINING.
InstanceState reportedState(const PoolInstance& instance);

// What a pool wants started.
struct Demand {
  uint32_t reserved = 0;
  uint32_t onDemand = 0;
  bool capped = false; // max_instances cut it
  uint32_t total() const { return reserved + onDemand; }
};

// Not thread-safe: the scheduler's loop owns it.
class InstancePool {
public:
  InstancePool(FunctionPools& function, engine::InstanceSpec spec, absl::Duration retryBackoff);

  FunctionPools& function() const { return *function_; }
  const engine::InstanceSpec& spec() const { return spec_; }

  // --- members ---
  // A new instance of this pool, just asked to start.
  void adopt(PoolInstance& instance);
  // The instance is gone: no longer a member, nor free.
  void release(PoolInstance& instance);
  // Members by id, oldest first.
  const std::map<engine::InstanceId, PoolInstance*>& members() const { return members_; }
  bool empty() const { return members_.empty(); }
  // Members in STARTING.
  uint32_t starting() const { return starting_; }
  // Moves the instance to `phase` (its free slots follow: only READY ones are free).
  void setPhase(PoolInstance& instance, Phase phase);

  // --- free slots ---
  bool hasFreeSlot(const PoolInstance& instance) const;
  // Lists the instance among those with a free slot, if it is ready and has one.
  void setFree(PoolInstance& instance);
  void clearFree(PoolInstance& instance);
  // The instance the next request goes to: the oldest free reserved one, else the oldest free
  // on-demand one; null when no slot is free.
  PoolInstance* freeInstance() const;

  // --- reserved capacity ---
  uint32_t reservedTarget = 0;
  // Reserved instances that are starting or ready (not draining).
  uint32_t reservedLive() const;
  uint32_t reservedReady() const;
  // Brings the reserved instances towards the target by changing kinds only: warm on-demand
  // instances become reserved; a surplus becomes on-demand, starting ones first, then idle, then
  // busy. Nothing starts or stops here (the core starts what demand() still wants).
  void reconcileReserved(SteadyTime now);

  // --- demand ---
  // What the pool wants started: its reserved shortfall when `mayStartReserved` (it serves the
  // active version, and a failed start's backoff has passed), and on-demand instances while the
  // waiters outnumber the slots already on their way; at most `room` in all. A cut by `room`
  // sets heldBy and `capped`.
  Demand demand(bool mayStartReserved, uint32_t room, uint32_t maxInstances);

  // --- measures ---
  // A request finished at `now`; `execution` when it ran to completion.
  void recordCompletion(SteadyTime now, std::optional<absl::Duration> execution);
  void recordStart(absl::Duration took);
  // The moving mean of its instances' start times; zero until one has started.
  absl::Duration meanStart() const { return meanStart_; }
  // How long until the queue has drained once, from the rate its latest requests finished at,
  // between 1 ms and `timeout`; without a rate, `timeout`.
  absl::Duration drainTime(absl::Duration timeout) const;

  // --- failed starts ---
  // A reserved start failed at `now`: none is tried again before retryAt(), and the wait after
  // the next failure doubles, up to `maxBackoff`.
  void backOff(SteadyTime now, absl::Duration maxBackoff);
  // A start succeeded: the next failure waits `initial` again.
  void resetBackoff(absl::Duration initial) { retryBackoff_ = initial; }
  SteadyTime retryAt() const { return retryAt_; }
  absl::Duration retryBackoff() const { return retryBackoff_; }

  // The requests waiting for a slot of this pool, oldest first.
  PendingQueue queue;
  // Why the last start this pool wanted did not happen ("" when nothing held it back); named
  // in the message of a request that times out in the queue.
  std::string heldBy;

private:
  FunctionPools* function_;
  engine::InstanceSpec spec_;
  std::map<engine::InstanceId, PoolInstance*> members_;
  // Ready instances with a free slot, oldest first, so that load packs onto few instances and
  // the others go idle and are reclaimed.
  std::map<engine::InstanceId, PoolInstance*> freeReserved_, freeOnDemand_;
  uint32_t starting_ = 0;
  // When its latest requests finished (at most kDrainSamples): the queue's drain rate.
  std::deque<SteadyTime> completions_;
  // Moving means of its requests' execution and its instances' start; zero until measured.
  absl::Duration meanExecution_;
  absl::Duration meanStart_;
  SteadyTime retryAt_;          // no reserved start before this (after a failed start)
  absl::Duration retryBackoff_; // the next wait after a failure
};

} // namespace surge::scheduler
