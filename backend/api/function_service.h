// FunctionService: functions and their code versions, served from the function store.
#pragma once

#include "api/call_guard.h"
#include "surge/v1/function.grpc.pb.h"

namespace surge::common {
class WorkerPool;
}
namespace surge::store {
class FunctionStore;
}

namespace surge::control {
class FunctionControl;
}

namespace surge::api {

// Every call is admitted by the CallGuard on the reactor thread; then reactor threads never
// touch SQLite or the disk: the work is handed to `workers`, which finishes the call. Reads come
// from the store; every change goes through `control`. Everything passed in must outlive the
// gRPC server.
class FunctionService final : public v1::FunctionService::CallbackService {
public:
  FunctionService(store::FunctionStore& store, control::FunctionControl& control, CallGuard& guard,
                  common::WorkerPool& workers);

  grpc::ServerUnaryReactor* CreateFunction(grpc::CallbackServerContext* context,
                                           const v1::CreateFunctionRequest* request, v1::Function* response) override;
  grpc::ServerUnaryReactor* GetFunction(grpc::CallbackServerContext* context, const v1::GetFunctionRequest* request,
                                        v1::Function* response) override;
  grpc::ServerUnaryReactor* ListFunctions(grpc::CallbackServerContext* context, const v1::ListFunctionsRequest* request,
                                          v1::ListFunctionsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateFunctionConfig(grpc::CallbackServerContext* context,
                                                 const v1::UpdateFunctionConfigRequest* request,
                                                 v1::Function* response) override;
  grpc::ServerUnaryReactor* DeleteFunction(grpc::CallbackServerContext* context,
                                           const v1::DeleteFunctionRequest* request,
                                           google::protobuf::Empty* response) override;
  grpc::ServerReadReactor<v1::UploadCodeRequest>* UploadCode(grpc::CallbackServerContext* context,
                                                             v1::UploadCodeResponse* response) override;
  grpc::ServerUnaryReactor* ListCodeVersions(grpc::CallbackServerContext* context,
                                             const v1::ListCodeVersionsRequest* request,
                                             v1::ListCodeVersionsResponse* response) override;
  grpc::ServerUnaryReactor* SetActiveVersion(grpc::CallbackServerContext* context,
                                             const v1::SetActiveVersionRequest* request,
                                             v1::Function* response) override;

  // Largest accepted UploadCode chunk.
  static constexpr size_t kMaxChunkBytes = 1 << 20;

private:
  store::FunctionStore& store_;
  control::FunctionControl& control_;
  CallGuard& guard_;
  common::WorkerPool& workers_;
};

} // namespace surge::api
