// The rules that turn the scheduler's answers and pools into metrics.
#include "scheduler/metrics_recording.h"

namespace surge::scheduler {

std::optional<metrics::Outcome> outcomeOf(const absl::StatusOr<engine::InvokeResult>& answer) {
  using metrics::Outcome;
  if (answer.ok()) {
    if (!answer->error) return Outcome::kSuccess;
    return answer->error->type == "Timeout" ? Outcome::kTimeout : Outcome::kFunctionError;
  }
  switch (answer.status().code()) {
  case absl::StatusCode::kCancelled: return std::nullopt;
  case absl::StatusCode::kDeadlineExceeded: return Outcome::kTimeout;
  case absl::StatusCode::kResourceExhausted: return Outcome::kRefused;
  case absl::StatusCode::kFailedPrecondition: return Outcome::kFunctionError;
  default: return Outcome::kPlatformError;
  }
}

metrics::Gauges gaugesOf(const FunctionPools& function) {
  metrics::Gauges gauges;
  gauges.queueDepth = function.waiting;
  gauges.reservedTarget = function.reservedTarget;
  for (const auto& pool : function.pools) {
    gauges.reservedReady += pool->reservedReady();
    for (const auto& [id, instance] : pool->members()) {
      if (instance->phase == Phase::kReady) gauges.readyCapacity += pool->spec().concurrency;
      ++gauges.count(instance->kind, reportedState(*instance));
      gauges.inFlight += instance->inFlight;
    }
  }
  return gauges;
}

void addAliveMb(AliveMb& into, const FunctionPools& function) {
  for (const auto& pool : function.pools) {
    for (const auto& [id, instance] : pool->members())
      into[static_cast<size_t>(instance->kind)] += pool->spec().memoryMb;
  }
}

} // namespace surge::scheduler
