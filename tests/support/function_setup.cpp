// Function creation and reserved capacity through the public API, for tests and benchmarks.
#include "support/function_setup.h"

#include "support/client.h"
#include "support/zip_builder.h"

#include "surge/v1/function.grpc.pb.h"
#include "surge/v1/scaling.grpc.pb.h"

#include <absl/strings/str_cat.h>

#include <thread>

namespace surge::testing {
namespace {

absl::Status failed(const std::string& what, const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(what, ": ", status.error_message()));
}

} // namespace

absl::Status deployPythonFunction(const std::shared_ptr<grpc::Channel>& channel, const PythonFunction& function) {
  auto stub = v1::FunctionService::NewStub(channel);
  v1::CreateFunctionRequest request;
  request.set_namespace_(function.ns);
  request.set_name(function.name);
  v1::FunctionConfig& config = *request.mutable_config();
  config.set_runtime(function.runtime);
  config.set_handler(function.handler);
  config.set_memory_mb(function.memoryMb);
  config.set_instance_concurrency(function.concurrency);
  config.set_max_instances(function.maxInstances);
  config.set_max_queue_length(function.maxQueueLength);
  config.set_timeout_seconds(function.timeoutSeconds);
  config.set_queue_timeout_seconds(function.queueTimeoutSeconds);
  config.set_reserved_target(function.reservedTarget);
  v1::Function created;
  auto context = contextWithDeadline();
  if (auto rpc = stub->CreateFunction(context.get(), request, &created); !rpc.ok()) {
    return failed(absl::StrCat("CreateFunction ", function.name), rpc);
  }
  v1::UploadCodeResponse uploaded;
  const std::string archive = ZipBuilder().addFile(function.file, function.code, function.fileMode).bytes();
  if (auto rpc = uploadCode(*stub, function.ns, function.name, archive, &uploaded); !rpc.ok()) {
    return failed(absl::StrCat("UploadCode ", function.name), rpc);
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ScalingStatus> reserveAndWait(const std::shared_ptr<grpc::Channel>& channel,
                                                 const std::string& function, uint32_t count,
                                                 std::chrono::seconds timeout) {
  auto stub = v1::ScalingService::NewStub(channel);
  v1::SetReservedCapacityRequest set;
  set.set_function(function);
  set.set_count(count);
  v1::ScalingStatus status;
  {
    auto context = contextWithDeadline();
    if (auto rpc = stub->SetReservedCapacity(context.get(), set, &status); !rpc.ok()) {
      return failed(absl::StrCat("SetReservedCapacity ", function), rpc);
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (status.reserved_ready() < count) {
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat("function ", function, " has ", status.reserved_ready(), " of ",
                                                      count, " reserved instances ready after ", timeout.count(),
                                                      " s"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20)); // a poll interval, not a wait for long enough
    v1::GetScalingStatusRequest request;
    request.set_function(function);
    auto context = contextWithDeadline();
    if (auto rpc = stub->GetScalingStatus(context.get(), request, &status); !rpc.ok()) {
      return failed(absl::StrCat("GetScalingStatus ", function), rpc);
    }
  }
  return status;
}

} // namespace surge::testing
