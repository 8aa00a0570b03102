// FunctionPools and its rollover: a function's instance pools, which one serves the active
// version (current), which one warms up to take over (next), and the rules that move a function
// from one instance spec to the next when a new version or config arrives. The rules decide;
// SchedulerCore carries the decisions out (drains, dispatches, starts).
#pragma once

#include "engine/engine.h"
#include "metrics/function_metrics.h"
#include "scheduler/instance_pool.h"
#include "scheduler/scheduler_types.h"
#include "scheduler/target_tracker.h"

#include <absl/time/time.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace surge::scheduler {

// A function as the scheduler holds it. Pools: the current one, the next one during a rollover,
// one per retained version that was invoked by name, and old ones still draining.
struct FunctionPools {
  FunctionDefinitionPtr definition;
  std::vector<std::unique_ptr<InstancePool>> pools;
  InstancePool* current = nullptr; // serves the active version; null while there is no code
  InstancePool* next = nullptr;    // a new spec warming its reserved instances before taking over
  uint32_t instances = 0;          // over all pools, against maxInstances
  uint32_t waiting = 0;            // over all pools, against maxQueueLength
  // The reserved target it keeps: the definition's, or what its windows set (ScheduledTarget).
  uint32_t reservedTarget = 0;
  // With a tracking policy in the definition: the target it tracks, stepped every second.
  std::optional<TargetTracker> tracker;
  bool removed = false;
  // This second's figures, shared by every FunctionPools of the same name (a deleted and
  // recreated function is one series) and by its waiters.
  std::shared_ptr<metrics::FunctionMetrics> metrics;

  // The pool of `spec`, made (with `retryBackoff` as its first backoff) when there is none.
  InstancePool& poolFor(const engine::InstanceSpec& spec, absl::Duration retryBackoff);
  // Whether the pool serves the active version (current or next): only those keep reserved
  // instances.
  bool servesActive(const InstancePool& pool) const { return &pool == current || &pool == next; }
  // Room left under max_instances.
  uint32_t room() const;
  // Drops pools that are neither current nor next and hold no instance and no waiter.
  void dropEmptyPools();
};

// What a new definition does to a function's pools, decided by planRollover().
struct RolloverPlan {
  // Pools that no longer serve: drained (in this order, before the switch).
  std::vector<InstancePool*> retire;
  // A pool that takes over at once (no reserved target to warm first); null: none.
  InstancePool* switchTo = nullptr;
};

// Applies `function.definition` (already the new one) to current and next:
// - no code: nothing serves, current and next retire;
// - a changed spec: with a reserved target the new pool becomes `next` and warms first, so that
//   reserved traffic sees no cold start; without one it takes over at once;
// - the current spec again while a rollover was under way: the next pool retires.
// Sets current and next; the caller drains `retire`, then switches to `switchTo`.
RolloverPlan planRollover(FunctionPools& function, absl::Duration retryBackoff);

// A rollover completes when the next pool's reserved instances are all ready.
bool warm(const InstancePool& next);

// Hands the waiters for the active version from `from` to `to`; waiters for a named version stay
// in `from`. Returns the ids of those moved.
std::vector<uint64_t> moveActiveWaiters(InstancePool& from, InstancePool& to);

// Whether the next pool takes over although its start failed: a new version whose code cannot
// start still takes over (it is what was deployed, and its callers should see why it fails rather
// than keep running the old code unknowingly); a start the platform failed says nothing about the
// new code, so the warm old version keeps serving.
bool takesOverAfterFailedStart(const FunctionPools& function, const InstancePool& pool,
                               const engine::StartOutcome& outcome);

} // namespace surge::scheduler
