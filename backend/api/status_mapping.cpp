// absl::Status to grpc::Status.
#include "api/status_mapping.h"

#include <string>

namespace surge::api {

grpc::Status toGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl::StatusCode and grpc::StatusCode are defined to the same numbers.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

} // namespace surge::api
