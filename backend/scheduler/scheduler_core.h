// SchedulerCore: the scheduling policy. It composes a function's instance pools (InstancePool:
// queue, free slots, demand; FunctionPools and its rollover rules), the StartGate (memory budget,
// starts at once, creation tokens), and does what they decide: dispatch (reserved first), starts
// in turn over the functions, drains and idle reclaim, queue deadlines and start retries. It runs
// on one loop and is driven by calls and engine events, so it needs no locks, and tests drive it
// with a fake clock and a fake engine.
#pragma once

#include "common/clock.h"
#include "engine/engine.h"
#include "metrics/metrics_hub.h"
#include "scheduler/instance_pool.h"
#include "scheduler/pending_queue.h"
#include "scheduler/rollover.h"
#include "scheduler/scheduler_types.h"
#include "scheduler/start_gate.h"

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace surge::scheduler {

// Not thread-safe: every method, and every engine event, must run on the owner's loop. `post`
// queues a task on that loop (cancellation arrives from other threads through it). The engine
// must deliver its callbacks on the same loop and outlive nothing it calls back into.
class SchedulerCore final : public engine::InstanceObserver {
public:
  SchedulerCore(engine::Engine& engine, const common::Clock& clock, engine::Executor post,
                SchedulerOptions options = {});
  // Fails the waiters still queued with UNAVAILABLE. Instances are left to the engine.
  ~SchedulerCore() override;

  // Runs the invocation on a free slot (reserved instances first), or queues it and starts
  // instances in the background. `done` runs once, on the loop.
  void submit(Invocation invocation, InvocationCallback done);
  // From now on every answer leaves a record (invocation_recording.h) in `sink`, just before
  // the caller's callback runs.
  void recordInto(RecordSink sink) { onRecord_ = std::move(sink); }
  // A new or changed function (ignored when its revision is not newer than the one known).
  // Applies its reserved target and limits; a changed instance spec rolls the function over to
  // new instances, warming the reserved ones first.
  void update(FunctionDefinitionPtr function);
  // What the function's reservation windows ask for now replaces what they asked before (an
  // empty target: no window matters now). Loads `function` like update() when the core does not
  // hold it, so that a window can warm a function nobody has invoked yet.
  void setScheduledTarget(FunctionDefinitionPtr function, ScheduledTarget target);
  // The function was deleted: its waiters fail with NOT_FOUND and its instances drain.
  void remove(const std::string& key);
  // Fails every waiter with UNAVAILABLE and stops every instance now (server shutdown).
  void shutdown();

  FunctionStatus status(const std::string& key) const;
  // Instances this core has started and not yet seen exit, over all functions.
  size_t instanceCount() const { return instances_.size(); }

  // Ends the metrics' current second (`second`: Unix seconds at its start): every function with
  // anything recorded or anything running, queued or reserved, the server's sum first, and the
  // server's gauges. Forgets the figures of functions that are gone and had nothing.
  metrics::Frame rollMetrics(int64_t second);

  // When onTimer() next has work (queue timeouts, idle reclaim, start retries); nullopt: none.
  std::optional<SteadyTime> nextWakeup() const;
  void onTimer();

  void onStarted(engine::InstanceId id, const engine::StartOutcome& outcome) override;
  void onExit(engine::InstanceId id, const engine::InstanceExit& exit) override;

private:
  // What the dispatch decided about a running request, for its result.
  struct Running {
    absl::Duration queueWait;
    bool coldStart = false;
    InstanceKind kind = InstanceKind::kOnDemand;
    int64_t version = 0;
    uint32_t memoryMb = 0; // the instance's, for the billed usage
  };

  FunctionPools& functionFor(const FunctionDefinitionPtr& definition);
  void switchCurrent(FunctionPools& function, InstancePool& pool);
  void retire(InstancePool& pool);
  void removeFunction(std::unique_ptr<FunctionPools> function, const absl::Status& why);

  // Queues the waiter (at the head when `first`: it was refused unrun and keeps its turn).
  void enqueue(InstancePool& pool, Waiter waiter, bool first = false);
  void dispatch(InstancePool& pool);
  void serveFrom(PoolInstance& instance, bool coldStart);
  void run(PoolInstance& instance, Waiter waiter, bool coldStart);
  void finished(engine::InstanceId id, Waiter waiter, Running running, engine::InvokeOutcome outcome);
  void cancelWaiter(uint64_t waiterId);
  void failWaiter(Waiter& waiter, absl::Status status);
  // Refuses a waiter for load (RESOURCE_EXHAUSTED), saying when a retry has a fair chance.
  void refuse(Waiter& waiter, metrics::Refusal cause, absl::Status status, absl::Duration retryAfter);
  // Ends a waiter that did not run: fills in its request id and queue wait, counts it (a
  // refusal with `refusal`'s cause), and calls it back.
  void answer(Waiter& waiter, InvocationResult result, std::optional<metrics::Refusal> refusal = std::nullopt);
  std::shared_ptr<metrics::FunctionMetrics> metricsFor(const std::string& key);

  // Sets the function's reserved target from its definition and its windows, and brings its
  // pools towards it (kinds change, starts begin, a rollover may complete).
  void applyReservedTarget(FunctionPools& function);
  // The target from the definition (standing or tracked) and the windows.
  uint32_t effectiveTarget(const FunctionPools& function) const;
  // Feeds each tracker its second's sample and applies the targets that changed.
  void stepTrackers(SteadyTime now);
  void reconcileReserved(InstancePool& pool);
  // Starts the instances the pools want, within max_instances, the memory budget and the
  // creation tokens, one function at a time in turn.
  void createInstances();
  Demand demand(InstancePool& pool) const;
  uint64_t reservedShortfallMb() const;
  // Reserved targets × their memory over the functions.
  uint64_t reservedTargetsMb() const;
  void startInstance(InstancePool& pool, InstanceKind kind);
  absl::Duration retryAfter(const InstancePool& pool) const;
  void drain(PoolInstance& instance);
  void promoteIfWarm(FunctionPools& function);
  void forget(PoolInstance& instance);
  void afterExit(PoolInstance& instance);
  void collect(FunctionPools& function);
  void sweep(SteadyTime now);

  std::string newRequestId();

  engine::Engine& engine_;
  const common::Clock& clock_;
  engine::Executor post_;
  SchedulerOptions options_;
  RecordSink onRecord_;
  // Ordered, so that creation tokens go round the functions in a stable order.
  std::map<std::string, std::unique_ptr<FunctionPools>> functions_;
  // Deleted or replaced functions whose instances are still draining.
  std::vector<std::unique_ptr<FunctionPools>> departed_;
  // Every instance started and not yet forgotten; nodes stay put, so pools point at them.
  std::unordered_map<engine::InstanceId, PoolInstance> instances_;
  // Queue deadlines, soonest first; entries of waiters that already left are skipped.
  using Deadline = std::pair<SteadyTime, uint64_t>;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
  std::unordered_map<uint64_t, InstancePool*> waiterPools_;
  // Memory budget, concurrent starts and creation tokens; and the function that started last
  // (the next round goes on after it).
  StartGate gate_;
  std::string lastCreator_;
  std::multiset<SteadyTime> retries_; // when failed reserved starts may be tried again
  uint64_t nextWaiterId_ = 1;
  uint64_t nextRequest_ = 0;
  std::string requestPrefix_;
  SteadyTime nextSweep_;
  // When the trackers next take a sample (every second while a function has a policy).
  SteadyTime nextTrack_;
  // What each function's windows ask for now, by name; none: no window matters now.
  std::map<std::string, ScheduledTarget> scheduled_;
  // Each function's current second, by name; kept while anything refers to it or it has figures.
  std::map<std::string, std::shared_ptr<metrics::FunctionMetrics>> metrics_;
};

} // namespace surge::scheduler
