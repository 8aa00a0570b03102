// How the scheduler's events read as metrics: what an answered invocation counts as, and the
// gauges of a function's pools at the end of a second. The core records through
// metrics::FunctionMetrics; this file holds the rules, so that they are stated once.
#pragma once

#include "engine/engine.h"
#include "metrics/function_metrics.h"
#include "scheduler/rollover.h"

#include <absl/status/statusor.h>

#include <array>
#include <cstdint>
#include <optional>

namespace surge::scheduler {

// The outcome an answer counts as; nullopt for one the caller cancelled (it asked for no
// answer, so it is neither a success nor a failure of the function or the platform).
// RESOURCE_EXHAUSTED is a refusal, which the core records with its cause instead.
//  - success: the handler returned;
//  - timeout: the function's error "Timeout" (its timeout, or the caller's deadline, passed
//    while it ran), or DEADLINE_EXCEEDED (the caller's deadline passed in the queue);
//  - function error: any other error of the function (HandlerError, InitializerError, Crashed,
//    OutOfMemory, InstanceLost), and FAILED_PRECONDITION (it has no code);
//  - platform error: every other status (UNAVAILABLE; NOT_FOUND when it was deleted while the
//    request waited).
std::optional<metrics::Outcome> outcomeOf(const absl::StatusOr<engine::InvokeResult>& answer);

// Instances by kind and state, in flight, queued, the reserved target and ready count, and the
// slots of ready instances, over every pool of the function.
metrics::Gauges gaugesOf(const FunctionPools& function);

// The memory of the function's instances alive (starting, ready or draining) by kind
// (common::InstanceKind's order), added into `into`: one second of it is the second's
// instance-MB-seconds, which the reserved price is charged on.
using AliveMb = std::array<uint64_t, 2>;
void addAliveMb(AliveMb& into, const FunctionPools& function);

} // namespace surge::scheduler
