// SchedulerCore: dispatch, the pending queue, scale-out, reserved capacity and reclaim.
// docs/scheduling.md explains the policy; the comments here say why the code is shaped so.
#include "scheduler/scheduler_core.h"

#include "common/absl_compat.h"

#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

namespace surge::scheduler {
namespace {

std::string seconds(absl::Duration d) { return absl::StrFormat("%g s", absl::ToDoubleSeconds(d)); }

// Token counts are fractions; a timer may fire a hair before a whole token is in.

// Weight of the newest sample in a pool's moving means.
constexpr double kMeanWeight = 0.125;

void addSample(absl::Duration& mean, absl::Duration sample) {
  mean = mean == absl::ZeroDuration() ? sample : mean + (sample - mean) * kMeanWeight;
}

// Completions remembered per pool for its drain rate.
constexpr size_t kDrainSamples = 32;

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
      nextSweep_(clock.steadyNow() + absl::ToChronoNanoseconds(options.sweepInterval)) {
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

SchedulerCore::Function& SchedulerCore::functionFor(const FunctionDefinitionPtr& definition) {
  auto it = functions_.find(definition->key);
  if (it == functions_.end() || it->second->definition->functionId != definition->functionId ||
      it->second->definition->revision < definition->revision) {
    update(definition);
    it = functions_.find(definition->key);
  }
  return *it->second;
}

SchedulerCore::InstancePool& SchedulerCore::poolFor(Function& function, const engine::InstanceSpec& spec) {
  for (auto& pool : function.pools) {
    if (pool->spec == spec) return *pool;
  }
  auto pool = std::make_unique<InstancePool>();
  pool->function = &function;
  pool->spec = spec;
  pool->retryBackoff = options_.retryBackoff;
  function.pools.push_back(std::move(pool));
  return *function.pools.back();
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
    it = functions_.emplace(definition->key, std::make_unique<Function>()).first;
  } else if (definition->revision <= it->second->definition->revision) {
    return;
  }
  Function& function = *it->second;
  function.definition = definition;
  const uint32_t target = definition->reservedTarget;

  if (definition->spec.version == 0) {
    // No code (yet): nothing can start. Waiters cannot exist either: submit refuses them.
    if (function.current) retire(*function.current);
    if (function.next) retire(*function.next);
    function.current = function.next = nullptr;
  } else if (!function.current) {
    function.current = &poolFor(function, definition->spec);
  } else if (!(function.current->spec == definition->spec)) {
    // A new version or an instance-visible config change: roll over. With a reserved target the
    // new pool warms first and takes over when its reserved instances are ready, so that
    // reserved traffic sees no cold start; without one it takes over now.
    InstancePool& fresh = poolFor(function, definition->spec);
    if (function.next && function.next != &fresh) retire(*function.next);
    function.next = nullptr;
    if (target == 0) {
      switchCurrent(function, fresh);
    } else {
      function.next = &fresh;
    }
  } else if (function.next) {
    // Back to the current spec before the rollover finished.
    retire(*function.next);
    function.next = nullptr;
  }

  // During a rollover the old pool keeps its reserved instances: they serve until the new
  // pool's are ready.
  if (function.current) function.current->reservedTarget = target;
  if (function.next) function.next->reservedTarget = target;
  if (function.next) reconcileReserved(*function.next);
  if (function.current) reconcileReserved(*function.current);
  promoteIfWarm(function);
  createInstances();
  collect(function);
}

void SchedulerCore::switchCurrent(Function& function, InstancePool& pool) {
  InstancePool* old = function.current;
  function.current = &pool;
  if (function.next == &pool) function.next = nullptr;
  pool.reservedTarget = function.definition->reservedTarget;
  if (old && old != &pool) {
    // Requests for the active version go to the new instances; requests for a named version stay.
    PendingQueue keep;
    while (auto waiter = old->queue.popOldest()) {
      if (waiter->invocation.versionSpec) {
        keep.push(std::move(*waiter));
      } else {
        waiterPools_[waiter->id] = &pool;
        pool.queue.push(std::move(*waiter));
      }
    }
    old->queue = std::move(keep);
    retire(*old);
  }
  reconcileReserved(pool);
  dispatch(pool);
  createInstances();
}

void SchedulerCore::retire(InstancePool& pool) {
  pool.reservedTarget = 0;
  std::vector<engine::InstanceId> members(pool.members.begin(), pool.members.end());
  for (engine::InstanceId id : members) drain(instances_.at(id));
}

void SchedulerCore::removeFunction(std::unique_ptr<Function> function, const absl::Status& why) {
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
void SchedulerCore::collect(Function& function) {
  auto& pools = function.pools;
  pools.erase(std::remove_if(pools.begin(), pools.end(),
                             [&](const std::unique_ptr<InstancePool>& pool) {
                               return pool.get() != function.current && pool.get() != function.next &&
                                      pool->members.empty() && pool->queue.empty();
                             }),
              pools.end());
  if (function.removed && function.instances == 0) {
    departed_.erase(std::remove_if(departed_.begin(), departed_.end(),
                                   [&](const std::unique_ptr<Function>& f) { return f.get() == &function; }),
                    departed_.end());
  }
}

// --- requests ---

void SchedulerCore::submit(Invocation invocation, InvocationCallback done) {
  Function& function = functionFor(invocation.function);
  const FunctionDefinition& definition = *function.definition;
  Waiter waiter{nextWaiterId_++, std::move(invocation), std::move(done), newRequestId(), clock_.steadyNow(), {}};
  waiter.queueDeadline = waiter.enqueuedAt + absl::ToChronoNanoseconds(definition.queueTimeout);

  InstancePool* pool = function.current;
  if (waiter.invocation.versionSpec) {
    pool = &poolFor(function, *waiter.invocation.versionSpec);
  } else if (!pool) {
    return failWaiter(waiter, absl::FailedPreconditionError(
                                  absl::StrCat("function '", definition.key, "' has no code; upload some first")));
  }
  // Waiters exist only while no slot is free, so a new request with an empty queue either runs
  // now or is the first to wait.
  if (pool->queue.empty()) {
    const auto& free = pool->freeReserved.empty() ? pool->freeOnDemand : pool->freeReserved;
    if (!free.empty()) return run(instances_.at(*free.begin()), std::move(waiter), false);
  }
  if (function.waiting >= definition.maxQueueLength) {
    return failWaiter(waiter,
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
  ++pool.function->waiting;
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
    auto& free = pool.freeReserved.empty() ? pool.freeOnDemand : pool.freeReserved;
    if (free.empty()) return;
    serveFrom(instances_.at(*free.begin()), false);
  }
}

// Gives the oldest waiters to `instance` while it has a free slot.
void SchedulerCore::serveFrom(Instance& instance, bool coldStart) {
  InstancePool& pool = *instance.pool;
  while (!pool.queue.empty() && instance.phase == Phase::kReady && hasFreeSlot(instance)) {
    auto waiter = pool.queue.popOldest();
    --pool.function->waiting;
    waiterPools_.erase(waiter->id);
    run(instance, std::move(*waiter), coldStart);
  }
}

void SchedulerCore::run(Instance& instance, Waiter waiter, bool coldStart) {
  const SteadyTime now = clock_.steadyNow();
  ++instance.inFlight;
  if (!hasFreeSlot(instance)) clearFree(instance);
  Running running{absl::FromChrono(now - waiter.enqueuedAt), coldStart, instance.kind, instance.pool->spec.version};
  // The payload is copied, not moved: if the engine refuses (the instance died a moment ago),
  // the request goes back to the head of the queue with it.
  engine::InvokeRequest request{waiter.requestId, waiter.invocation.payload, waiter.invocation.deadline,
                                waiter.invocation.cancellation};
  const engine::InstanceId id = instance.id;
  engine_.invoke(
      id, std::move(request),
      [this, id, waiter = std::move(waiter), running = std::move(running)](engine::InvokeOutcome outcome) mutable {
        finished(id, std::move(waiter), std::move(running), std::move(outcome));
      });
}

void SchedulerCore::finished(engine::InstanceId id, Waiter waiter, Running running, engine::InvokeOutcome outcome) {
  auto it = instances_.find(id);
  Instance* instance = it == instances_.end() ? nullptr : &it->second;
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
    Function* function = pool ? pool->function : nullptr;
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
    InstancePool& pool = *instance->pool;
    pool.completions.push_back(clock_.steadyNow());
    if (pool.completions.size() > kDrainSamples) pool.completions.pop_front();
    if (outcome.kind == engine::InvokeOutcome::Kind::kCompleted)
      addSample(pool.meanExecution, outcome.result.execution);
  }
  absl::StatusOr<engine::InvokeResult> answered =
      outcome.completed() ? absl::StatusOr<engine::InvokeResult>(std::move(outcome.result))
                          : absl::StatusOr<engine::InvokeResult>(absl::CancelledError(outcome.reason));
  InvocationResult result{std::move(answered),  std::move(waiter.requestId),
                          running.queueWait,    running.coldStart,
                          absl::ZeroDuration(), id,
                          running.kind,         running.version};
  const bool lost = endsInstance(result.outcome);
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
  setFree(*instance);
  dispatch(*instance->pool);
}

void SchedulerCore::cancelWaiter(uint64_t waiterId) {
  auto it = waiterPools_.find(waiterId);
  if (it == waiterPools_.end()) return; // already running or gone; the engine handles a running one
  InstancePool& pool = *it->second;
  auto waiter = pool.queue.remove(waiterId);
  if (!waiter) return;
  --pool.function->waiting;
  waiterPools_.erase(it);
  failWaiter(*waiter, absl::CancelledError("the caller cancelled the request while it waited in the queue"));
}

void SchedulerCore::failWaiter(Waiter& waiter, absl::Status status, absl::Duration retryAfter) {
  InvocationResult result;
  result.outcome = std::move(status);
  result.retryAfter = retryAfter;
  answer(waiter, std::move(result));
}

void SchedulerCore::answer(Waiter& waiter, InvocationResult result) {
  waiterPools_.erase(waiter.id);
  if (waiter.invocation.cancellation) waiter.invocation.cancellation->setHook({});
  result.requestId = waiter.requestId;
  result.queueWait = absl::FromChrono(clock_.steadyNow() - waiter.enqueuedAt);
  waiter.done(std::move(result));
}

// --- instances ---

uint32_t SchedulerCore::reservedLive(const InstancePool& pool) const {
  uint32_t reserved = 0;
  for (engine::InstanceId id : pool.members) {
    const Instance& instance = instances_.at(id);
    if (instance.kind == InstanceKind::kReserved && instance.phase != Phase::kDraining) ++reserved;
  }
  return reserved;
}

bool SchedulerCore::hasFreeSlot(const Instance& instance) const {
  return instance.inFlight < std::max<uint32_t>(1, instance.pool->spec.concurrency);
}

void SchedulerCore::setFree(Instance& instance) {
  if (instance.phase != Phase::kReady || !hasFreeSlot(instance)) return;
  auto& free = instance.kind == InstanceKind::kReserved ? instance.pool->freeReserved : instance.pool->freeOnDemand;
  free.insert(instance.id);
}

void SchedulerCore::clearFree(Instance& instance) {
  instance.pool->freeReserved.erase(instance.id);
  instance.pool->freeOnDemand.erase(instance.id);
}

void SchedulerCore::startInstance(InstancePool& pool, InstanceKind kind) {
  const engine::InstanceId id = engine_.start(pool.spec);
  Instance& instance = instances_[id];
  instance.id = id;
  instance.pool = &pool;
  instance.kind = kind;
  instance.startTime = clock_.now();
  instance.startedAt = clock_.steadyNow();
  pool.members.insert(id);
  ++pool.starting;
  ++pool.function->instances;
  gate_.started(pool.spec.memoryMb);
}

// Takes no new requests; the engine stops it once its in-flight ones finish.
void SchedulerCore::drain(Instance& instance) {
  if (instance.phase == Phase::kStarting) --instance.pool->starting;
  instance.phase = Phase::kDraining;
  clearFree(instance);
  engine_.stop(instance.id, engine::StopMode::kDrain);
}

// What the pool wants started: its reserved shortfall (once a failed start's backoff has passed),
// and on-demand instances while the waiters outnumber the slots already on their way, so that a
// burst of 50 at concurrency 10 starts 5 instances, not 50. Slots on their way are those of
// starting instances, plus the turns busy slots will free while a new instance would still be
// starting (busy slots × mean start / mean execution, once both are measured): a queue that the
// running instances will drain before a start could finish needs no start. Both stop at
// max_instances.
SchedulerCore::Demand SchedulerCore::demand(InstancePool& pool) const {
  const Function& function = *pool.function;
  Demand wanted;
  if (function.removed) return wanted;
  if ((&pool == function.current || &pool == function.next) && clock_.steadyNow() >= pool.retryAt) {
    const uint32_t reserved = reservedLive(pool);
    if (reserved < pool.reservedTarget) wanted.reserved = pool.reservedTarget - reserved;
  }
  const size_t slots = std::max<uint32_t>(1, pool.spec.concurrency);
  size_t coming = static_cast<size_t>(pool.starting) * slots;
  if (pool.meanExecution > absl::ZeroDuration() && pool.meanStart > absl::ZeroDuration()) {
    size_t busy = 0;
    for (engine::InstanceId id : pool.members) {
      const Instance& instance = instances_.at(id);
      if (instance.phase == Phase::kReady) busy += instance.inFlight;
    }
    coming += static_cast<size_t>(static_cast<double>(busy) * (pool.meanStart / pool.meanExecution));
  }
  if (pool.queue.size() > coming)
    wanted.onDemand = static_cast<uint32_t>((pool.queue.size() - coming + slots - 1) / slots);
  const uint32_t max = function.definition->maxInstances;
  const uint32_t room = function.instances < max ? max - function.instances : 0;
  if (wanted.reserved + wanted.onDemand > room) {
    pool.heldBy = absl::StrCat("max_instances ", max, " was reached");
    wanted.reserved = std::min(wanted.reserved, room);
    wanted.onDemand = std::min(wanted.onDemand, room - wanted.reserved);
  }
  return wanted;
}

// Memory that reserved targets still need and no instance holds yet.
uint64_t SchedulerCore::reservedShortfallMb() const {
  uint64_t shortfall = 0;
  for (const auto& [key, function] : functions_) {
    for (const InstancePool* pool : {function->current, function->next}) {
      if (!pool) continue;
      const uint32_t reserved = reservedLive(*pool);
      if (reserved < pool->reservedTarget) shortfall += uint64_t{pool->reservedTarget - reserved} * pool->spec.memoryMb;
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
    for (const auto& pool : function->pools) starting += pool->starting;
  }
  for (;;) {
    std::vector<Function*> order;
    for (auto it = functions_.upper_bound(lastCreator_); it != functions_.end(); ++it)
      order.push_back(it->second.get());
    for (auto it = functions_.begin(); it != functions_.end() && it->first <= lastCreator_; ++it) {
      order.push_back(it->second.get());
    }
    bool started = false;
    for (Function* function : order) {
      std::vector<InstancePool*> pools = {function->current, function->next};
      for (auto& pool : function->pools) {
        if (pool.get() != function->current && pool.get() != function->next) pools.push_back(pool.get());
      }
      for (InstancePool* pool : pools) {
        if (!pool) continue;
        const Demand wanted = demand(*pool);
        if (wanted.reserved + wanted.onDemand == 0) continue;
        const InstanceKind kind = wanted.reserved > 0 ? InstanceKind::kReserved : InstanceKind::kOnDemand;
        if (auto held = gate_.refusal(pool->spec.memoryMb, kind, shortfall, starting)) {
          pool->heldBy = std::move(*held);
          continue;
        }
        startInstance(*pool, kind);
        ++starting;
        if (kind == InstanceKind::kReserved) shortfall -= std::min<uint64_t>(shortfall, pool->spec.memoryMb);
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
  const absl::Duration timeout = pool.function->definition->queueTimeout;
  const auto& done = pool.completions;
  if (done.size() < 2 || done.back() == done.front()) return timeout;
  const double perSecond = (done.size() - 1) / std::chrono::duration<double>(done.back() - done.front()).count();
  const absl::Duration drain = absl::Seconds(static_cast<double>(pool.queue.size() + 1) / perSecond);
  return std::clamp(absl::Ceil(drain, absl::Milliseconds(1)), absl::Milliseconds(1), timeout);
}

// Brings the pool's reserved instances towards its target by promoting warm on-demand ones
// (createInstances() starts the rest). A surplus becomes on-demand, starting ones first, then
// idle, then busy; nothing is stopped here.
void SchedulerCore::reconcileReserved(InstancePool& pool) {
  Function& function = *pool.function;
  if (function.removed) return;
  uint32_t reserved = reservedLive(pool);
  auto changeKind = [&](Instance& instance, InstanceKind kind) {
    clearFree(instance);
    instance.kind = kind;
    setFree(instance);
  };
  if (reserved < pool.reservedTarget) {
    for (engine::InstanceId id : pool.members) {
      Instance& instance = instances_.at(id);
      if (reserved == pool.reservedTarget) break;
      if (instance.kind == InstanceKind::kOnDemand && instance.phase != Phase::kDraining) {
        changeKind(instance, InstanceKind::kReserved);
        ++reserved;
      }
    }
    return;
  }
  for (Phase phase : {Phase::kStarting, Phase::kReady}) {
    for (bool busy : {false, true}) {
      for (auto id = pool.members.rbegin(); id != pool.members.rend() && reserved > pool.reservedTarget; ++id) {
        Instance& instance = instances_.at(*id);
        if (instance.kind != InstanceKind::kReserved || instance.phase != phase || (instance.inFlight > 0) != busy) {
          continue;
        }
        changeKind(instance, InstanceKind::kOnDemand);
        if (instance.inFlight == 0) instance.idleSince = clock_.steadyNow();
        --reserved;
      }
    }
  }
}

// A rollover completes when the new pool's reserved instances are all ready.
void SchedulerCore::promoteIfWarm(Function& function) {
  InstancePool* next = function.next;
  if (!next) return;
  uint32_t ready = 0;
  for (engine::InstanceId id : next->members) {
    const Instance& instance = instances_.at(id);
    if (instance.kind == InstanceKind::kReserved && instance.phase == Phase::kReady) ++ready;
  }
  if (ready >= next->reservedTarget) switchCurrent(function, *next);
}

void SchedulerCore::onStarted(engine::InstanceId id, const engine::StartOutcome& outcome) {
  auto it = instances_.find(id);
  if (it == instances_.end()) return;
  Instance& instance = it->second;
  if (instance.phase != Phase::kStarting) return; // drained while starting; its exit follows
  InstancePool& pool = *instance.pool;
  Function& function = *pool.function;
  --pool.starting;
  if (outcome.ready()) {
    instance.phase = Phase::kReady;
    pool.retryBackoff = options_.retryBackoff;
    addSample(pool.meanStart, absl::FromChrono(clock_.steadyNow() - instance.startedAt));
    setFree(instance);
    // The waiters it takes now waited for its start: they are the cold starts.
    serveFrom(instance, true);
    if (instance.inFlight == 0) instance.idleSince = clock_.steadyNow();
    if (function.next == &pool) promoteIfWarm(function);
    createInstances(); // a start slot is free again
    return;
  }
  spdlog::warn("an instance of {} (version {}) failed to start ({}): {}", function.definition->key, pool.spec.version,
               engine::startKindName(outcome.kind), outcome.message);
  const InstanceKind kind = instance.kind;
  forget(instance);
  if (kind == InstanceKind::kReserved) {
    pool.retryAt = clock_.steadyNow() + absl::ToChronoNanoseconds(pool.retryBackoff);
    retries_.insert(pool.retryAt);
    pool.retryBackoff = std::min(pool.retryBackoff * 2, options_.maxRetryBackoff);
  }
  // A new version whose code cannot start still takes over: it is what was deployed, and its
  // callers should see why it fails rather than keep running the old code unknowingly. A start
  // the platform failed says nothing about the new code, so the warm old version keeps serving.
  if (function.next == &pool && functionsFault(outcome)) switchCurrent(function, pool);
  // With nothing ready and nothing starting, the waiters would only wait for the timeout; tell
  // them why instead. A later request tries a new start.
  bool anyAlive = pool.starting > 0;
  for (engine::InstanceId member : pool.members) anyAlive |= instances_.at(member).phase == Phase::kReady;
  if (!anyAlive) {
    while (auto waiter = pool.queue.popOldest()) {
      --function.waiting;
      InvocationResult result;
      result.outcome = startFailureOutcome(function.definition->key, outcome);
      // A retry has a fair chance once the next start may be tried.
      if (!functionsFault(outcome)) result.retryAfter = pool.retryBackoff;
      result.coldStart = true;
      result.version = pool.spec.version;
      answer(*waiter, std::move(result));
    }
  }
  createInstances(); // a start slot is free again
  collect(function);
}

void SchedulerCore::onExit(engine::InstanceId id, const engine::InstanceExit& exit) {
  auto it = instances_.find(id);
  if (it == instances_.end()) return;
  Instance& instance = it->second;
  if (!exit.requested) {
    spdlog::warn("instance {} of {} exited: {}", id, instance.pool->function->definition->key, exit.reason);
  }
  if (instance.phase == Phase::kStarting) --instance.pool->starting;
  instance.phase = Phase::kDraining;
  instance.exited = true;
  clearFree(instance);
  // Requests sent just before the engine saw it die come back refused; they are queued again
  // when they do, so the instance is kept until then.
  if (instance.inFlight == 0) afterExit(instance);
}

void SchedulerCore::afterExit(Instance& instance) {
  InstancePool& pool = *instance.pool;
  Function& function = *pool.function;
  forget(instance);
  // A dead reserved instance is replaced; waiters get new on-demand instances as needed; the
  // memory it held may let another function's start go ahead.
  reconcileReserved(pool);
  dispatch(pool);
  createInstances();
  collect(function);
}

void SchedulerCore::forget(Instance& instance) {
  InstancePool& pool = *instance.pool;
  clearFree(instance);
  pool.members.erase(instance.id);
  --pool.function->instances;
  gate_.gone(pool.spec.memoryMb);
  instances_.erase(instance.id);
}

// --- time ---

std::optional<SteadyTime> SchedulerCore::nextWakeup() const {
  std::optional<SteadyTime> next;
  if (!deadlines_.empty()) next = deadlines_.top().first;
  if (!instances_.empty() && (!next || nextSweep_ < *next)) next = nextSweep_;
  if (!retries_.empty() && (!next || *retries_.begin() < *next)) next = *retries_.begin();
  if (auto token = gate_.nextToken(); token && (!next || *token < *next)) next = *token;
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
    --pool.function->waiting;
    const std::string& key = pool.function->definition->key;
    if (waiter->invocation.deadline <= now && waiter->invocation.deadline <= waiter->queueDeadline) {
      failWaiter(*waiter, absl::DeadlineExceededError(absl::StrCat("the caller's deadline passed after ",
                                                                   seconds(absl::FromChrono(now - waiter->enqueuedAt)),
                                                                   " in the queue of function '", key, "'")));
    } else {
      const std::string why = pool.heldBy.empty() ? "" : absl::StrCat("; new instances were held back: ", pool.heldBy);
      failWaiter(*waiter,
                 absl::ResourceExhaustedError(
                     absl::StrCat("no instance of function '", key, "' became free within its queue timeout of ",
                                  seconds(pool.function->definition->queueTimeout), " (", pool.function->instances,
                                  " instances, max_instances ", pool.function->definition->maxInstances, ")", why)),
                 retryAfter(pool));
    }
    collect(*pool.function);
  }
  if (now >= nextSweep_) {
    sweep(now);
    nextSweep_ = now + absl::ToChronoNanoseconds(options_.sweepInterval);
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
      std::vector<engine::InstanceId> idle;
      for (engine::InstanceId id : pool->members) {
        const Instance& instance = instances_.at(id);
        if (instance.kind == InstanceKind::kOnDemand && instance.phase == Phase::kReady && instance.inFlight == 0 &&
            now - instance.idleSince >= idleTimeout) {
          idle.push_back(id);
        }
      }
      for (engine::InstanceId id : idle) drain(instances_.at(id));
    }
  }
  // A function with nothing running, waiting or reserved costs nothing here: its next request
  // brings its definition back.
  std::erase_if(functions_, [](const auto& entry) {
    const Function& function = *entry.second;
    return function.instances == 0 && function.waiting == 0 && function.definition->reservedTarget == 0;
  });
}

std::string SchedulerCore::newRequestId() { return absl::StrFormat("%s%x", requestPrefix_, ++nextRequest_); }

absl::Status SchedulerCore::reservationFits(const std::string& key, uint32_t count, uint32_t memoryMb) const {
  if (gate_.memoryBudgetMb() == 0) return absl::OkStatus();
  uint64_t others = 0;
  // Every stored target counts, also one whose function has no code yet: it warms the moment
  // code arrives. The definition's memory is the config's, which the next version will run with.
  for (const auto& [otherKey, function] : functions_) {
    if (otherKey == key) continue;
    others += uint64_t{function->definition->reservedTarget} * function->definition->spec.memoryMb;
  }
  return gate_.reservationFits(absl::StrCat("reserving ", count, " instances of ", memoryMb, " MiB"),
                               uint64_t{count} * memoryMb, others);
}

// --- status ---

FunctionStatus SchedulerCore::status(const std::string& key) const {
  FunctionStatus status;
  status.key = key;
  auto it = functions_.find(key);
  if (it == functions_.end()) return status;
  const Function& function = *it->second;
  status.reservedTarget = function.definition->reservedTarget;
  status.queueDepth = function.waiting;
  for (const auto& pool : function.pools) {
    for (engine::InstanceId id : pool->members) {
      const Instance& instance = instances_.at(id);
      InstanceState state = InstanceState::kStarting;
      if (instance.phase == Phase::kDraining) {
        state = InstanceState::kDraining;
      } else if (instance.phase == Phase::kReady) {
        state = instance.inFlight > 0 ? InstanceState::kBusy : InstanceState::kIdle;
        if (instance.kind == InstanceKind::kReserved) ++status.reservedReady;
      }
      status.inFlight += instance.inFlight;
      status.instances.push_back({id, instance.kind, state, pool->spec.version, instance.inFlight, instance.startTime});
    }
  }
  std::sort(status.instances.begin(), status.instances.end(),
            [](const InstanceStatus& a, const InstanceStatus& b) { return a.id < b.id; });
  return status;
}

} // namespace surge::scheduler
