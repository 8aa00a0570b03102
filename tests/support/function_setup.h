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

#include "surge/v1/function.pb.h"
#include "surge/v1/scaling.pb.h"

namespace surge::testing {

// A function whose code is one file: by default a Python index.py with `handler`; another
// runtime sets runtime, handler and file.
struct PythonFunction {
  std::string name{};
  std::string code{};
  v1::Runtime runtime = v1::RUNTIME_PYTHON3;
  std::string handler = "index.handler";
  std::string file = "index.py";
  uint32_t fileMode = 0644;
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
