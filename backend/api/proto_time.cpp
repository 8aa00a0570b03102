// absl::Time <-> google.protobuf.Timestamp, at the store's resolution of one microsecond.
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

} // namespace surge::api
