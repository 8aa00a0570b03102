// Deploys one-file Python functions through surged's public API and waits for their reserved
// capacity: for the integration tests and the end-to-end benchmarks.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <grpcpp/grpcpp.h>

#include "surge/v1/scaling.pb.h"

namespace surge::testing {

// A Python function whose code is one file, index.py, with `handler`.
struct PythonFunction {
  std::string name{};
  std::string code{};
  uint32_t memoryMb = 128;
  uint32_t concurrency = 1;
  uint32_t maxInstances = 100;
  uint32_t maxQueueLength = 1000;
  uint32_t timeoutSeconds = 60;
  uint32_t queueTimeoutSeconds = 0; // 0: follows timeoutSeconds
  uint32_t reservedTarget = 0;
  std::string ns{}; // empty: "default"
};

// Creates the function and uploads its code (version 1), with the key of contextWithDeadline().
absl::Status deployPythonFunction(const std::shared_ptr<grpc::Channel>& channel, const PythonFunction& function);

// Sets the function's reserved target to `count` and polls (every 20 ms, bounded by `timeout`)
// until reserved_ready reaches it. Returns the last status, or DEADLINE_EXCEEDED naming the count reached.
absl::StatusOr<v1::ScalingStatus> reserveAndWait(const std::shared_ptr<grpc::Channel>& channel,
                                                 const std::string& function, uint32_t count,
                                                 std::chrono::seconds timeout = std::chrono::seconds(120));

} // namespace surge::testing
