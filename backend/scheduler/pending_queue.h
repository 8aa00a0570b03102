// PendingQueue: the requests of one instance pool that wait for a free slot, oldest first.
#pragma once

#include "metrics/function_metrics.h"
#include "scheduler/scheduler_types.h"

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <unordered_map>

namespace surge::scheduler {

struct Waiter {
  uint64_t id = 0;
  Invocation invocation;
  InvocationCallback done;
  std::string requestId;
  SteadyTime enqueuedAt;
  absl::Time arrivedAt;     // enqueuedAt by the wall clock, for its record
  SteadyTime queueDeadline; // enqueuedAt + the function's queue timeout
  // Where its ending is counted (its function's, which it may outlive).
  std::shared_ptr<metrics::FunctionMetrics> metrics;
};

// FIFO with removal by id in O(1) (a cancelled or expired waiter leaves from the middle).
// Not thread-safe: owned by the scheduler's loop.
class PendingQueue {
public:
  bool empty() const { return waiters_.empty(); }
  size_t size() const { return waiters_.size(); }

  void push(Waiter waiter);
  // The oldest waiter, removed; nullopt when empty.
  std::optional<Waiter> popOldest();
  // Removes the waiter with `id`; nullopt when it is not (or no longer) here.
  std::optional<Waiter> remove(uint64_t id);
  // Puts a waiter back at the head, e.g. when the instance it was sent to turned out to be gone.
  void pushFront(Waiter waiter);

  std::list<Waiter>::const_iterator begin() const { return waiters_.begin(); }
  std::list<Waiter>::const_iterator end() const { return waiters_.end(); }

private:
  std::list<Waiter> waiters_;
  std::unordered_map<uint64_t, std::list<Waiter>::iterator> byId_;
};

} // namespace surge::scheduler
