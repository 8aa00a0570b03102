// Which role may perform which kind of call. The API layer maps each RPC onto an Operation.
#pragma once

#include "auth/principal.h"

#include <absl/status/status.h>

#include <string_view>

namespace surge::auth {

enum class Operation {
  kReadFunctions,  // GetFunction, ListFunctions, ListCodeVersions
  kWriteFunctions, // CreateFunction, UpdateFunctionConfig, DeleteFunction, UploadCode, SetActiveVersion
  kInvoke,         // Invoke
  kReadScaling,    // GetScalingStatus, ListReservationSchedules
  kWriteScaling,   // SetReservedCapacity, AddReservationSchedule, RemoveReservationSchedule
  kReadMetrics,    // WatchMetrics, QueryMetrics
  kReadLogs,       // TailLogs, QueryInvocations
  kManageKeys,     // CreateApiKey, ListApiKeys, RevokeApiKey
  kReadAudit,      // ListAuditEvents
  kReflect,        // server reflection: any valid key
};

// What the operation is called in messages, e.g. "change functions".
std::string_view operationDescription(Operation operation);

// OK if the principal's role allows `operation`, else PERMISSION_DENIED naming the key, its role
// and what it tried. Scopes (namespaces, invoker function lists) are checked by the caller,
// which knows the call's target.
//   admin:     everything
//   developer: everything but keys and the audit trail
//   invoker:   invoke only
//   viewer:    the read-only calls (functions, scaling, metrics, logs)
absl::Status checkRole(const Principal& principal, Operation operation);

} // namespace surge::auth
