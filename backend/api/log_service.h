// LogService: what functions printed (TailLogs: stored lines, then new ones while following) and
// what happened to each invocation (QueryInvocations), within the caller's namespaces.
#pragma once

#include "api/call_guard.h"
#include "common/worker_pool.h"
#include "logs/log_pipeline.h"
#include "logs/log_store.h"
#include "surge/v1/logs.grpc.pb.h"

namespace surge::api {

class LogService final : public v1::LogService::CallbackService {
public:
  LogService(logs::LogStore& store, logs::LogPipeline& pipeline, CallGuard& guard, common::WorkerPool& workers);

  grpc::ServerWriteReactor<v1::LogLine>* TailLogs(grpc::CallbackServerContext* context,
                                                  const v1::TailLogsRequest* request) override;
  grpc::ServerUnaryReactor* QueryInvocations(grpc::CallbackServerContext* context,
                                             const v1::QueryInvocationsRequest* request,
                                             v1::QueryInvocationsResponse* response) override;

private:
  logs::LogStore& store_;
  logs::LogPipeline& pipeline_;
  CallGuard& guard_;
  common::WorkerPool& workers_;
};

} // namespace surge::api
