// "surgectl reserve add | list | remove" in-process against a ScalingService double on a loopback
// port: what they send (nothing on a usage error), what they print, and their exit codes.
#include "api/proto_time.h"
#include "cli/cli_app.h"

#include "surge/v1/scaling.grpc.pb.h"

#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <absl/strings/str_split.h>

namespace surge::cli {
namespace {

namespace v1 = surge::v1;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

absl::Time utc(int year, int month, int day, int hour, int minute) {
  return absl::FromCivil(absl::CivilMinute(year, month, day, hour, minute), absl::UTCTimeZone());
}

// One step of the plan the double answers with, placed relative to the request's from_time.
struct RelativeStep {
  absl::Duration after;
  uint32_t target;
  std::string scheduleId;
  bool warming;
};

// Answers AddReservationSchedule with `addAnswer` (or `addStatus` when it is not OK), lists
// `schedules`, and plans `steps` from the request's from_time. Remembers every request.
class ScalingServiceDouble final : public v1::ScalingService::Service {
public:
  v1::ReservationSchedule addAnswer;
  grpc::Status addStatus = grpc::Status::OK;
  v1::ListReservationSchedulesResponse schedules;
  uint32_t standingTarget = 0;
  std::vector<RelativeStep> steps;

  grpc::Status AddReservationSchedule(grpc::ServerContext*, const v1::AddReservationScheduleRequest* request,
                                      v1::ReservationSchedule* response) override {
    std::lock_guard lock(mutex_);
    adds_.push_back(*request);
    if (!addStatus.ok()) return addStatus;
    *response = addAnswer;
    return grpc::Status::OK;
  }

  grpc::Status ListReservationSchedules(grpc::ServerContext*, const v1::ListReservationSchedulesRequest* request,
                                        v1::ListReservationSchedulesResponse* response) override {
    std::lock_guard lock(mutex_);
    lists_.push_back(*request);
    *response = schedules;
    return grpc::Status::OK;
  }

  grpc::Status RemoveReservationSchedule(grpc::ServerContext*, const v1::RemoveReservationScheduleRequest* request,
                                         google::protobuf::Empty*) override {
    std::lock_guard lock(mutex_);
    removes_.push_back(*request);
    if (request->id() != "r-1") return grpc::Status(grpc::StatusCode::NOT_FOUND, "no reservation window 'r-9'");
    return grpc::Status::OK;
  }

  grpc::Status GetReservationPlan(grpc::ServerContext*, const v1::GetReservationPlanRequest* request,
                                  v1::ReservationPlan* response) override {
    std::lock_guard lock(mutex_);
    plans_.push_back(*request);
    response->set_namespace_(request->namespace_());
    response->set_function(request->function());
    response->set_standing_target(standingTarget);
    const absl::Time from = api::fromProtoTimestamp(request->from_time());
    for (const RelativeStep& relative : steps) {
      v1::ReservationStep* step = response->add_steps();
      *step->mutable_start_time() = api::toProtoTimestamp(from + relative.after);
      step->set_reserved_target(relative.target);
      step->set_schedule_id(relative.scheduleId);
      step->set_warming(relative.warming);
    }
    return grpc::Status::OK;
  }

  std::vector<v1::AddReservationScheduleRequest> adds() {
    std::lock_guard lock(mutex_);
    return adds_;
  }
  std::vector<v1::ListReservationSchedulesRequest> lists() {
    std::lock_guard lock(mutex_);
    return lists_;
  }
  std::vector<v1::RemoveReservationScheduleRequest> removes() {
    std::lock_guard lock(mutex_);
    return removes_;
  }
  std::vector<v1::GetReservationPlanRequest> plans() {
    std::lock_guard lock(mutex_);
    return plans_;
  }

private:
  std::mutex mutex_;
  std::vector<v1::AddReservationScheduleRequest> adds_;
  std::vector<v1::ListReservationSchedulesRequest> lists_;
  std::vector<v1::RemoveReservationScheduleRequest> removes_;
  std::vector<v1::GetReservationPlanRequest> plans_;
};

// The window as a server would store the one-off promotion below.
v1::ReservationSchedule storedPromotion() {
  v1::ReservationSchedule schedule;
  schedule.set_id("r-1");
  schedule.set_namespace_("default");
  schedule.set_function("hello");
  schedule.set_count(10);
  *schedule.mutable_once()->mutable_start_time() = api::toProtoTimestamp(utc(2026, 12, 11, 12, 0));
  *schedule.mutable_once()->mutable_end_time() = api::toProtoTimestamp(utc(2026, 12, 11, 15, 0));
  *schedule.mutable_lead() = api::toProtoDuration(absl::Seconds(270));
  schedule.set_lead_computed(true);
  *schedule.mutable_next_start_time() = api::toProtoTimestamp(utc(2026, 12, 11, 12, 0));
  schedule.set_description("double twelve");
  return schedule;
}

v1::ReservationShortfall memoryShortfall() {
  v1::ReservationShortfall shortfall;
  shortfall.set_kind(v1::ReservationShortfall::MEMORY);
  *shortfall.mutable_time() = api::toProtoTimestamp(utc(2026, 12, 11, 11, 55));
  shortfall.set_memory_short_mib(512);
  shortfall.set_max_count(8);
  shortfall.set_message("10 instances of 256 MiB need 512 MiB beyond the 4096 MiB budget; at most 8 fit");
  return shortfall;
}

struct InProcessRun {
  int code;
  std::string out;
  std::string err;
};

class ReservationCommandsClientTest : public ::testing::Test {
protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    address_ = "127.0.0.1:" + std::to_string(port);
    service_.addAnswer = storedPromotion();
  }
  void TearDown() override { server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10)); }

  InProcessRun surgectl(const std::vector<std::string>& args) {
    std::ostringstream out, err;
    std::vector<std::string> all = {"--server", address_, "--key", "surge_test_secret"};
    all.insert(all.end(), args.begin(), args.end());
    const int code = run(all, out, err);
    return {code, out.str(), err.str()};
  }

  // The one AddReservationSchedule request sent since the last call.
  v1::AddReservationScheduleRequest lastAdd() {
    const auto adds = service_.adds();
    EXPECT_EQ(adds.size(), seenAdds_ + 1) << "one request per add";
    seenAdds_ = adds.size();
    return adds.empty() ? v1::AddReservationScheduleRequest() : adds.back();
  }

  ScalingServiceDouble service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  size_t seenAdds_ = 0;
};

TEST_F(ReservationCommandsClientTest, AddSendsAOneOffWindowReadInTheZoneAndPrintsTheStoredWindow) {
  const InProcessRun add =
      surgectl({"-n", "shop", "reserve", "add", "hello", "--count", "10", "--start", "2026-12-11T20:00", "--end",
                "2026-12-11 23:00:00", "--tz", "Asia/Shanghai", "--lead", "1h30m", "--description", "double twelve"});
  ASSERT_EQ(add.code, 0) << add.err;
  const v1::AddReservationScheduleRequest sent = lastAdd();
  EXPECT_EQ(sent.schedule().namespace_(), "shop");
  EXPECT_EQ(sent.schedule().function(), "hello");
  EXPECT_EQ(sent.schedule().count(), 10u);
  EXPECT_EQ(api::fromProtoTimestamp(sent.schedule().once().start_time()), utc(2026, 12, 11, 12, 0));
  EXPECT_EQ(api::fromProtoTimestamp(sent.schedule().once().end_time()), utc(2026, 12, 11, 15, 0));
  EXPECT_EQ(api::fromProtoDuration(sent.schedule().lead()), absl::Minutes(90));
  EXPECT_EQ(sent.schedule().description(), "double twelve");
  EXPECT_FALSE(sent.force());
  EXPECT_FALSE(sent.validate_only());
  // Shown in the --tz zone.
  EXPECT_EQ(add.out, "id:          r-1\n"
                     "function:    default/hello\n"
                     "count:       10\n"
                     "window:      2026-12-11T20:00:00+08:00 → 2026-12-11T23:00:00+08:00\n"
                     "lead:        4m30s (computed)\n"
                     "next start:  2026-12-11T20:00:00+08:00\n"
                     "description: double twelve\n");
  EXPECT_EQ(add.err, "");
}

TEST_F(ReservationCommandsClientTest, AddReadsNewYorkTimesOnBothSidesOfDaylightSaving) {
  // Winter (EST, UTC-5) and summer (EDT, UTC-4); an explicit offset ignores --tz.
  ASSERT_EQ(surgectl({"reserve", "add", "hello", "--count", "2", "--start", "2026-03-07T09:00", "--end",
                      "2026-07-04T09:00", "--tz", "America/New_York"})
                .code,
            0);
  v1::AddReservationScheduleRequest sent = lastAdd();
  EXPECT_EQ(api::fromProtoTimestamp(sent.schedule().once().start_time()), utc(2026, 3, 7, 14, 0));
  EXPECT_EQ(api::fromProtoTimestamp(sent.schedule().once().end_time()), utc(2026, 7, 4, 13, 0));
  EXPECT_FALSE(sent.schedule().has_lead()) << "no --lead: the server computes it";

  // 02:30 on 2026-03-08 does not exist there (the change, 07:00 UTC, is taken); 01:30 on
  // 2026-11-01 happens twice (the first, still EDT, is taken).
  ASSERT_EQ(surgectl({"reserve", "add", "hello", "--count", "2", "--start", "2026-03-08T02:30", "--end",
                      "2026-11-01T01:30", "--tz", "America/New_York"})
                .code,
            0);
  sent = lastAdd();
  EXPECT_EQ(api::fromProtoTimestamp(sent.schedule().once().start_time()), utc(2026, 3, 8, 7, 0));
  EXPECT_EQ(api::fromProtoTimestamp(sent.schedule().once().end_time()), utc(2026, 11, 1, 5, 30));

  ASSERT_EQ(surgectl({"reserve", "add", "hello", "--count", "2", "--start", "2026-12-11T20:00:00+08:00", "--end",
                      "2026-12-11T13:00:00Z", "--tz", "America/New_York"})
                .code,
            0);
  sent = lastAdd();
  EXPECT_EQ(api::fromProtoTimestamp(sent.schedule().once().start_time()), utc(2026, 12, 11, 12, 0));
  EXPECT_EQ(api::fromProtoTimestamp(sent.schedule().once().end_time()), utc(2026, 12, 11, 13, 0));
}

TEST_F(ReservationCommandsClientTest, AddSendsACronWindowWithItsDurationZoneLeadAndForce) {
  const InProcessRun add = surgectl({"reserve", "add", "hello", "--count", "4", "--cron", "0 9 * * 1-5", "--duration",
                                     "8h", "--tz", "America/New_York", "--lead", "500ms", "--force"});
  ASSERT_EQ(add.code, 0) << add.err;
  v1::AddReservationScheduleRequest sent = lastAdd();
  ASSERT_TRUE(sent.schedule().has_recurring());
  EXPECT_EQ(sent.schedule().recurring().cron(), "0 9 * * 1-5");
  EXPECT_EQ(api::fromProtoDuration(sent.schedule().recurring().duration()), absl::Hours(8));
  EXPECT_EQ(sent.schedule().recurring().time_zone(), "America/New_York");
  EXPECT_EQ(sent.schedule().lead().seconds(), 0);
  EXPECT_EQ(sent.schedule().lead().nanos(), 500'000'000);
  EXPECT_TRUE(sent.force());
  EXPECT_FALSE(sent.validate_only());

  ASSERT_EQ(surgectl({"reserve", "add", "hello", "--count", "4", "--cron", "*/30 * * * *", "--duration", "15m"}).code,
            0);
  sent = lastAdd();
  EXPECT_EQ(sent.schedule().recurring().time_zone(), "UTC") << "no --tz: UTC";
  EXPECT_EQ(api::fromProtoDuration(sent.schedule().recurring().duration()), absl::Minutes(15));
  EXPECT_FALSE(sent.force());
}

TEST_F(ReservationCommandsClientTest, UsageErrorsSendNothing) {
  const std::vector<std::string> add = {"reserve", "add", "hello", "--count", "3"};
  auto usage = [&](std::vector<std::string> extra, const std::string& message) {
    std::vector<std::string> args = add;
    args.insert(args.end(), extra.begin(), extra.end());
    const InProcessRun result = surgectl(args);
    EXPECT_EQ(result.code, 2) << message;
    EXPECT_THAT(result.err, HasSubstr(message));
    EXPECT_EQ(result.out, "");
  };
  usage({"--start", "2026-12-11T20:00", "--end", "2026-12-11T21:00", "--cron", "0 20 * * 5", "--duration", "1h"},
        "error: --start/--end and --cron/--duration cannot go together: give one window: --start TIME --end TIME "
        "(once), or --cron EXPR --duration D (repeating)\n");
  usage({}, "error: no window given: give one window:");
  usage({"--start", "2026-12-11T20:00"}, "error: --start needs --end");
  usage({"--cron", "0 20 * * 5"}, "error: --cron needs --duration");
  usage({"--start", "2026-12-11T25:00", "--end", "2026-12-11T21:00"},
        "error: --start: '2026-12-11T25:00' is not a time");
  usage({"--start", "2026-12-11T20:00", "--end", "tonight"}, "error: --end: 'tonight' is not a time");
  usage({"--start", "2026-12-11T20:00", "--end", "2026-12-11T21:00", "--tz", "Europe/Gotham"},
        "error: --tz: unknown time zone 'Europe/Gotham'");
  usage({"--cron", "0 20 * * 5", "--duration", "an hour"}, "error: --duration: 'an hour' is not a duration");
  usage({"--cron", "0 20 * * 5", "--duration", "1h", "--lead", "-5m"}, "error: --lead: '-5m' is not a duration");
  usage({"--cron", "0 20 * * 5 *", "--duration", "1h"}, "error: --cron: '0 20 * * 5 *' has 6 fields; give five");
  usage({"--start", "2026-12-11T21:00", "--end", "2026-12-11T20:00"}, "error: --end (2026-12-11T20:00) must be after");

  const InProcessRun noCount =
      surgectl({"reserve", "add", "hello", "--start", "2026-12-11T20:00", "--end", "2026-12-11T21:00"});
  EXPECT_EQ(noCount.code, 2);
  EXPECT_THAT(noCount.err, HasSubstr("--count is required"));
  const InProcessRun zeroCount =
      surgectl({"reserve", "add", "hello", "--count", "0", "--start", "2026-12-11T20:00", "--end", "2026-12-11T21:00"});
  EXPECT_EQ(zeroCount.code, 2);
  EXPECT_THAT(zeroCount.err, HasSubstr("'0' is not a whole number from 1 to 1000"));
  const InProcessRun badListZone = surgectl({"reserve", "list", "hello", "--tz", "Nowhere"});
  EXPECT_EQ(badListZone.code, 2);
  EXPECT_THAT(badListZone.err, HasSubstr("error: --tz: unknown time zone 'Nowhere'"));
  EXPECT_EQ(surgectl({"reserve", "remove", "hello"}).code, 2);
  EXPECT_EQ(surgectl({"reserve", "list", "Bad_Name"}).code, 2);

  EXPECT_TRUE(service_.adds().empty());
  EXPECT_TRUE(service_.lists().empty());
  EXPECT_TRUE(service_.plans().empty());
  EXPECT_TRUE(service_.removes().empty());
}

TEST_F(ReservationCommandsClientTest, ADryRunThatWouldBeAcceptedExitsZero) {
  v1::ReservationSchedule answer = storedPromotion();
  answer.clear_id();
  service_.addAnswer = answer;
  const InProcessRun dryRun = surgectl({"reserve", "add", "hello", "--count", "10", "--start", "2026-12-11T12:00:00Z",
                                        "--end", "2026-12-11T15:00:00Z", "--dry-run"});
  EXPECT_EQ(dryRun.code, 0) << dryRun.err;
  EXPECT_TRUE(lastAdd().validate_only());
  EXPECT_EQ(dryRun.out, "would be accepted\n"
                        "function:    default/hello\n"
                        "count:       10\n"
                        "window:      2026-12-11T12:00:00Z → 2026-12-11T15:00:00Z\n"
                        "lead:        4m30s (computed)\n"
                        "next start:  2026-12-11T12:00:00Z\n"
                        "description: double twelve\n");
  EXPECT_EQ(dryRun.err, "");
}

TEST_F(ReservationCommandsClientTest, ADryRunThatWouldBeRefusedPrintsTheShortfallsAndExitsOne) {
  v1::ReservationSchedule answer = storedPromotion();
  answer.clear_id();
  *answer.add_shortfalls() = memoryShortfall();
  service_.addAnswer = answer;
  const std::vector<std::string> args = {
      "reserve",  "add", "hello", "--count", "10", "--start", "2026-12-11T12:00:00Z", "--end", "2026-12-11T15:00:00Z",
      "--dry-run"};
  const InProcessRun refused = surgectl(args);
  EXPECT_EQ(refused.code, 1);
  EXPECT_TRUE(lastAdd().validate_only());
  EXPECT_THAT(refused.out, StartsWith("would be refused\n"));
  EXPECT_THAT(refused.out, HasSubstr("\nshortfalls:\n  memory at 2026-12-11T11:55:00Z: 10 instances of 256 MiB need "
                                     "512 MiB beyond the 4096 MiB budget; at most 8 fit\n"));

  std::vector<std::string> json = args;
  json.insert(json.end(), {"-o", "json"});
  const InProcessRun refusedJson = surgectl(json);
  EXPECT_EQ(refusedJson.code, 1);
  lastAdd();
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(refusedJson.out, &parsed).ok()) << refusedJson.out;
  EXPECT_EQ(
      parsed.fields().at("shortfalls").list_value().values(0).struct_value().fields().at("maxCount").number_value(), 8);

  std::vector<std::string> forced = args;
  forced.push_back("--force");
  const InProcessRun wouldStore = surgectl(forced);
  EXPECT_EQ(wouldStore.code, 0);
  const v1::AddReservationScheduleRequest sent = lastAdd();
  EXPECT_TRUE(sent.validate_only());
  EXPECT_TRUE(sent.force());
  EXPECT_THAT(wouldStore.out, StartsWith("would be stored with a warning (--force)\n"));
}

TEST_F(ReservationCommandsClientTest, AForcedWindowWithAWarningPrintsItOnStderrAndExitsZero) {
  v1::ReservationSchedule answer = storedPromotion();
  answer.set_warning("10 instances of 256 MiB need 512 MiB beyond the 4096 MiB budget; at most 8 fit");
  *answer.add_shortfalls() = memoryShortfall();
  service_.addAnswer = answer;
  const InProcessRun forced = surgectl({"reserve", "add", "hello", "--count", "10", "--start", "2026-12-11T12:00:00Z",
                                        "--end", "2026-12-11T15:00:00Z", "--force"});
  EXPECT_EQ(forced.code, 0);
  EXPECT_TRUE(lastAdd().force());
  EXPECT_EQ(forced.err, "warning: 10 instances of 256 MiB need 512 MiB beyond the 4096 MiB budget; at most 8 fit\n");
  EXPECT_THAT(forced.out, HasSubstr("\nshortfalls:\n  memory at 2026-12-11T11:55:00Z: 10 instances of 256 MiB need"))
      << "the shortfalls say what the warning says, once";
  EXPECT_THAT(forced.out, Not(HasSubstr("\nwarning:")));
}

TEST_F(ReservationCommandsClientTest, ARefusalIsAnRpcErrorWithAHint) {
  service_.addStatus = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                    "10 instances of 256 MiB need 512 MiB beyond the 4096 MiB budget; at most 8 fit");
  const InProcessRun refused =
      surgectl({"reserve", "add", "hello", "--count", "10", "--cron", "0 20 * * 5", "--duration", "2h"});
  EXPECT_EQ(refused.code, 1);
  EXPECT_EQ(refused.out, "");
  EXPECT_EQ(refused.err,
            "error: RESOURCE_EXHAUSTED: 10 instances of 256 MiB need 512 MiB beyond the 4096 MiB budget; at most 8 "
            "fit\nhint: --dry-run shows every shortfall; --force stores the window anyway, keeping the reason as its "
            "warning\n");
}

// r-1 opens 2 hours after the plan's start and warms 10 minutes before; the standing target is 2.
void planPromotion(ScalingServiceDouble& service) {
  *service.schedules.add_schedules() = storedPromotion();
  v1::ReservationSchedule warned = storedPromotion();
  warned.set_id("r-2");
  warned.set_count(4);
  warned.clear_once();
  warned.mutable_recurring()->set_cron("0 20 * * 5");
  *warned.mutable_recurring()->mutable_duration() = api::toProtoDuration(absl::Hours(2));
  warned.mutable_recurring()->set_time_zone("Asia/Shanghai");
  warned.set_lead_computed(false);
  warned.set_description("");
  warned.set_warning("the memory budget fits 3 of the 4 instances");
  *service.schedules.add_schedules() = warned;
  service.standingTarget = 2;
  service.steps = {{absl::ZeroDuration(), 2, "", false},
                   {absl::Minutes(110), 10, "r-1", true},
                   {absl::Minutes(120), 10, "r-1", false},
                   {absl::Minutes(300), 2, "", false}};
}

TEST_F(ReservationCommandsClientTest, ListPrintsTheWindowsAndTheNext24HoursFromThisHour) {
  planPromotion(service_);
  const absl::Time before = absl::Now();
  const InProcessRun list = surgectl({"-n", "shop", "reserve", "list", "hello"});
  const absl::Time after = absl::Now();
  ASSERT_EQ(list.code, 0) << list.err;

  ASSERT_EQ(service_.lists().size(), 1u);
  EXPECT_EQ(service_.lists()[0].namespace_(), "shop");
  EXPECT_EQ(service_.lists()[0].function(), "hello");
  ASSERT_EQ(service_.plans().size(), 1u);
  const v1::GetReservationPlanRequest planRequest = service_.plans()[0];
  EXPECT_EQ(planRequest.namespace_(), "shop");
  const absl::Time from = api::fromProtoTimestamp(planRequest.from_time());
  EXPECT_EQ(from, absl::FromUnixSeconds(absl::ToUnixSeconds(from) / 3600 * 3600)) << "a whole UTC hour";
  EXPECT_LE(from, after);
  EXPECT_GT(from + absl::Hours(1), before);
  EXPECT_EQ(api::fromProtoTimestamp(planRequest.to_time()), from + absl::Hours(24));

  const std::vector<std::string> lines = absl::StrSplit(list.out, '\n');
  ASSERT_EQ(lines.size(), 32u) << list.out; // 3 + note, blank, heading, header, 24 hours, final newline
  EXPECT_EQ(lines[0], "ID    COUNT   WINDOW                                        LEAD               NEXT START   "
                      "          DESCRIPTION");
  EXPECT_EQ(lines[1], "r-1   10      2026-12-11T12:00:00Z → 2026-12-11T15:00:00Z   4m30s (computed)   "
                      "2026-12-11T12:00:00Z   double twelve");
  EXPECT_EQ(lines[2], "r-2   4       cron 0 20 * * 5 for 2h (Asia/Shanghai)        4m30s              "
                      "2026-12-11T12:00:00Z   -");
  EXPECT_EQ(lines[3], "  warning: the memory budget fits 3 of the 4 instances");
  EXPECT_EQ(lines[4], "");
  EXPECT_EQ(lines[5], "reserved target by hour (UTC; standing target 2):");
  EXPECT_EQ(lines[6], "HOUR                   TARGET   SET BY");
  auto hour = [&](int i) { return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", from + absl::Hours(i), absl::UTCTimeZone()); };
  EXPECT_EQ(lines[7], hour(0) + "   2        standing");
  EXPECT_EQ(lines[8], hour(1) + "   10       r-1 (warming)");
  EXPECT_EQ(lines[9], hour(2) + "   10       r-1");
  EXPECT_EQ(lines[11], hour(4) + "   10       r-1");
  EXPECT_EQ(lines[12], hour(5) + "   2        standing");
  EXPECT_EQ(lines[30], hour(23) + "   2        standing");
}

TEST_F(ReservationCommandsClientTest, ListWithAZoneShowsLocalHours) {
  planPromotion(service_);
  const InProcessRun list = surgectl({"reserve", "list", "hello", "--tz", "Asia/Kolkata"});
  ASSERT_EQ(list.code, 0) << list.err;
  const absl::Time from = api::fromProtoTimestamp(service_.plans().at(0).from_time());
  EXPECT_EQ(absl::ToUnixSeconds(from) % 3600, 1800) << "Kolkata's hours start at half past in UTC";
  EXPECT_THAT(list.out, HasSubstr("2026-12-11T17:30:00+05:30 → 2026-12-11T20:30:00+05:30"));
  EXPECT_THAT(list.out, HasSubstr("reserved target by hour (Asia/Kolkata; standing target 2):\n"));
  EXPECT_THAT(list.out, HasSubstr(":00:00+05:30   10       r-1 (warming)\n"));
}

TEST_F(ReservationCommandsClientTest, ListAsJsonIsOneObjectWithTheSchedulesAndThePlan) {
  planPromotion(service_);
  const InProcessRun list = surgectl({"reserve", "list", "hello", "-o", "json"});
  ASSERT_EQ(list.code, 0) << list.err;
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(list.out, &parsed).ok()) << list.out;
  ASSERT_EQ(parsed.fields().size(), 2u);
  const auto& schedules = parsed.fields().at("schedules").list_value();
  ASSERT_EQ(schedules.values_size(), 2);
  EXPECT_EQ(schedules.values(1).struct_value().fields().at("warning").string_value(),
            "the memory budget fits 3 of the 4 instances");
  EXPECT_EQ(
      schedules.values(1).struct_value().fields().at("recurring").struct_value().fields().at("timeZone").string_value(),
      "Asia/Shanghai");
  const auto& plan = parsed.fields().at("plan").struct_value();
  EXPECT_EQ(plan.fields().at("standingTarget").number_value(), 2);
  ASSERT_EQ(plan.fields().at("steps").list_value().values_size(), 4);
  EXPECT_TRUE(plan.fields().at("steps").list_value().values(1).struct_value().fields().at("warming").bool_value());
}

TEST_F(ReservationCommandsClientTest, RemoveSendsTheIdAndSaysWhatWasRemoved) {
  const InProcessRun removed = surgectl({"-n", "shop", "reserve", "remove", "hello", "r-1"});
  ASSERT_EQ(removed.code, 0) << removed.err;
  EXPECT_EQ(removed.out, "removed reservation window r-1 of shop/hello\n");
  ASSERT_EQ(service_.removes().size(), 1u);
  EXPECT_EQ(service_.removes()[0].namespace_(), "shop");
  EXPECT_EQ(service_.removes()[0].function(), "hello");
  EXPECT_EQ(service_.removes()[0].id(), "r-1");

  const InProcessRun json = surgectl({"reserve", "remove", "hello", "r-1", "-o", "json"});
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_EQ(json.out, "{}\n");

  const InProcessRun missing = surgectl({"reserve", "remove", "hello", "r-9"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.err, "error: NOT_FOUND: no reservation window 'r-9'\n");
}

} // namespace
} // namespace surge::cli
