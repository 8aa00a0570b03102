// Log lines and invocation records in their proto form (surge.v1 LogLine, InvocationRecord).
#pragma once

#include "logs/invocation_record.h"
#include "logs/log_store.h"
#include "surge/v1/logs.pb.h"

#include <absl/status/statusor.h>

namespace surge::api {

void toProto(const common::LogLine& line, v1::LogLine& out);
void toProto(const logs::InvocationRecord& record, v1::InvocationRecord& out);
// INVALID_ARGUMENT for INVOCATION_STATUS_UNSPECIFIED or a number this server does not know.
absl::StatusOr<logs::RecordStatus> fromProto(int status);

} // namespace surge::api
