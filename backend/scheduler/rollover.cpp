// A function's pools and the rules of a rollover (docs/scheduling.md, "Rollover").
#include "scheduler/rollover.h"

#include <algorithm>

namespace surge::scheduler {

InstancePool& FunctionPools::poolFor(const engine::InstanceSpec& spec, absl::Duration retryBackoff) {
  for (auto& pool : pools) {
    if (pool->spec() == spec) return *pool;
  }
  pools.push_back(std::make_unique<InstancePool>(*this, spec, retryBackoff));
  return *pools.back();
}

uint32_t FunctionPools::room() const {
  const uint32_t max = definition->maxInstances;
  return instances < max ? max - instances : 0;
}

void FunctionPools::dropEmptyPools() {
  std::erase_if(pools, [&](const std::unique_ptr<InstancePool>& pool) {
    return !servesActive(*pool) && pool->empty() && pool->queue.empty();
  });
}

RolloverPlan planRollover(FunctionPools& function, absl::Duration retryBackoff) {
  RolloverPlan plan;
  const engine::InstanceSpec& spec = function.definition->spec;
  if (spec.version == 0) {
    // No code (yet): nothing can start. Waiters cannot exist either: submit refuses them.
    if (function.current) plan.retire.push_back(function.current);
    if (function.next) plan.retire.push_back(function.next);
    function.current = function.next = nullptr;
  } else if (!function.current) {
    function.current = &function.poolFor(spec, retryBackoff);
  } else if (!(function.current->spec() == spec)) {
    InstancePool& fresh = function.poolFor(spec, retryBackoff);
    if (function.next && function.next != &fresh) plan.retire.push_back(function.next);
    function.next = nullptr;
    if (function.reservedTarget == 0) {
      plan.switchTo = &fresh;
    } else {
      function.next = &fresh;
    }
  } else if (function.next) {
    // Back to the current spec before the rollover finished.
    plan.retire.push_back(function.next);
    function.next = nullptr;
  }
  return plan;
}

bool warm(const InstancePool& next) { return next.reservedReady() >= next.reservedTarget; }

std::vector<uint64_t> moveActiveWaiters(InstancePool& from, InstancePool& to) {
  std::vector<uint64_t> moved;
  PendingQueue keep;
  while (auto waiter = from.queue.popOldest()) {
    if (waiter->invocation.versionSpec) {
      keep.push(std::move(*waiter));
    } else {
      moved.push_back(waiter->id);
      to.queue.push(std::move(*waiter));
    }
  }
  from.queue = std::move(keep);
  return moved;
}

bool takesOverAfterFailedStart(const FunctionPools& function, const InstancePool& pool,
                               const engine::StartOutcome& outcome) {
  return function.next == &pool && outcome.kind == engine::StartOutcome::Kind::kFunctionFault;
}

} // namespace surge::scheduler
