// The one conversion between absl::Time and google.protobuf.Timestamp, for the API services and
// surgectl alike.
#pragma once

#include <absl/time/time.h>
#include <google/protobuf/timestamp.pb.h>

namespace surge::api {

// To the microsecond, as the store keeps times: finer digits are dropped (towards the past).
google::protobuf::Timestamp toProtoTimestamp(absl::Time time);
absl::Time fromProtoTimestamp(const google::protobuf::Timestamp& timestamp);

} // namespace surge::api
