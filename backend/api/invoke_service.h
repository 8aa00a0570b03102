// InvokeService: admits the call, finds the function's definition (cached; the store only on a
// miss) and hands the request to the scheduler; the scheduler's answer finishes the call.
#pragma once

#include "api/call_guard.h"
#include "surge/v1/invoke.grpc.pb.h"

namespace surge::common {
class WorkerPool;
}
namespace surge::scheduler {
class Scheduler;
}

namespace surge::control {
class FunctionDirectory;
}

namespace surge::api {

// The reactor thread does the key check and, with a cached definition, the hand-off: no SQLite
// and no blocking on the warm path. Everything passed in must outlive the gRPC server.
class InvokeService final : public v1::InvokeService::CallbackService {
public:
  InvokeService(CallGuard& guard, control::FunctionDirectory& directory, scheduler::Scheduler& scheduler,
                common::WorkerPool& workers);

  grpc::ServerUnaryReactor* Invoke(grpc::CallbackServerContext* context, const v1::InvokeRequest* request,
                                   v1::InvokeResponse* response) override;

  // The most payload bytes an invocation takes.
  static constexpr size_t kMaxPayloadBytes = 6u << 20;

private:
  CallGuard& guard_;
  control::FunctionDirectory& directory_;
  scheduler::Scheduler& scheduler_;
  common::WorkerPool& workers_;
};

} // namespace surge::api
