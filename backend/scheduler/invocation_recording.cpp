// The rules of invocation_recording.h.
#include "scheduler/invocation_recording.h"

namespace surge::scheduler {
namespace {

logs::RecordStatus statusOfError(const std::string& type) {
  if (type == "Timeout") return logs::RecordStatus::kTimedOut;
  if (type == "Crashed" || type == "OutOfMemory" || type == "InstanceLost") return logs::RecordStatus::kInstanceDied;
  return logs::RecordStatus::kFunctionError;
}

logs::RecordStatus statusOfRefusal(absl::StatusCode code) {
  switch (code) {
  case absl::StatusCode::kResourceExhausted:
    return logs::RecordStatus::kRejected;
  case absl::StatusCode::kCancelled:
    return logs::RecordStatus::kCancelled;
  case absl::StatusCode::kDeadlineExceeded:
    return logs::RecordStatus::kTimedOut;
  case absl::StatusCode::kFailedPrecondition:
    return logs::RecordStatus::kFunctionError;
  default:
    return logs::RecordStatus::kPlatformError;
  }
}

} // namespace

logs::InvocationRecord recordOf(const Invocation& invocation, absl::Time arrival, const InvocationResult& result) {
  logs::InvocationRecord record;
  record.requestId = result.requestId;
  record.function = invocation.function->key;
  record.version = result.version != 0          ? result.version
                   : invocation.versionSpec ? invocation.versionSpec->version
                                                : invocation.function->spec.version;
  record.instance = result.instance;
  record.kind = result.kind;
  record.arrival = arrival;
  record.queueWait = result.queueWait;
  record.coldStart = result.coldStart;
  if (result.outcome.ok()) {
    const engine::InvokeResult& answer = *result.outcome;
    record.execution = answer.execution;
    record.billedMs = logs::billedMilliseconds(answer.execution);
    record.readPeakMemory = answer.readPeakMemory;
    if (answer.error) {
      record.status = statusOfError(answer.error->type);
      record.errorType = answer.error->type;
      record.errorMessage = answer.error->message;
    }
  } else {
    record.status = statusOfRefusal(result.outcome.status().code());
    record.errorType = absl::StatusCodeToString(result.outcome.status().code());
    record.errorMessage = std::string(result.outcome.status().message());
  }
  return record;
}

} // namespace surge::scheduler
