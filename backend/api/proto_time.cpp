// absl::Time <-> google.protobuf.Timestamp, at the store's resolution of one microsecond, and
// absl::Duration <-> google.protobuf.Duration.
#include "api/proto_time.h"

#include <google/protobuf/util/time_util.h>

namespace surge::api {

using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp toProtoTimestamp(absl::Time time) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(time));
}

absl::Time fromProtoTimestamp(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(timestamp));
}

google::protobuf::Duration toProtoDuration(absl::Duration duration) {
  google::protobuf::Duration proto;
  // Seconds and nanos of the same sign, as the message wants: IDivDuration truncates toward zero.
  absl::Duration rest;
  proto.set_seconds(absl::IDivDuration(duration, absl::Seconds(1), &rest));
  proto.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(rest)));
  return proto;
}

absl::Duration fromProtoDuration(const google::protobuf::Duration& duration) {
  return absl::Seconds(duration.seconds()) + absl::Nanoseconds(duration.nanos());
}

} // namespace surge::api
