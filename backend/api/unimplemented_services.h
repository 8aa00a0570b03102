// The surge.v1 services that later parts of the platform implement. Until then each call is
// admitted like any other (key, role, scope) and then answers UNIMPLEMENTED saying which part
// brings it, so clients and their keys can be written against the whole API today.
#pragma once

#include "api/call_guard.h"
#include "surge/v1/logs.grpc.pb.h"

namespace surge::api {

// Admits a call on `function`, checks that the key sees it, then answers UNIMPLEMENTED saying
// that `call` arrives with reservation schedules (for the ScalingService calls not served yet).
grpc::ServerUnaryReactor* finishScheduleCallPending(CallGuard& guard, grpc::CallbackServerContext* context,
                                                    auth::Operation operation, const std::string& ns,
                                                    const std::string& function, const char* call);

class PendingLogService final : public v1::LogService::CallbackService {
public:
  explicit PendingLogService(CallGuard& guard) : guard_(guard) {}
  grpc::ServerWriteReactor<v1::LogLine>* TailLogs(grpc::CallbackServerContext* context,
                                                  const v1::TailLogsRequest*) override;
  grpc::ServerUnaryReactor* QueryInvocations(grpc::CallbackServerContext* context, const v1::QueryInvocationsRequest*,
                                             v1::QueryInvocationsResponse*) override;

private:
  CallGuard& guard_;
};

} // namespace surge::api
