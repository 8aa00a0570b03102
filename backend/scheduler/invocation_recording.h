// How an answered invocation reads as a record (logs::InvocationRecord): its status, error, and
// timings. Beside metrics_recording.h, whose outcomes it matches (docs/observability.md holds the
// table of both).
#pragma once

#include "logs/invocation_record.h"
#include "scheduler/scheduler_types.h"

#include <absl/time/time.h>

namespace surge::scheduler {

// The record of `invocation`, which arrived at `arrival` and was answered with `result`.
//  - SUCCEEDED: the handler returned;
//  - TIMED_OUT: the function's error "Timeout", or DEADLINE_EXCEEDED (the caller's deadline
//    passed while it waited);
//  - INSTANCE_DIED: "Crashed", "OutOfMemory", "InstanceLost";
//  - FUNCTION_ERROR: any other error of the function, and FAILED_PRECONDITION (no code);
//  - REJECTED: RESOURCE_EXHAUSTED (queue full, queue timeout);
//  - CANCELLED: CANCELLED (the caller gave up);
//  - PLATFORM_ERROR: every other status (UNAVAILABLE, NOT_FOUND when deleted meanwhile).
logs::InvocationRecord recordOf(const Invocation& invocation, absl::Time arrival, const InvocationResult& result);

} // namespace surge::scheduler
