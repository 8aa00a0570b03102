// "surgectl reserve track" and the tracking lines of "surgectl status", in-process against a
// ScalingService double on a loopback port: what they send (nothing on a usage error), what they
// print, and their exit codes.
#include "api/proto_time.h"
#include "cli/cli_app.h"
#include "cli/tracking_commands.h"

#include "surge/v1/scaling.grpc.pb.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

namespace surge::cli {
namespace {

namespace v1 = surge::v1;
using ::testing::HasSubstr;
using ::testing::Not;

// Answers SetTrackingPolicy with a status that follows the request, GetScalingStatus with
// `status`, and SetReservedCapacity with the refusal a tracked function gets.
class TrackingServiceDouble final : public v1::ScalingService::Service {
public:
  v1::ScalingStatus status;

  grpc::Status SetTrackingPolicy(grpc::ServerContext*, const v1::SetTrackingPolicyRequest* request,
                                 v1::ScalingStatus* response) override {
    std::lock_guard lock(mutex_);
    requests_.push_back(*request);
    response->set_namespace_(request->namespace_());
    response->set_function(request->function());
    if (request->has_policy()) {
      *response->mutable_tracking() = request->policy();
      if (!request->policy().has_cooldown()) {
        *response->mutable_tracking()->mutable_cooldown() = api::toProtoDuration(absl::Minutes(5));
      }
      response->set_tracked_target(request->policy().min_reserved());
      response->set_reserved_target(request->policy().min_reserved());
      response->set_tracking_sets_target(true);
    }
    return grpc::Status::OK;
  }
  grpc::Status GetScalingStatus(grpc::ServerContext*, const v1::GetScalingStatusRequest*,
                                v1::ScalingStatus* response) override {
    *response = status;
    return grpc::Status::OK;
  }
  grpc::Status SetReservedCapacity(grpc::ServerContext*, const v1::SetReservedCapacityRequest*,
                                   v1::ScalingStatus*) override {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "default/hello follows a tracking policy (min 2, max 10, target 0.6); turn it off with "
                        "`surgectl reserve track hello --off` to set a standing target");
  }

  std::vector<v1::SetTrackingPolicyRequest> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

private:
  std::mutex mutex_;
  std::vector<v1::SetTrackingPolicyRequest> requests_;
};

// The output with the block's alignment squeezed to one space after each key, so that the
// expectations do not depend on which keys are shown.
std::string squeezed(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out += c;
  }
  return out;
}

struct InProcessRun {
  int code;
  std::string out;
  std::string err;
};

class TrackingCommandsClientTest : public ::testing::Test {
protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    address_ = "127.0.0.1:" + std::to_string(port);
  }
  void TearDown() override { server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10)); }

  InProcessRun surgectl(const std::vector<std::string>& args) {
    std::ostringstream out, err;
    std::vector<std::string> all = {"--server", address_, "--key", "surge_test_secret"};
    all.insert(all.end(), args.begin(), args.end());
    const int code = run(all, out, err);
    return {code, squeezed(out.str()), err.str()};
  }

  TrackingServiceDouble service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

TEST_F(TrackingCommandsClientTest, TrackSendsThePolicyAndPrintsTheStatusItSets) {
  const InProcessRun track = surgectl(
      {"-n", "shop", "reserve", "track", "hello", "--min", "2", "--max", "10", "--target", "0.6", "--cooldown", "10m"});
  ASSERT_EQ(track.code, 0) << track.err;
  ASSERT_EQ(service_.requests().size(), 1u);
  const v1::SetTrackingPolicyRequest sent = service_.requests().back();
  EXPECT_EQ(sent.namespace_(), "shop");
  EXPECT_EQ(sent.function(), "hello");
  ASSERT_TRUE(sent.has_policy());
  EXPECT_EQ(sent.policy().min_reserved(), 2u);
  EXPECT_EQ(sent.policy().max_reserved(), 10u);
  EXPECT_DOUBLE_EQ(sent.policy().target_utilization(), 0.6);
  EXPECT_EQ(api::fromProtoDuration(sent.policy().cooldown()), absl::Minutes(10));
  EXPECT_THAT(track.out, HasSubstr("set by: tracking (2)\n"));
  EXPECT_THAT(track.out, HasSubstr("tracking: min 2, max 10, target 0.6, cool-down 10m\n"));
  EXPECT_THAT(track.out, HasSubstr("tracked: 2 (no instance ready to measure)\n"));
}

TEST_F(TrackingCommandsClientTest, WithoutCooldownTheServersDefaultApplies) {
  const InProcessRun track = surgectl({"reserve", "track", "hello", "--max", "4", "--target", "0.5"});
  ASSERT_EQ(track.code, 0) << track.err;
  const v1::SetTrackingPolicyRequest sent = service_.requests().back();
  EXPECT_EQ(sent.namespace_(), "default");
  EXPECT_EQ(sent.policy().min_reserved(), 0u);
  EXPECT_FALSE(sent.policy().has_cooldown());
  EXPECT_THAT(track.out, HasSubstr("cool-down 5m\n"));
}

TEST_F(TrackingCommandsClientTest, OffSendsNoPolicy) {
  const InProcessRun off = surgectl({"reserve", "track", "hello", "--off"});
  ASSERT_EQ(off.code, 0) << off.err;
  ASSERT_EQ(service_.requests().size(), 1u);
  EXPECT_FALSE(service_.requests().back().has_policy());
  EXPECT_THAT(off.out, HasSubstr("set by: the standing target (0)\n"));
  EXPECT_THAT(off.out, Not(HasSubstr("tracking:")));
}

TEST_F(TrackingCommandsClientTest, JsonHasEveryTrackingField) {
  const InProcessRun json =
      surgectl({"-o", "json", "reserve", "track", "hello", "--min", "1", "--max", "3", "--target", "1"});
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr("\"trackingSetsTarget\": true"));
  EXPECT_THAT(json.out, HasSubstr("\"trackedTarget\": 1"));
  EXPECT_THAT(json.out, HasSubstr("\"maxReserved\": 3"));
}

TEST_F(TrackingCommandsClientTest, UsageErrorsSendNothing) {
  auto usage = [&](std::vector<std::string> extra, const std::string& message) {
    std::vector<std::string> args = {"reserve", "track", "hello"};
    args.insert(args.end(), extra.begin(), extra.end());
    const InProcessRun result = surgectl(args);
    EXPECT_EQ(result.code, 2) << message;
    EXPECT_THAT(result.err, HasSubstr(message));
    EXPECT_EQ(result.out, "");
  };
  usage({}, "error: --max is missing: give --max N --target U (and optionally --min N, --cooldown D), or --off");
  usage({"--max", "4"}, "error: --target is missing (the utilisation to aim at, e.g. 0.6)");
  usage({"--off", "--max", "4"}, "error: --off cannot go with a policy's flags");
  usage({"--max", "4", "--target", "0.6", "--cooldown", "soon"}, "error: --cooldown: 'soon' is not a duration");
  usage({"--max", "4", "--target", "1.5"}, "--target");
  EXPECT_TRUE(service_.requests().empty());
}

TEST_F(TrackingCommandsClientTest, StatusSaysWhenTrackingSetsTheTargetAndTheMeasuredUtilisation) {
  service_.status.set_namespace_("default");
  service_.status.set_function("hello");
  service_.status.mutable_tracking()->set_min_reserved(2);
  service_.status.mutable_tracking()->set_max_reserved(10);
  service_.status.mutable_tracking()->set_target_utilization(0.6);
  *service_.status.mutable_tracking()->mutable_cooldown() = api::toProtoDuration(absl::Minutes(5));
  service_.status.set_reserved_target(7);
  service_.status.set_reserved_ready(5);
  service_.status.set_tracked_target(7);
  service_.status.set_tracking_sets_target(true);
  service_.status.set_utilization(0.84);
  const InProcessRun status = surgectl({"status", "hello"});
  ASSERT_EQ(status.code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("reserved: 5 ready of 7 wanted\n"));
  EXPECT_THAT(status.out, HasSubstr("set by: tracking (7)\n"));
  EXPECT_THAT(status.out, HasSubstr("tracked: 7 (utilisation 0.84 over 10 s)\n"));

  // A window above the tracked target sets it instead.
  service_.status.set_tracking_sets_target(false);
  service_.status.set_schedule_id("3");
  service_.status.set_reserved_target(12);
  const InProcessRun window = surgectl({"status", "hello"});
  EXPECT_THAT(window.out, HasSubstr("set by: window 3\n"));
  EXPECT_THAT(window.out, HasSubstr("tracked: 7 (utilisation 0.84 over 10 s)\n"));
}

TEST_F(TrackingCommandsClientTest, ReserveSetOnATrackedFunctionPrintsTheWayOut) {
  const InProcessRun set = surgectl({"reserve", "set", "hello", "5"});
  EXPECT_EQ(set.code, 1);
  EXPECT_THAT(set.err, HasSubstr("error: FAILED_PRECONDITION: default/hello follows a tracking policy (min 2, max 10, "
                                 "target 0.6); turn it off with `surgectl reserve track hello --off`"));
}

} // namespace
} // namespace surge::cli
