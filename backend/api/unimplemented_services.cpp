// UNIMPLEMENTED answers, after the usual admission, for the services later parts bring.
#include "api/unimplemented_services.h"

#include "api/function_mapping.h"
#include "api/status_mapping.h"

#include <string>

namespace surge::api {
namespace {

using auth::Operation;

constexpr const char* kSchedules = "scheduled reservations";
constexpr const char* kLogs = "invocation logging";

absl::Status pendingStatus(const char* call, const char* part) {
  return absl::UnimplementedError(std::string(call) + " arrives with " + part + "; this surged does not serve it yet");
}

// Admits the call, checks that the key sees the function, then answers UNIMPLEMENTED.
grpc::ServerUnaryReactor* pendingForFunction(CallGuard& guard, grpc::CallbackServerContext* context,
                                             Operation operation, const std::string& ns, const std::string& function,
                                             const char* call, const char* part) {
  auto who = guard.admit(*context, operation);
  if (!who.ok()) return finishNow(context, who.status());
  if (auto status = checkFunctionVisible(**who, namespaceOrDefault(ns), function); !status.ok()) {
    return finishNow(context, status);
  }
  return finishNow(context, pendingStatus(call, part));
}

template <typename Message> class FinishedStream final : public grpc::ServerWriteReactor<Message> {
public:
  explicit FinishedStream(const absl::Status& status) { this->Finish(toGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

template <typename Message>
grpc::ServerWriteReactor<Message>* pendingStream(CallGuard& guard, grpc::CallbackServerContext* context,
                                                 Operation operation, const char* call, const char* part) {
  auto who = guard.admit(*context, operation);
  return new FinishedStream<Message>(who.ok() ? pendingStatus(call, part) : who.status());
}

} // namespace

grpc::ServerUnaryReactor* finishScheduleCallPending(CallGuard& guard, grpc::CallbackServerContext* context,
                                                    Operation operation, const std::string& ns,
                                                    const std::string& function, const char* call) {
  return pendingForFunction(guard, context, operation, ns, function, call, kSchedules);
}

grpc::ServerWriteReactor<v1::LogLine>* PendingLogService::TailLogs(grpc::CallbackServerContext* context,
                                                                   const v1::TailLogsRequest*) {
  return pendingStream<v1::LogLine>(guard_, context, Operation::kReadLogs, "LogService.TailLogs", kLogs);
}

grpc::ServerUnaryReactor* PendingLogService::QueryInvocations(grpc::CallbackServerContext* context,
                                                              const v1::QueryInvocationsRequest*,
                                                              v1::QueryInvocationsResponse*) {
  auto who = guard_.admit(*context, Operation::kReadLogs);
  return finishNow(context, who.ok() ? pendingStatus("LogService.QueryInvocations", kLogs) : who.status());
}

} // namespace surge::api
