// The role table: which role may perform which kind of call.
#include "auth/policy.h"

#include "common/absl_compat.h"

#include <absl/strings/str_cat.h>

namespace surge::auth {

std::string_view operationDescription(Operation operation) {
  switch (operation) {
  case Operation::kReadFunctions: return "read functions";
  case Operation::kWriteFunctions: return "change functions or their code";
  case Operation::kInvoke: return "invoke functions";
  case Operation::kReadScaling: return "read scaling status";
  case Operation::kWriteScaling: return "change reserved capacity";
  case Operation::kReadMetrics: return "read metrics";
  case Operation::kReadLogs: return "read logs";
  case Operation::kManageKeys: return "manage API keys";
  case Operation::kReadAudit: return "read the audit trail";
  case Operation::kReflect: return "use server reflection";
  }
  return "do that";
}

namespace {

bool allows(Role role, Operation operation) {
  switch (role) {
  case Role::kAdmin: return true;
  case Role::kDeveloper: return operation != Operation::kManageKeys && operation != Operation::kReadAudit;
  case Role::kInvoker: return operation == Operation::kInvoke || operation == Operation::kReflect;
  case Role::kViewer:
    return operation == Operation::kReadFunctions || operation == Operation::kReadScaling ||
           operation == Operation::kReadMetrics || operation == Operation::kReadLogs ||
           operation == Operation::kReflect;
  }
  return false;
}

} // namespace

absl::Status checkRole(const Principal& principal, Operation operation) {
  if (allows(principal.role, operation)) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("key '", principal.keyName, "' has role ",
                                                  common::toAbsl(roleName(principal.role)), ", which may not ",
                                                  common::toAbsl(operationDescription(operation))));
}

} // namespace surge::auth
