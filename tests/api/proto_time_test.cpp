// The Timestamp conversion: exact to the microsecond both ways, finer digits dropped; the Duration
// conversion, exact to the nanosecond with seconds and nanos of one sign.
#include "api/proto_time.h"

#include <gtest/gtest.h>

namespace surge::api {
namespace {

TEST(ProtoTime, RoundTripsToTheMicrosecond) {
  const absl::Time time = absl::FromUnixMicros(1'700'000'000'123'456);
  const google::protobuf::Timestamp timestamp = toProtoTimestamp(time);
  EXPECT_EQ(timestamp.seconds(), 1'700'000'000);
  EXPECT_EQ(timestamp.nanos(), 123'456'000);
  EXPECT_EQ(fromProtoTimestamp(timestamp), time);
}

TEST(ProtoTime, DropsDigitsFinerThanAMicrosecond) {
  EXPECT_EQ(toProtoTimestamp(absl::FromUnixNanos(1'500'000'999)).nanos(), 500'000'000);
  google::protobuf::Timestamp timestamp;
  timestamp.set_seconds(1);
  timestamp.set_nanos(999);
  EXPECT_EQ(fromProtoTimestamp(timestamp), absl::FromUnixSeconds(1));
}

TEST(ProtoTime, TheEpochIsTheEmptyTimestamp) {
  EXPECT_EQ(toProtoTimestamp(absl::UnixEpoch()).ByteSizeLong(), 0u);
  EXPECT_EQ(fromProtoTimestamp(google::protobuf::Timestamp()), absl::UnixEpoch());
}

TEST(ProtoTime, DurationsRoundTripWithSecondsAndNanosOfOneSign) {
  const google::protobuf::Duration lead = toProtoDuration(absl::Minutes(90) + absl::Milliseconds(500));
  EXPECT_EQ(lead.seconds(), 5400);
  EXPECT_EQ(lead.nanos(), 500'000'000);
  EXPECT_EQ(fromProtoDuration(lead), absl::Minutes(90) + absl::Milliseconds(500));
  const google::protobuf::Duration back = toProtoDuration(-absl::Milliseconds(1500));
  EXPECT_EQ(back.seconds(), -1);
  EXPECT_EQ(back.nanos(), -500'000'000);
  EXPECT_EQ(fromProtoDuration(back), -absl::Milliseconds(1500));
}

} // namespace
} // namespace surge::api
