// absl::Status and grpc::Status share their codes; this is the one place that converts.
#pragma once

#include <absl/status/status.h>
#include <grpcpp/support/status.h>

namespace surge::api {

grpc::Status toGrpcStatus(const absl::Status& status);

} // namespace surge::api
