// SchedulerCore: dispatch, starts in turn, engine events, drains and reclaim, deadlines.
// docs/scheduling.md explains the policy; the comments here say why the code is shaped so.
#include "scheduler/scheduler_core.h"

#include "common/absl_compat.h"
#include "scheduler/invocation_recording.h"
#include "scheduler/metrics_recording.h"

#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

namespace surge::scheduler {
namespace {

std::string seconds(absl::Duration d) { return absl::StrFormat("%g s", absl::ToDoubleSeconds(d)); }

// A function error after which the instance is not used again (the engine stops or has stopped
// it): only a handler's own exception leaves the runtime healthy.
bool endsInstance(const absl::StatusOr<engine::InvokeResult>& outcome) {
  return outcome.ok() && outcome->error && outcome->error->type != "HandlerError";
}

bool functionsFault(const engine::StartOutcome& outcome) {
  return outcome.kind == engine::StartOutcome::Kind::kFunctionFault;
}

// What the waiters of a start that failed are told. The function's fault is an InitializerError,
// as Function Compute reports it. The platform's is not billed to the function: an UNAVAILABLE
// call that the caller may retry, whose message leaves out the host's details (paths, errno
// texts), which go to the log instead.
absl::StatusOr<engine::InvokeResult> startFailureOutcome(const std::string& key, const engine::StartOutcome& start) {
  if (!functionsFault(start)) {
    return absl::UnavailableError(absl::StrCat("surged could not start an instance of ", key,
                                               " (a fault of the server, logged there); retry later"));
  }
  engine::InvokeResult failed;
  failed.error =
      engine::FunctionError{"InitializerError", absl::StrCat("the instance failed to start: ", start.message), ""};
  return failed;
}

} // namespace

SchedulerCore::SchedulerCore(engine::Engine& engine, const common::Clock& clock, engine::Executor post,
                             SchedulerOptions options)
    : engine_(engine), clock_(clock), post_(std::move(post)), options_(options), gate_(options, clock.steadyNow()),
      nextSweep_(clock.steadyNow() + absl::ToChronoNanoseconds(options.sweepInterval)),
      nextTrack_(clock.steadyNow() + std::chrono::seconds(1)) {
  std::random_device random;
  requestPrefix_ = absl::StrFormat("%08x%08x-", random(), random());
}

SchedulerCore::~SchedulerCore() {
  const absl::Status why = absl::UnavailableError("the server is shutting down");
  for (auto& [key, function] : functions_) {
    for (auto& pool : function->pools) {
      while (auto waiter = pool->queue.popOldest()) failWaiter(*waiter, why);
    }
  }
}

// --- functions and pools ---

FunctionPools& SchedulerCore::functionFor(const FunctionDefinitionPtr& definition) {
  auto it = functions_.find(definition->key);
  if (it == functions_.end() || it->second->definition->functionId != definition->functionId ||
      it->second->definition->revision < definition->revision) {
    update(definition);
    it = functions_.find(definition->key);
  }
  return *it->second;
}

void SchedulerCore::update(FunctionDefinitionPtr definition) {
  auto it = functions_.find(definition->key);
  if (it != functions_.end() && it->second->definition->functionId != definition->functionId) {
    // The same name now belongs to a new function: the old one's instances must not serve it.
    auto old = std::move(it->second);
    functions_.erase(it);
    removeFunction(std::move(old), absl::NotFoundError(absl::StrCat("function '", definition->key,
                                                                    "' was deleted while the request waited")));
    it = functions_.end();
  }
  if (it == functions_.end()) {
    it = functions_.emplace(definition->key, std::make_unique<FunctionPools>()).first;
    it->second->metrics = metricsFor(definition->key);
  } else if (definition->revision <= it->second->definition->revision) {
    return;
  }
  FunctionPools& function = *it->second;
  function.definition = definition;
  if (!definition->tracking) {
    function.tracker.reset();
  } else if (function.tracker) {
    function.tracker->reconfigure(*definition->tracking, definition->spec.concurrency);
  } else {
    if (std::none_of(functions_.begin(), functions_.end(), [](const auto& f) { return f.second->tracker.has_value(); }))
      nextTrack_ = clock_.steadyNow() + std::chrono::seconds(1); // the first tracker: a whole second from now
    function.tracker.emplace(*definition->tracking, definition->spec.concurrency);
  }
  function.reservedTarget = effectiveTarget(function);

  const RolloverPlan plan = planRollover(function, options_.retryBackoff);
  for (InstancePool* pool : plan.retire) retire(*pool);
  if (plan.switchTo) switchCurrent(function, *plan.switchTo);
  applyReservedTarget(function);
}

void SchedulerCore::setScheduledTarget(FunctionDefinitionPtr definition, ScheduledTarget target) {
  if (target.empty()) {
    if (scheduled_.erase(definition->key) == 0) return;
  } else {
    scheduled_[definition->key] = target;
  }
  auto it = functions_.find(definition->key);
  if (it == functions_.end() || it->second->definition->functionId != definition->functionId ||
      it->second->definition->revision < definition->revision) {
    if (target.empty()) return; // nothing held, and nothing to warm
    update(std::move(definition));
    return;
  }
  FunctionPools& function = *it->second;
  function.reservedTarget = effectiveTarget(function);
  applyReservedTarget(function);
}

uint32_t SchedulerCore::effectiveTarget(const FunctionPools& function) const {
  auto scheduled = scheduled_.find(function.definition->key);
  const ScheduledTarget windows = scheduled == scheduled_.end() ? ScheduledTarget{} : scheduled->second;
  if (function.tracker) return windows.floorUnder(function.tracker->target());
  return windows.targetOver(function.definition->reservedTarget);
}

void SchedulerCore::stepTrackers(SteadyTime now) {
  std::vector<FunctionPools*> changed;
  for (auto& [key, function] : functions_) {
    if (!function->tracker) continue;
    const metrics::Gauges gauges = gaugesOf(*function);
    if (function->tracker->step(now, {gauges.inFlight + gauges.queueDepth, gauges.readyCapacity})) {
      changed.push_back(function.get());
    }
  }
  for (FunctionPools* function : changed) {
    const uint32_t target = effectiveTarget(*function);
    if (target == function->reservedTarget) continue;
    const std::optional<double> utilization = function->tracker->utilization();
    spdlog::info("tracking: the reserved target of {} goes from {} to {} (tracked {}, utilisation {} over the last "
                 "10 s, aiming at {:g})",
                 function->definition->key, function->reservedTarget, target, function->tracker->target(),
                 utilization ? absl::StrFormat("%.2f", *utilization) : std::string("-"),
                 function->definition->tracking->targetUtilization);
    function->reservedTarget = target;
    applyReservedTarget(*function);
  }
}

void SchedulerCore::applyReservedTarget(FunctionPools& function) {
  // During a rollover the old pool keeps its reserved instances: they serve until the new
  // pool's are ready.
  if (function.current) function.current->reservedTarget = function.reservedTarget;
  if (function.next) function.next->reservedTarget = function.reservedTarget;
  if (function.next) reconcileReserved(*function.next);
  if (function.current) reconcileReserved(*function.current);
  promoteIfWarm(function);
  createInstances();
  collect(function);
}

void SchedulerCore::switchCurrent(FunctionPools& function, InstancePool& pool) {
  InstancePool* old = function.current;
  function.current = &pool;
  if (function.next == &pool) function.next = nullptr;
  pool.reservedTarget = function.reservedTarget;
  if (old && old != &pool) {
    // Requests for the active version go to the new instances; requests for a named version stay.
    for (uint64_t id : moveActiveWaiters(*old, pool)) waiterPools_[id] = &pool;
    retire(*old);
  }
  reconcileReserved(pool);
  dispatch(pool);
  createInstances();
}

void SchedulerCore::retire(InstancePool& pool) {
  pool.reservedTarget = 0;
  std::vector<PoolInstance*> members;
  for (const auto& [id, instance] : pool.members()) members.push_back(instance);
  for (PoolInstance* instance : members) drain(*instance);
}

void SchedulerCore::removeFunction(std::unique_ptr<FunctionPools> function, const absl::Status& why) {
  function->removed = true;
  for (auto& pool : function->pools) {
    while (auto waiter = pool->queue.popOldest()) {
      --function->waiting;
      failWaiter(*waiter, why);
    }
    retire(*pool);
  }
  function->current = function->next = nullptr;
  departed_.push_back(std::move(function));
  collect(*departed_.back());
}

void SchedulerCore::remove(const std::string& key) {
  scheduled_.erase(key);
  auto it = functions_.find(key);
  if (it == functions_.end()) return;
  auto function = std::move(it->second);
  functions_.erase(it);
  removeFunction(std::move(function), absl::NotFoundError(absl::StrCat("function '", key, "' was deleted")));
}

void SchedulerCore::shutdown() {
  const absl::Status why = absl::UnavailableError("the server is shutting down");
  std::vector<std::string> keys;
  for (const auto& [key, function] : functions_) keys.push_back(key);
  for (const std::string& key : keys) {
    auto function = std::move(functions_[key]);
    functions_.erase(key);
    removeFunction(std::move(function), why);
  }
  for (auto& [id, instance] : instances_) engine_.stop(id, engine::StopMode::kNow);
}

// Drops pools that serve nothing and hold nothing, and departed functions with no instances.
void SchedulerCore::collect(FunctionPools& function) {
  function.dropEmptyPools();
  if (function.removed && function.instances == 0) {
    std::erase_if(departed_, [&](const std::unique_ptr<FunctionPools>& f) { return f.get() == &function; });
  }
}

// --- requests ---

void SchedulerCore::submit(Invocation invocation, InvocationCallback done) {
  FunctionPools& function = functionFor(invocation.function);
  const FunctionDefinition& definition = *function.definition;
  Waiter waiter{
      nextWaiterId_++, std::move(invocation), std::move(done), newRequestId(), clock_.steadyNow(), clock_.now(), {},
      function.metrics};
  waiter.queueDeadline = waiter.enqueuedAt + absl::ToChronoNanoseconds(definition.queueTimeout);

  InstancePool* pool = function.current;
  if (waiter.invocation.versionSpec) {
    pool = &function.poolFor(*waiter.invocation.versionSpec, options_.retryBackoff);
  } else if (!pool) {
    return failWaiter(waiter, absl::FailedPreconditionError(
                                  absl::StrCat("function '", definition.key, "' has no code; upload some first")));
  }
  // Waiters exist only while no slot is free, so a new request with an empty queue either runs
  // now or is the first to wait.
  if (pool->queue.empty()) {
    if (PoolInstance* free = pool->freeInstance()) return run(*free, std::move(waiter), false);
  }
  if (function.waiting >= definition.maxQueueLength) {
    return refuse(waiter, metrics::Refusal::kQueueFull,
                  absl::ResourceExhaustedError(
                      absl::StrCat("the queue of function '", definition.key, "' is full: ", function.waiting,
                                   " requests wait (max_queue_length ", definition.maxQueueLength, ")")),
                  retryAfter(*pool));
  }
  enqueue(*pool, std::move(waiter));
  createInstances();
}

void SchedulerCore::enqueue(InstancePool& pool, Waiter waiter, bool first) {
  const uint64_t id = waiter.id;
  deadlines_.emplace(std::min(waiter.queueDeadline, waiter.invocation.deadline), id);
  waiterPools_[id] = &pool;
  ++pool.function().waiting;
  if (waiter.invocation.cancellation) {
    waiter.invocation.cancellation->setHook([this, id, post = post_] { post([this, id] { cancelWaiter(id); }); });
  }
  if (first) {
    pool.queue.pushFront(std::move(waiter));
  } else {
    pool.queue.push(std::move(waiter));
  }
}

// Serves the oldest waiters while a slot is free: reserved instances first, then on-demand.
void SchedulerCore::dispatch(InstancePool& pool) {
  while (!pool.queue.empty()) {
    PoolInstance* free = pool.freeInstance();
    if (!free) return;
    serveFrom(*free, false);
  }
}

// Gives the oldest waiters to `instance` while it has a free slot.
void SchedulerCore::serveFrom(PoolInstance& instance, bool coldStart) {
  InstancePool& pool = *instance.pool;
  while (!pool.queue.empty() && instance.phase == Phase::kReady && pool.hasFreeSlot(instance)) {
    auto waiter = pool.queue.popOldest();
    --pool.function().waiting;
    waiterPools_.erase(waiter->id);
    run(instance, std::move(*waiter), coldStart);
  }
}

void SchedulerCore::run(PoolInstance& instance, Waiter waiter, bool coldStart) {
  const SteadyTime now = clock_.steadyNow();
  InstancePool& pool = *instance.pool;
  ++instance.inFlight;
  if (!pool.hasFreeSlot(instance)) pool.clearFree(instance);
  Running running{absl::FromChrono(now - waiter.enqueuedAt), coldStart, instance.kind, pool.spec().version,
                  pool.spec().memoryMb};
  // The payload is copied, not moved: if the engine refuses (the instance died a moment ago),
  // the request goes back to the head of the queue with it.
  engine::InvokeRequest request{waiter.requestId, waiter.invocation.payload, waiter.invocation.deadline,
                                waiter.invocation.cancellation, waiter.invocation.logTail};
  const engine::InstanceId id = instance.id;
  engine_.invoke(
      id, std::move(request),
      [this, id, waiter = std::move(waiter), running = std::move(running)](engine::InvokeOutcome outcome) mutable {
        finished(id, std::move(waiter), std::move(running), std::move(outcome));
      });
}

void SchedulerCore::finished(engine::InstanceId id, Waiter waiter, Running running, engine::InvokeOutcome outcome) {
  auto it = instances_.find(id);
  PoolInstance* instance = it == instances_.end() ? nullptr : &it->second;
  if (instance) {
    --instance->inFlight;
    if (instance->inFlight == 0) instance->idleSince = clock_.steadyNow();
  }
  // Refused: the engine did not run the request (the instance is gone or not ready). So it
  // waits again, first in line.
  if (outcome.kind == engine::InvokeOutcome::Kind::kRefused) {
    spdlog::debug("request {} refused by instance {}: {}; queued again", waiter.requestId, id, outcome.reason);
    InstancePool* pool = instance ? instance->pool : nullptr;
    if (instance && instance->phase != Phase::kDraining) drain(*instance);
    FunctionPools* function = pool ? &pool->function() : nullptr;
    // Said with the codes the queue's other waiters get (see removeFunction()).
    if (!pool) return failWaiter(waiter, absl::UnavailableError("the instance that took the request is gone; retry"));
    if (function->removed) {
      return failWaiter(waiter, absl::NotFoundError(absl::StrCat("function '", function->definition->key,
                                                                 "' was deleted while the request waited")));
    }
    enqueue(*pool, std::move(waiter), /*first=*/true);
    if (instance->exited && instance->inFlight == 0) return afterExit(*instance);
    dispatch(*pool);
    createInstances();
    return;
  }

  if (instance) {
    std::optional<absl::Duration> execution;
    if (outcome.kind == engine::InvokeOutcome::Kind::kCompleted) execution = outcome.result.execution;
    instance->pool->recordCompletion(clock_.steadyNow(), execution);
  }
  absl::StatusOr<engine::InvokeResult> answered =
      outcome.completed() ? absl::StatusOr<engine::InvokeResult>(std::move(outcome.result))
                          : absl::StatusOr<engine::InvokeResult>(absl::CancelledError(outcome.reason));
  if (auto counted = outcomeOf(answered)) {
    std::optional<absl::Duration> execution;
    if (answered.ok()) execution = answered->execution;
    waiter.metrics->invocation(*counted, absl::FromChrono(clock_.steadyNow() - waiter.enqueuedAt), running.queueWait,
                               execution);
    if (execution) waiter.metrics->billed(running.kind, logs::billedMilliseconds(*execution), running.memoryMb);
  }
  InvocationResult result{std::move(answered),  std::move(waiter.requestId),
                          running.queueWait,    running.coldStart,
                          absl::ZeroDuration(), id,
                          running.kind,         running.version};
  const bool lost = endsInstance(result.outcome);
  if (onRecord_) onRecord_(recordOf(waiter.invocation, waiter.arrivedAt, result));
  waiter.done(std::move(result));
  if (!instance) return;
  if (instance->exited) {
    if (instance->inFlight == 0) afterExit(*instance);
    return;
  }
  if (lost) {
    if (instance->phase != Phase::kDraining) drain(*instance);
    return;
  }
  if (instance->phase != Phase::kReady) return;
  instance->pool->setFree(*instance);
  dispatch(*instance->pool);
}

void SchedulerCore::cancelWaiter(uint64_t waiterId) {
  auto it = waiterPools_.find(waiterId);
  if (it == waiterPools_.end()) return; // already running or gone; the engine handles a running one
  InstancePool& pool = *it->second;
  auto waiter = pool.queue.remove(waiterId);
  if (!waiter) return;
  --pool.function().waiting;
  waiterPools_.erase(it);
  failWaiter(*waiter, absl::CancelledError("the caller cancelled the request while it waited in the queue"));
}

void SchedulerCore::failWaiter(Waiter& waiter, absl::Status status) {
  InvocationResult result;
  result.outcome = std::move(status);
  answer(waiter, std::move(result));
}

void SchedulerCore::refuse(Waiter& waiter, metrics::Refusal cause, absl::Status status, absl::Duration retryAfter) {
  InvocationResult result;
  result.outcome = std::move(status);
  result.retryAfter = retryAfter;
  answer(waiter, std::move(result), cause);
}

void SchedulerCore::answer(Waiter& waiter, InvocationResult result, std::optional<metrics::Refusal> refusal) {
  waiterPools_.erase(waiter.id);
  if (waiter.invocation.cancellation) waiter.invocation.cancellation->setHook({});
  result.requestId = waiter.requestId;
  result.queueWait = absl::FromChrono(clock_.steadyNow() - waiter.enqueuedAt);
  if (refusal) {
    waiter.metrics->refused(*refusal, result.queueWait);
  } else if (auto counted = outcomeOf(result.outcome)) {
    waiter.metrics->invocation(*counted, result.queueWait, result.queueWait, std::nullopt);
  }
  if (onRecord_) onRecord_(recordOf(waiter.invocation, waiter.arrivedAt, result));
  waiter.done(std::move(result));
}

// --- instances ---

void SchedulerCore::startInstance(InstancePool& pool, InstanceKind kind) {
  const engine::InstanceId id = engine_.start(pool.spec());
  PoolInstance& instance = instances_[id];
  instance.id = id;
  instance.kind = kind;
  instance.startTime = clock_.now();
  instance.startedAt = clock_.steadyNow();
  pool.adopt(instance);
  ++pool.function().instances;
  gate_.started(pool.spec().memoryMb);
}

// Takes no new requests; the engine stops it once its in-flight ones finish.
void SchedulerCore::drain(PoolInstance& instance) {
  instance.pool->setPhase(instance, Phase::kDraining);
  engine_.stop(instance.id, engine::StopMode::kDrain);
}

// What the pool wants started (InstancePool::demand): reserved instances only for a pool that
// serves the active version once a failed start's backoff has passed, and nothing for a deleted
// function; both stop at max_instances.
Demand SchedulerCore::demand(InstancePool& pool) const {
  const FunctionPools& function = pool.function();
  if (function.removed) return {};
  const bool mayStartReserved = function.servesActive(pool) && clock_.steadyNow() >= pool.retryAt();
  return pool.demand(mayStartReserved, function.room(), function.definition->maxInstances);
}

// Memory that reserved targets still need and no instance holds yet.
uint64_t SchedulerCore::reservedShortfallMb() const {
  uint64_t shortfall = 0;
  for (const auto& [key, function] : functions_) {
    for (const InstancePool* pool : {function->current, function->next}) {
      if (!pool) continue;
      const uint32_t reserved = pool->reservedLive();
      if (reserved < pool->reservedTarget) {
        shortfall += uint64_t{pool->reservedTarget - reserved} * pool->spec().memoryMb;
      }
    }
  }
  return shortfall;
}

// One start per function per round, the round going on from the function after the one that
// started last: a hot function cannot starve a quiet one's first cold start when tokens are
// scarce. Within a function the current pool comes first.
void SchedulerCore::createInstances() {
  gate_.beginRound(clock_.steadyNow());
  // Kept up to date below as reserved instances start, rather than recounted per start.
  uint64_t shortfall = options_.memoryBudgetMb > 0 ? reservedShortfallMb() : 0;
  uint32_t starting = 0;
  for (const auto& [key, function] : functions_) {
    for (const auto& pool : function->pools) starting += pool->starting();
  }
  for (;;) {
    std::vector<FunctionPools*> order;
    for (auto it = functions_.upper_bound(lastCreator_); it != functions_.end(); ++it)
      order.push_back(it->second.get());
    for (auto it = functions_.begin(); it != functions_.end() && it->first <= lastCreator_; ++it) {
      order.push_back(it->second.get());
    }
    bool started = false;
    for (FunctionPools* function : order) {
      std::vector<InstancePool*> pools = {function->current, function->next};
      for (auto& pool : function->pools) {
        if (pool.get() != function->current && pool.get() != function->next) pools.push_back(pool.get());
      }
      for (InstancePool* pool : pools) {
        if (!pool) continue;
        const Demand wanted = demand(*pool);
        if (wanted.capped) function->metrics->heldBack(metrics::StartLimit::kMaxInstances);
        if (wanted.total() == 0) continue;
        const InstanceKind kind = wanted.reserved > 0 ? InstanceKind::kReserved : InstanceKind::kOnDemand;
        if (auto held = gate_.refusal(pool->spec().memoryMb, kind, shortfall, starting)) {
          function->metrics->heldBack(held->limit);
          pool->heldBy = std::move(held->reason);
          continue;
        }
        startInstance(*pool, kind);
        ++starting;
        if (kind == InstanceKind::kReserved) shortfall -= std::min<uint64_t>(shortfall, pool->spec().memoryMb);
        pool->heldBy.clear();
        lastCreator_ = function->definition->key;
        started = true;
        break;
      }
    }
    if (!started) return;
  }
}

// How long until the queue has drained once, from the rate its latest requests finished at;
// without one, the queue timeout.
absl::Duration SchedulerCore::retryAfter(const InstancePool& pool) const {
  return pool.drainTime(pool.function().definition->queueTimeout);
}

// Reserved kinds follow the target, except in a deleted function, whose instances only drain.
void SchedulerCore::reconcileReserved(InstancePool& pool) {
  if (!pool.function().removed) pool.reconcileReserved(clock_.steadyNow());
}

void SchedulerCore::promoteIfWarm(FunctionPools& function) {
  if (function.next && warm(*function.next)) switchCurrent(function, *function.next);
}

void SchedulerCore::onStarted(engine::InstanceId id, const engine::StartOutcome& outcome) {
  auto it = instances_.find(id);
  if (it == instances_.end()) return;
  PoolInstance& instance = it->second;
  if (instance.phase != Phase::kStarting) return; // drained while starting; its exit follows
  InstancePool& pool = *instance.pool;
  FunctionPools& function = pool.function();
  if (outcome.ready()) {
    pool.setPhase(instance, Phase::kReady); // free from now on
    pool.resetBackoff(options_.retryBackoff);
    const absl::Duration took = absl::FromChrono(clock_.steadyNow() - instance.startedAt);
    pool.recordStart(took);
    function.metrics->coldStart(took);
    // The waiters it takes now waited for its start: they are the cold starts.
    serveFrom(instance, true);
    if (instance.inFlight == 0) instance.idleSince = clock_.steadyNow();
    if (function.next == &pool) promoteIfWarm(function);
    createInstances(); // a start slot is free again
    return;
  }
  spdlog::warn("an instance of {} (version {}) failed to start ({}): {}", function.definition->key, pool.spec().version,
               engine::startKindName(outcome.kind), outcome.message);
  const InstanceKind kind = instance.kind;
  forget(instance);
  if (kind == InstanceKind::kReserved) {
    pool.backOff(clock_.steadyNow(), options_.maxRetryBackoff);
    retries_.insert(pool.retryAt());
  }
  if (takesOverAfterFailedStart(function, pool, outcome)) switchCurrent(function, pool);
  // With nothing ready and nothing starting, the waiters would only wait for the timeout; tell
  // them why instead. A later request tries a new start.
  bool anyAlive = pool.starting() > 0;
  for (const auto& [id, member] : pool.members()) anyAlive |= member->phase == Phase::kReady;
  if (!anyAlive) {
    while (auto waiter = pool.queue.popOldest()) {
      --function.waiting;
      InvocationResult result;
      result.outcome = startFailureOutcome(function.definition->key, outcome);
      // A retry has a fair chance once the next start may be tried.
      if (!functionsFault(outcome)) result.retryAfter = pool.retryBackoff();
      result.coldStart = true;
      result.version = pool.spec().version;
      answer(*waiter, std::move(result));
    }
  }
  createInstances(); // a start slot is free again
  collect(function);
}

void SchedulerCore::onExit(engine::InstanceId id, const engine::InstanceExit& exit) {
  auto it = instances_.find(id);
  if (it == instances_.end()) return;
  PoolInstance& instance = it->second;
  if (!exit.requested) {
    spdlog::warn("instance {} of {} exited: {}", id, instance.pool->function().definition->key, exit.reason);
  }
  instance.pool->setPhase(instance, Phase::kDraining);
  instance.exited = true;
  // Requests sent just before the engine saw it die come back refused; they are queued again
  // when they do, so the instance is kept until then.
  if (instance.inFlight == 0) afterExit(instance);
}

void SchedulerCore::afterExit(PoolInstance& instance) {
  InstancePool& pool = *instance.pool;
  FunctionPools& function = pool.function();
  forget(instance);
  // A dead reserved instance is replaced; waiters get new on-demand instances as needed; the
  // memory it held may let another function's start go ahead.
  reconcileReserved(pool);
  dispatch(pool);
  createInstances();
  collect(function);
}

void SchedulerCore::forget(PoolInstance& instance) {
  InstancePool& pool = *instance.pool;
  pool.release(instance);
  --pool.function().instances;
  gate_.gone(pool.spec().memoryMb);
  instances_.erase(instance.id);
}

// --- time ---

std::optional<SteadyTime> SchedulerCore::nextWakeup() const {
  std::optional<SteadyTime> next;
  if (!deadlines_.empty()) next = deadlines_.top().first;
  if (!instances_.empty() && (!next || nextSweep_ < *next)) next = nextSweep_;
  if (!retries_.empty() && (!next || *retries_.begin() < *next)) next = *retries_.begin();
  if (auto token = gate_.nextToken(); token && (!next || *token < *next)) next = *token;
  const bool tracking =
      std::any_of(functions_.begin(), functions_.end(), [](const auto& f) { return f.second->tracker.has_value(); });
  if (tracking && (!next || nextTrack_ < *next)) next = nextTrack_;
  return next;
}

void SchedulerCore::onTimer() {
  const SteadyTime now = clock_.steadyNow();
  while (!deadlines_.empty() && deadlines_.top().first <= now) {
    const uint64_t id = deadlines_.top().second;
    deadlines_.pop();
    auto it = waiterPools_.find(id);
    if (it == waiterPools_.end()) continue;
    InstancePool& pool = *it->second;
    auto waiter = pool.queue.remove(id);
    if (!waiter) continue;
    FunctionPools& function = pool.function();
    --function.waiting;
    const std::string& key = function.definition->key;
    if (waiter->invocation.deadline <= now && waiter->invocation.deadline <= waiter->queueDeadline) {
      failWaiter(*waiter, absl::DeadlineExceededError(absl::StrCat("the caller's deadline passed after ",
                                                                   seconds(absl::FromChrono(now - waiter->enqueuedAt)),
                                                                   " in the queue of function '", key, "'")));
    } else {
      const std::string why = pool.heldBy.empty() ? "" : absl::StrCat("; new instances were held back: ", pool.heldBy);
      refuse(*waiter, metrics::Refusal::kQueueTimeout,
             absl::ResourceExhaustedError(
                 absl::StrCat("no instance of function '", key, "' became free within its queue timeout of ",
                              seconds(function.definition->queueTimeout), " (", function.instances,
                              " instances, max_instances ", function.definition->maxInstances, ")", why)),
             retryAfter(pool));
    }
    collect(function);
  }
  if (now >= nextSweep_) {
    sweep(now);
    nextSweep_ = now + absl::ToChronoNanoseconds(options_.sweepInterval);
  }
  if (now >= nextTrack_) {
    stepTrackers(now);
    // Whole seconds on from the last sample, so that a late timer does not shift the samples.
    while (nextTrack_ <= now) nextTrack_ += std::chrono::seconds(1);
  }
  retries_.erase(retries_.begin(), retries_.upper_bound(now));
  // Tokens refilled, backoffs passed, memory freed: whatever waits for a start may go now.
  createInstances();
}

// Reclaims on-demand instances idle for the idle timeout, and forgets functions left with nothing.
void SchedulerCore::sweep(SteadyTime now) {
  const auto idleTimeout = absl::ToChronoNanoseconds(options_.idleTimeout);
  for (auto& [key, function] : functions_) {
    for (auto& pool : function->pools) {
      std::vector<PoolInstance*> idle;
      for (const auto& [id, instance] : pool->members()) {
        if (instance->kind == InstanceKind::kOnDemand && instance->phase == Phase::kReady && instance->inFlight == 0 &&
            now - instance->idleSince >= idleTimeout) {
          idle.push_back(instance);
        }
      }
      for (PoolInstance* instance : idle) drain(*instance);
    }
  }
  // A function with nothing running, waiting or reserved costs nothing here: its next request
  // brings its definition back.
  std::erase_if(functions_, [](const auto& entry) {
    const FunctionPools& function = *entry.second;
    return function.instances == 0 && function.waiting == 0 && function.reservedTarget == 0 && !function.tracker;
  });
}

// --- metrics ---

std::shared_ptr<metrics::FunctionMetrics> SchedulerCore::metricsFor(const std::string& key) {
  auto& entry = metrics_[key];
  if (!entry) entry = std::make_shared<metrics::FunctionMetrics>();
  return entry;
}

metrics::Frame SchedulerCore::rollMetrics(int64_t second) {
  metrics::Frame frame;
  frame.second = second;
  frame.server.memoryBudgetMb = gate_.memoryBudgetMb();
  frame.server.memoryUsedMb = gate_.usedMemoryMb();
  frame.server.prestarted = engine_.prestartedSandboxes();
  // Deleted functions still draining count under their name too.
  std::map<std::string, metrics::Gauges> gauges;
  std::map<std::string, AliveMb> alive;
  for (const auto& [key, function] : functions_) {
    gauges[key].add(gaugesOf(*function));
    addAliveMb(alive[key], *function);
  }
  frame.server.memoryReservedMb = reservedTargetsMb();
  for (const auto& function : departed_) {
    gauges[function->definition->key].add(gaugesOf(*function));
    addAliveMb(alive[function->definition->key], *function);
  }

  metrics::Sample total;
  total.second = second;
  frame.series.emplace_back("", metrics::Sample{});
  for (auto it = metrics_.begin(); it != metrics_.end();) {
    auto found = gauges.find(it->first);
    const metrics::Gauges current = found == gauges.end() ? metrics::Gauges{} : found->second;
    if (auto mb = alive.find(it->first); mb != alive.end()) {
      for (InstanceKind kind : {InstanceKind::kOnDemand, InstanceKind::kReserved}) {
        if (const uint64_t n = mb->second[static_cast<size_t>(kind)]) it->second->alive(kind, n);
      }
    }
    const bool recorded = !it->second->idle();
    metrics::Sample sample = it->second->roll(second, current);
    if (recorded || current != metrics::Gauges{}) {
      total.counters.add(sample.counters);
      total.latency.merge(sample.latency);
      total.gauges.add(sample.gauges);
      frame.series.emplace_back(it->first, std::move(sample));
    } else if (it->second.use_count() == 1) {
      it = metrics_.erase(it); // neither a function nor a waiter refers to it, and it had nothing
      continue;
    }
    ++it;
  }
  for (const auto& kind : total.gauges.instances)
    frame.server.startsInProgress += kind[static_cast<size_t>(InstanceState::kStarting)];
  frame.series.front().second = std::move(total);
  return frame;
}

std::string SchedulerCore::newRequestId() { return absl::StrFormat("%s%x", requestPrefix_, ++nextRequest_); }

// Every stored target counts, also one whose function has no code yet: it warms the moment code
// arrives. The definition's memory is the config's, which the next version will run with.
uint64_t SchedulerCore::reservedTargetsMb() const {
  uint64_t total = 0;
  for (const auto& [key, function] : functions_) {
    total += uint64_t{function->reservedTarget} * function->definition->spec.memoryMb;
  }
  return total;
}

// --- status ---

FunctionStatus SchedulerCore::status(const std::string& key) const {
  FunctionStatus status;
  status.key = key;
  auto it = functions_.find(key);
  if (it == functions_.end()) return status;
  const FunctionPools& function = *it->second;
  status.reservedTarget = function.reservedTarget;
  if (function.tracker) {
    status.tracking = function.definition->tracking;
    status.trackedTarget = function.tracker->target();
    status.utilization = function.tracker->utilization();
    status.trackingSets = function.reservedTarget == function.tracker->target();
  }
  if (function.current) status.meanStart = function.current->meanStart();
  status.queueDepth = function.waiting;
  for (const auto& pool : function.pools) {
    for (const auto& [id, instance] : pool->members()) {
      status.inFlight += instance->inFlight;
      status.instances.push_back({id, instance->kind, reportedState(*instance), pool->spec().version,
                                  instance->inFlight, instance->startTime});
    }
    status.reservedReady += pool->reservedReady();
  }
  std::sort(status.instances.begin(), status.instances.end(),
            [](const InstanceStatus& a, const InstanceStatus& b) { return a.id < b.id; });
  return status;
}

} // namespace surge::scheduler
