// The one conversion between absl::Time and google.protobuf.Timestamp (and absl::Duration and
// google.protobuf.Duration), for the API services and surgectl alike.
#pragma once

#include <absl/time/time.h>
#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>

namespace surge::api {

// To the microsecond, as the store keeps times: finer digits are dropped (towards the past).
google::protobuf::Timestamp toProtoTimestamp(absl::Time time);
absl::Time fromProtoTimestamp(const google::protobuf::Timestamp& timestamp);

// To the nanosecond, as the message holds it. `duration` must be finite.
google::protobuf::Duration toProtoDuration(absl::Duration duration);
absl::Duration fromProtoDuration(const google::protobuf::Duration& duration);

} // namespace surge::api
