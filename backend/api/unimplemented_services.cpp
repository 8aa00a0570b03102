// UNIMPLEMENTED answers, after the usual admission, for the services later parts bring.
#include "api/unimplemented_services.h"

#include "api/function_mapping.h"
#include "api/status_mapping.h"

#include <string>

namespace surge::api {
namespace {

using auth::Operation;

constexpr const char* kSchedules = "scheduled reservations";

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

} // namespace

grpc::ServerUnaryReactor* finishScheduleCallPending(CallGuard& guard, grpc::CallbackServerContext* context,
                                                    Operation operation, const std::string& ns,
                                                    const std::string& function, const char* call) {
  return pendingForFunction(guard, context, operation, ns, function, call, kSchedules);
}

} // namespace surge::api
