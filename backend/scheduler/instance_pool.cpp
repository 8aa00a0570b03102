// InstancePool: free slots, demand, reserved kinds and the pool's measures. docs/scheduling.md
// explains the policy; the comments here say why the code is shaped so.
#include "scheduler/instance_pool.h"

#include <absl/strings/str_cat.h>

#include <algorithm>

namespace surge::scheduler {

InstanceState reportedState(const PoolInstance& instance) {
  switch (instance.phase) {
  case Phase::kStarting: return InstanceState::kStarting;
  case Phase::kReady: return instance.inFlight > 0 ? InstanceState::kBusy : InstanceState::kIdle;
  case Phase::kDraining: return InstanceState::kDraining;
  }
  return InstanceState::kStarting;
}
namespace {

// Weight of the newest sample in a pool's moving means.
constexpr double kMeanWeight = 0.125;

void addSample(absl::Duration& mean, absl::Duration sample) {
  mean = mean == absl::ZeroDuration() ? sample : mean + (sample - mean) * kMeanWeight;
}

// Completions remembered per pool for its drain rate.
constexpr size_t kDrainSamples = 32;

} // namespace

InstancePool::InstancePool(FunctionPools& function, engine::InstanceSpec spec, absl::Duration retryBackoff)
    : function_(&function), spec_(std::move(spec)), retryBackoff_(retryBackoff) {}

// --- members ---

void InstancePool::adopt(PoolInstance& instance) {
  instance.pool = this;
  members_[instance.id] = &instance;
  if (instance.phase == Phase::kStarting) ++starting_;
}

void InstancePool::release(PoolInstance& instance) {
  clearFree(instance);
  if (instance.phase == Phase::kStarting) --starting_;
  members_.erase(instance.id);
}

void InstancePool::setPhase(PoolInstance& instance, Phase phase) {
  if (instance.phase == Phase::kStarting && phase != Phase::kStarting) --starting_;
  instance.phase = phase;
  if (phase == Phase::kReady) {
    setFree(instance);
  } else {
    clearFree(instance);
  }
}

// --- free slots ---

bool InstancePool::hasFreeSlot(const PoolInstance& instance) const {
  return instance.inFlight < std::max<uint32_t>(1, spec_.concurrency);
}

void InstancePool::setFree(PoolInstance& instance) {
  if (instance.phase != Phase::kReady || !hasFreeSlot(instance)) return;
  auto& free = instance.kind == InstanceKind::kReserved ? freeReserved_ : freeOnDemand_;
  free.emplace(instance.id, &instance);
}

void InstancePool::clearFree(PoolInstance& instance) {
  freeReserved_.erase(instance.id);
  freeOnDemand_.erase(instance.id);
}

PoolInstance* InstancePool::freeInstance() const {
  const auto& free = freeReserved_.empty() ? freeOnDemand_ : freeReserved_;
  return free.empty() ? nullptr : free.begin()->second;
}

// --- reserved capacity ---

uint32_t InstancePool::reservedLive() const {
  uint32_t reserved = 0;
  for (const auto& [id, instance] : members_) {
    if (instance->kind == InstanceKind::kReserved && instance->phase != Phase::kDraining) ++reserved;
  }
  return reserved;
}

uint32_t InstancePool::reservedReady() const {
  uint32_t ready = 0;
  for (const auto& [id, instance] : members_) {
    if (instance->kind == InstanceKind::kReserved && instance->phase == Phase::kReady) ++ready;
  }
  return ready;
}

void InstancePool::reconcileReserved(SteadyTime now) {
  uint32_t reserved = reservedLive();
  auto changeKind = [&](PoolInstance& instance, InstanceKind kind) {
    clearFree(instance);
    instance.kind = kind;
    setFree(instance);
  };
  if (reserved < reservedTarget) {
    for (const auto& [id, instance] : members_) {
      if (reserved == reservedTarget) break;
      if (instance->kind == InstanceKind::kOnDemand && instance->phase != Phase::kDraining) {
        changeKind(*instance, InstanceKind::kReserved);
        ++reserved;
      }
    }
    return;
  }
  for (Phase phase : {Phase::kStarting, Phase::kReady}) {
    for (bool busy : {false, true}) {
      for (auto it = members_.rbegin(); it != members_.rend() && reserved > reservedTarget; ++it) {
        PoolInstance& instance = *it->second;
        if (instance.kind != InstanceKind::kReserved || instance.phase != phase || (instance.inFlight > 0) != busy) {
          continue;
        }
        changeKind(instance, InstanceKind::kOnDemand);
        if (instance.inFlight == 0) instance.idleSince = now;
        --reserved;
      }
    }
  }
}

// --- demand ---

// On-demand instances are wanted while the waiters outnumber the slots already on their way, so
// that a burst of 50 at concurrency 10 starts 5 instances, not 50. Slots on their way are those
// of starting instances, plus the turns busy slots will free while a new instance would still be
// starting (busy slots × mean start / mean execution, once both are measured): a queue that the
// running instances will drain before a start could finish needs no start.
Demand InstancePool::demand(bool mayStartReserved, uint32_t room, uint32_t maxInstances) {
  Demand wanted;
  if (mayStartReserved) {
    const uint32_t reserved = reservedLive();
    if (reserved < reservedTarget) wanted.reserved = reservedTarget - reserved;
  }
  const size_t slots = std::max<uint32_t>(1, spec_.concurrency);
  size_t coming = static_cast<size_t>(starting_) * slots;
  if (meanExecution_ > absl::ZeroDuration() && meanStart_ > absl::ZeroDuration()) {
    size_t busy = 0;
    for (const auto& [id, instance] : members_) {
      if (instance->phase == Phase::kReady) busy += instance->inFlight;
    }
    coming += static_cast<size_t>(static_cast<double>(busy) * (meanStart_ / meanExecution_));
  }
  if (queue.size() > coming) wanted.onDemand = static_cast<uint32_t>((queue.size() - coming + slots - 1) / slots);
  if (wanted.total() > room) {
    heldBy = absl::StrCat("max_instances ", maxInstances, " was reached");
    wanted.capped = true;
    wanted.reserved = std::min(wanted.reserved, room);
    wanted.onDemand = std::min(wanted.onDemand, room - wanted.reserved);
  }
  return wanted;
}

// --- measures ---

void InstancePool::recordCompletion(SteadyTime now, std::optional<absl::Duration> execution) {
  completions_.push_back(now);
  if (completions_.size() > kDrainSamples) completions_.pop_front();
  if (execution) addSample(meanExecution_, *execution);
}

void InstancePool::recordStart(absl::Duration took) { addSample(meanStart_, took); }

absl::Duration InstancePool::drainTime(absl::Duration timeout) const {
  const auto& done = completions_;
  if (done.size() < 2 || done.back() == done.front()) return timeout;
  const double perSecond = (done.size() - 1) / std::chrono::duration<double>(done.back() - done.front()).count();
  const absl::Duration drain = absl::Seconds(static_cast<double>(queue.size() + 1) / perSecond);
  return std::clamp(absl::Ceil(drain, absl::Milliseconds(1)), absl::Milliseconds(1), timeout);
}

// --- failed starts ---

void InstancePool::backOff(SteadyTime now, absl::Duration maxBackoff) {
  retryAt_ = now + absl::ToChronoNanoseconds(retryBackoff_);
  retryBackoff_ = std::min(retryBackoff_ * 2, maxBackoff);
}

} // namespace surge::scheduler
