// Conversions between the surge.v1 function messages and the store's records, and the
// scheduler's instance kinds.
#pragma once

#include "scheduler/scheduler_types.h"
#include "store/function_config.h"
#include "store/function_store.h"
#include "surge/v1/function.pb.h"
#include "surge/v1/invoke.pb.h"

#include <absl/status/statusor.h>

#include <string>

namespace surge::api {

// An empty namespace in a request means "default".
std::string namespaceOrDefault(const std::string& ns);

// INVALID_ARGUMENT for RUNTIME_UNSPECIFIED or an unknown value.
absl::StatusOr<store::FunctionConfig> fromProto(const v1::FunctionConfig& config);

void toProto(const store::FunctionRecord& record, v1::Function& out);
void toProto(const store::CodeVersionRecord& record, v1::CodeVersion& out);
v1::InstanceKind toProto(scheduler::InstanceKind kind);

// Copies the fields named in `mask` from `source` into `target`. Paths are FunctionConfig
// field names, optionally prefixed "config.". INVALID_ARGUMENT for an empty mask, an unknown
// path, or an invalid runtime.
absl::Status applyFieldMask(const google::protobuf::FieldMask& mask, const v1::FunctionConfig& source,
                            store::FunctionConfig& target);

} // namespace surge::api
