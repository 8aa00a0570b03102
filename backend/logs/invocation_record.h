// What happened to one invocation, as the scheduler answered it: the row LogService's
// QueryInvocations pages through. docs/observability.md maps each status to its metric.
#pragma once

#include "common/instance_kind.h"
#include "common/peak_memory.h"

#include <absl/time/time.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace surge::logs {

// The numbers are the proto's InvocationStatus and the store's column: never renumber.
enum class RecordStatus : uint8_t {
  kSucceeded = 1,
  kFunctionError = 2, // HandlerError, InitializerError, or no code to run
  kTimedOut = 3,      // its timeout or the caller's deadline passed
  kInstanceDied = 4,  // Crashed, OutOfMemory, InstanceLost
  kRejected = 5,      // queue full or queue timeout
  kCancelled = 6,     // the caller cancelled
  kPlatformError = 7, // the platform failed it (no sandbox, deleted meanwhile, shutting down)
};

inline bool isError(RecordStatus status) { return status != RecordStatus::kSucceeded; }

// What would be billed: the execution rounded up to whole milliseconds.
inline int64_t billedMilliseconds(absl::Duration execution) {
  return (absl::ToInt64Microseconds(execution) + 999) / 1000;
}

struct InvocationRecord {
  std::string requestId;
  std::string function; // "namespace/name"
  int64_t version = 0;  // 0: it never reached an instance
  uint64_t instance = 0;
  common::InstanceKind kind = common::InstanceKind::kOnDemand;
  absl::Time arrival;
  absl::Duration queueWait;
  absl::Duration execution;
  int64_t billedMs = 0;
  bool coldStart = false;
  std::optional<uint64_t> peakMemoryBytes; // nullopt: unknown
  // Reads the instance's memory high-water mark; the log pipeline calls it on its writer thread,
  // off the invoke path, and fills peakMemoryBytes. Empty: nothing to read.
  common::PeakMemoryReaderPtr readPeakMemory;
  RecordStatus status = RecordStatus::kSucceeded;
  std::string errorType;
  std::string errorMessage;
};

} // namespace surge::logs
