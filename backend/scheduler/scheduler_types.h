// The scheduler's vocabulary: what it is told about a function, what one invocation asks for and
// gets back, and the status it reports. Plain values, shared by the core, the facade and the API.
#pragma once

#include "common/instance_kind.h"
#include "common/tracking_policy.h"
#include "engine/engine.h"
#include "logs/invocation_record.h"

#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace surge::scheduler {

using SteadyTime = std::chrono::steady_clock::time_point;

// One function as the scheduler needs it, read from the store by the API layer. Immutable once
// shared; a change to the function comes as a new definition with a higher revision.
struct FunctionDefinition {
  std::string key;        // "namespace/name"
  int64_t functionId = 0; // the store's id; a deleted and recreated function gets a new one
  int64_t revision = 0;   // the store's revision; a higher one replaces a lower one
  // The active version with the current config. version 0: no code yet (nothing can start).
  engine::InstanceSpec spec;
  uint32_t reservedTarget = 0;
  // With a policy the reserved target follows the load (TargetTracker) and reservedTarget does
  // not apply.
  std::optional<common::TrackingPolicy> tracking;
  uint32_t maxInstances = 100;
  uint32_t maxQueueLength = 1000;
  absl::Duration queueTimeout = absl::Seconds(60);
};
using FunctionDefinitionPtr = std::shared_ptr<const FunctionDefinition>;

// What a function's reservation windows ask of the scheduler now (control/ computes it from the
// windows and pushes each change). The reserved target the function keeps is then
// max(open.value_or(its standing target), warming).
struct ScheduledTarget {
  // The largest count among the windows open now; nullopt: none is open, the standing target
  // applies.
  std::optional<uint32_t> open;
  // The largest count among the windows warming up ahead of their start now; 0: none.
  uint32_t warming = 0;

  bool empty() const { return !open && warming == 0; }
  uint32_t targetOver(uint32_t standing) const { return std::max(open.value_or(standing), warming); }
  // With a tracking policy the windows set a floor under the tracked target instead.
  uint32_t floorUnder(uint32_t tracked) const { return std::max({tracked, open.value_or(0), warming}); }
  bool operator==(const ScheduledTarget&) const = default;
};

using common::InstanceKind;
using common::InstanceState;

// One call to run a function.
struct Invocation {
  FunctionDefinitionPtr function;
  // A retained version other than the active one, already resolved; null: the active version.
  std::shared_ptr<const engine::InstanceSpec> versionSpec;
  std::string payload;
  // When the caller stops waiting (queue wait plus execution).
  SteadyTime deadline = SteadyTime::max();
  // Cancelling leaves the queue at once, or cancels the execution if it already started.
  std::shared_ptr<engine::CancellationToken> cancellation;
  // Keep the last 4 KiB of what it prints (engine::InvokeResult::logTail).
  bool logTail = false;
};

struct InvocationResult {
  // A result (which may carry the function's own error), or why the platform could not run it:
  // RESOURCE_EXHAUSTED (queue full or queue timeout), DEADLINE_EXCEEDED, CANCELLED, NOT_FOUND
  // (deleted meanwhile), UNAVAILABLE (shutting down), FAILED_PRECONDITION (no code).
  absl::StatusOr<engine::InvokeResult> outcome;
  std::string requestId;
  absl::Duration queueWait;
  bool coldStart = false; // it waited for an instance that was started while it queued
  // With RESOURCE_EXHAUSTED: when a retry has a fair chance, from the queue's drain rate.
  absl::Duration retryAfter = absl::ZeroDuration();
  engine::InstanceId instance = 0;
  InstanceKind kind = InstanceKind::kOnDemand;
  int64_t version = 0;
};
using InvocationCallback = std::function<void(InvocationResult)>;

// Receives the record of every answered invocation (invocation_recording.h), on the scheduler's
// loop, just before the caller's callback: it must only queue it, never block.
using RecordSink = std::function<void(logs::InvocationRecord)>;

struct InstanceStatus {
  engine::InstanceId id = 0;
  InstanceKind kind = InstanceKind::kOnDemand;
  InstanceState state = InstanceState::kStarting;
  int64_t version = 0;
  uint32_t inFlight = 0;
  absl::Time startTime;
};

struct FunctionStatus {
  std::string key;
  // The target the scheduler keeps now: the standing one, or what the windows set.
  uint32_t reservedTarget = 0;
  // With a tracking policy: the target tracking sets (before the windows' floor), the window's
  // measured utilisation (in flight + queued ÷ ready capacity; nullopt without capacity), and
  // whether tracking sets the target now (no window asks for more).
  std::optional<common::TrackingPolicy> tracking; // the definition's
  std::optional<uint32_t> trackedTarget;
  std::optional<double> utilization;
  bool trackingSets = false;
  // The mean start time of its current instances, zero until one has started since the function
  // was last loaded; reservation windows compute their warm-up lead from it.
  absl::Duration meanStart;
  uint32_t reservedReady = 0;
  uint32_t inFlight = 0;
  uint32_t queueDepth = 0;
  std::vector<InstanceStatus> instances; // by id, oldest first
};

struct SchedulerOptions {
  // An on-demand instance idle this long is stopped. Reserved instances never are.
  absl::Duration idleTimeout = absl::Seconds(300);
  // How often idle instances are looked for; a reclaim happens up to this late.
  absl::Duration sweepInterval = absl::Seconds(1);
  // A reserved instance that fails to start is retried after this, doubling up to the maximum.
  absl::Duration retryBackoff = absl::Seconds(1);
  absl::Duration maxRetryBackoff = absl::Seconds(60);
  // Memory all instances together may be given (their memory_mb summed); 0: no limit. Memory
  // that reserved targets still need is set aside: on-demand starts may not take it.
  uint64_t memoryBudgetMb = 0;
  // New instances per server, as a token bucket: up to `creationBurst` at once, refilled at
  // `creationPerMinute`. Functions waiting for tokens get them in turn.
  uint32_t creationBurst = 300;
  uint32_t creationPerMinute = 300;
  // Instances starting at once, over the server. Starts compete for the CPU with each other and
  // with running instances: beyond a few per core each start only makes all of them slower.
  uint32_t maxConcurrentStarts = 4;
};

} // namespace surge::scheduler
