// The pure parts of "surgectl logs", "invocations" and their time flags: hand-built lines and
// records in, exact text, cells and JSON out; flags in, requests or errors out; no server.
#include "cli/log_commands.h"

#include "api/proto_time.h"
#include "cli/command_support.h"
#include "cli/log_render.h"
#include "cli/output.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include <absl/strings/str_split.h>

namespace surge::cli {
namespace {

namespace v1 = surge::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// 2026-12-07T18:00:00.123Z
const absl::Time kLineTime = absl::FromUnixMillis(1'796'666'400'123);
const absl::Time kNow = absl::FromUnixSeconds(1'796'670'000); // 2026-12-07T19:00:00Z

v1::LogLine logLine(const std::string& requestId, v1::LogLine::Stream stream, const std::string& text) {
  v1::LogLine line;
  *line.mutable_time() = api::toProtoTimestamp(kLineTime);
  line.set_namespace_("default");
  line.set_function("hello");
  line.set_request_id(requestId);
  line.set_instance_id("10000000005");
  line.set_stream(stream);
  line.set_text(text);
  line.set_version(3);
  return line;
}

TEST(LogRender, ALineIsTimeRequestStreamAndTextInColumns) {
  EXPECT_EQ(logLineText(logLine("432dc46715a62484-1", v1::LogLine::STDOUT, "hello, Ada")),
            "2026-12-07T18:00:00.123Z   432dc46715a62484-1   stdout     hello, Ada");
  EXPECT_EQ(logLineText(logLine("432dc46715a62484-1", v1::LogLine::STDERR, "careful")),
            "2026-12-07T18:00:00.123Z   432dc46715a62484-1   stderr     careful");
  // Outside any request: a dash, and the columns still line up.
  EXPECT_EQ(logLineText(logLine("", v1::LogLine::PLATFORM, "instance started")),
            "2026-12-07T18:00:00.123Z   -                    platform   instance started");
}

TEST(LogRender, InitializerAndCutLinesAreMarked) {
  v1::LogLine init = logLine("", v1::LogLine::STDOUT, "loading model");
  init.set_initializer(true);
  EXPECT_EQ(logLineText(init), "2026-12-07T18:00:00.123Z   (init)               stdout     loading model");

  v1::LogLine cut = logLine("432dc46715a62484-1", v1::LogLine::STDOUT, std::string(20, 'x'));
  cut.set_cut(true);
  EXPECT_EQ(logLineText(cut),
            "2026-12-07T18:00:00.123Z   432dc46715a62484-1   stdout     " + std::string(20, 'x') + " [cut]");
}

TEST(LogRender, ControlCharactersInTheTextCannotBreakTheLineOrDriveTheTerminal) {
  const std::string text = logLineText(logLine("r-1", v1::LogLine::STDOUT, "a\rb\tc\x1b[2Jd"));
  EXPECT_THAT(text, ::testing::EndsWith("a b c [2Jd"));
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
}

TEST(LogRender, ALongRequestIdShiftsOnlyItsOwnLine) {
  const std::string wide = logLineText(logLine("432dc46715a62484-123456", v1::LogLine::STDOUT, "x"));
  EXPECT_EQ(wide, "2026-12-07T18:00:00.123Z   432dc46715a62484-123456   stdout   x");
}

TEST(LogRender, JsonIsOneObjectPerLineWithEveryField) {
  const v1::LogLine first = logLine("432dc46715a62484-1", v1::LogLine::STDOUT, "hello");
  v1::LogLine second = logLine("", v1::LogLine::STDERR, "line\nwith a newline");
  second.set_initializer(true);
  std::ostringstream out;
  ASSERT_TRUE(printJsonLine(out, first).ok());
  ASSERT_TRUE(printJsonLine(out, second).ok());
  const std::vector<std::string> lines = absl::StrSplit(out.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << out.str();
  // Defaults are printed too, so a script can read .cut on every line.
  for (const char* field :
       {R"("time":"2026-12-07T18:00:00.123Z")", R"("namespace":"default")", R"("function":"hello")",
        R"("requestId":"432dc46715a62484-1")", R"("instanceId":"10000000005")", R"("stream":"STDOUT")",
        R"("text":"hello")", R"("version":"3")", R"("initializer":false)", R"("cut":false)"}) {
    EXPECT_THAT(lines[0], HasSubstr(field));
  }
  v1::LogLine parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines[1], &parsed).ok()) << lines[1];
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, second));
}

v1::InvocationRecord record() {
  v1::InvocationRecord r;
  r.set_request_id("432dc46715a62484-7");
  r.set_namespace_("default");
  r.set_function("hello");
  r.set_version(2);
  r.set_status(v1::FUNCTION_ERROR);
  *r.mutable_arrival_time() = api::toProtoTimestamp(kLineTime);
  r.set_queue_wait_us(2);
  r.set_execution_us(12'540);
  r.set_billed_ms(13);
  r.set_cold_start(true);
  r.set_instance_id("10000000005");
  r.set_instance_kind(v1::ON_DEMAND);
  r.set_error_type("HandlerError");
  r.set_error_message("ValueError: bad input");
  r.set_peak_memory_bytes(24u << 20);
  return r;
}

TEST(LogRender, AnInvocationRowShowsStatusPlaceTimingsMemoryAndError) {
  EXPECT_THAT(invocationColumns(), ElementsAre("TIME", "REQUEST", "STATUS", "VERSION", "INSTANCE", "KIND", "COLD",
                                               "QUEUE WAIT", "DURATION", "BILLED", "PEAK MEM", "ERROR"));
  EXPECT_THAT(invocationRow(record()),
              ElementsAre("2026-12-07T18:00:00.123Z", "432dc46715a62484-7", "function-error", "2", "10000000005",
                          "on-demand", "yes", "<0.01 ms", "12.5 ms", "13 ms", "24.0 MiB", "HandlerError"));
}

TEST(LogRender, ARejectedInvocationThatNeverReachedAnInstanceShowsDashes) {
  v1::InvocationRecord rejected;
  rejected.set_request_id("432dc46715a62484-8");
  rejected.set_status(v1::REJECTED);
  *rejected.mutable_arrival_time() = api::toProtoTimestamp(kLineTime);
  rejected.set_queue_wait_us(1'500'000);
  rejected.set_error_type("QueueTimeout");
  EXPECT_THAT(invocationRow(rejected), ElementsAre("2026-12-07T18:00:00.123Z", "432dc46715a62484-8", "rejected", "-",
                                                   "-", "-", "no", "1.50 s", "0.00 ms", "0 ms", "-", "QueueTimeout"));
}

TEST(LogRender, EveryStatusAndStreamHasAName) {
  EXPECT_EQ(invocationStatusName(v1::SUCCEEDED), "succeeded");
  EXPECT_EQ(invocationStatusName(v1::TIMED_OUT), "timed-out");
  EXPECT_EQ(invocationStatusName(v1::INSTANCE_DIED), "instance-died");
  EXPECT_EQ(invocationStatusName(v1::CANCELLED), "cancelled");
  EXPECT_EQ(invocationStatusName(v1::PLATFORM_ERROR), "platform-error");
  EXPECT_EQ(invocationStatusName(v1::INVOCATION_STATUS_UNSPECIFIED), "-");
  EXPECT_EQ(streamName(v1::LogLine::STREAM_UNSPECIFIED), "-");
}

TEST(TimeFlag, ReadsRfc3339AndDurationsBackFromNow) {
  EXPECT_EQ(*parseTimeFlag("15m", kNow), kNow - absl::Minutes(15));
  EXPECT_EQ(*parseTimeFlag("7d", kNow), kNow - absl::Hours(7 * 24));
  EXPECT_EQ(*parseTimeFlag("2026-12-07T18:00:00.123Z", kNow), kLineTime);
  EXPECT_EQ(*parseTimeFlag("2026-12-07T20:00:00.123+02:00", kNow), kLineTime);
  const auto bad = parseTimeFlag("yesterday", kNow);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("'yesterday' is not a time: give RFC 3339"));
  EXPECT_FALSE(parseTimeFlag("15", kNow).ok());
  EXPECT_FALSE(parseTimeFlag("15w", kNow).ok());
}

TEST(LogsRequest, CarriesEveryFlag) {
  LogsFlags flags;
  flags.name = "hello";
  flags.requestId = "432dc46715a62484-1";
  flags.errorsOnly = true;
  flags.since = "1h";
  flags.until = "2026-12-07T18:30:00Z";
  flags.limit = 50;
  const auto request = tailLogsRequest("shop", flags, kNow);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->namespace_(), "shop");
  EXPECT_EQ(request->function(), "hello");
  EXPECT_EQ(request->request_id(), "432dc46715a62484-1");
  EXPECT_TRUE(request->errors_only());
  EXPECT_FALSE(request->follow());
  EXPECT_EQ(api::fromProtoTimestamp(request->since_time()), kNow - absl::Hours(1));
  EXPECT_EQ(api::fromProtoTimestamp(request->until_time()), absl::FromUnixSeconds(1'796'668'200));
  EXPECT_EQ(request->limit(), 50);
}

TEST(LogsRequest, LeavesUnsetWhatIsNotGivenAndATimeBefore1970) {
  LogsFlags flags;
  flags.name = "hello";
  flags.follow = true;
  const auto request = tailLogsRequest("default", flags, kNow);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_TRUE(request->follow());
  EXPECT_FALSE(request->has_since_time());
  EXPECT_FALSE(request->has_until_time());
  EXPECT_EQ(request->limit(), 0) << "the server's default";

  flags.since = "999999999d";
  const auto everything = tailLogsRequest("default", flags, kNow);
  ASSERT_TRUE(everything.ok()) << everything.status();
  EXPECT_FALSE(everything->has_since_time());
}

TEST(LogsRequest, RefusesUntilWithFollowABadTimeAnEmptyRangeAndABadName) {
  LogsFlags flags;
  flags.name = "hello";
  flags.follow = true;
  flags.until = "1h";
  auto refused = tailLogsRequest("default", flags, kNow);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("--until cannot go with --follow"));

  flags.follow = false;
  flags.since = "last tuesday";
  refused = tailLogsRequest("default", flags, kNow);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("--since: 'last tuesday' is not a time"));

  flags.since = "30m";
  refused = tailLogsRequest("default", flags, kNow);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(), "--since (30m) must be before --until (1h): nothing can match");

  flags.since.clear();
  flags.name = "Bad_Name";
  refused = tailLogsRequest("default", flags, kNow);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("function name"));
}

TEST(InvocationsRequest, ErrorsAskForEveryStatusButSucceeded) {
  InvocationsFlags flags;
  flags.name = "hello";
  flags.errorsOnly = true;
  flags.requestId = "432dc46715a62484-7";
  flags.since = "2h";
  flags.until = "1h";
  const auto request = queryInvocationsRequest("default", flags, kNow);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_THAT(request->statuses(), ElementsAre(v1::FUNCTION_ERROR, v1::TIMED_OUT, v1::INSTANCE_DIED, v1::REJECTED,
                                               v1::CANCELLED, v1::PLATFORM_ERROR));
  EXPECT_EQ(request->request_id(), "432dc46715a62484-7");
  EXPECT_EQ(api::fromProtoTimestamp(request->start_time()), kNow - absl::Hours(2));
  EXPECT_EQ(api::fromProtoTimestamp(request->end_time()), kNow - absl::Hours(1));
  EXPECT_EQ(request->page_size(), 100) << "the default --limit fits one page";
  EXPECT_THAT(request->page_token(), IsEmpty());
}

TEST(InvocationsRequest, PagesAreAtMostTheLimitAndTheApisMaximum) {
  InvocationsFlags flags;
  flags.name = "hello";
  flags.limit = 5;
  EXPECT_EQ(queryInvocationsRequest("default", flags, kNow)->page_size(), 5);
  EXPECT_THAT(queryInvocationsRequest("default", flags, kNow)->statuses(), IsEmpty());
  flags.limit = 5000;
  EXPECT_EQ(queryInvocationsRequest("default", flags, kNow)->page_size(), 1000);
}

} // namespace
} // namespace surge::cli
