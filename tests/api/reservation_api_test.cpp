// Scheduled reservations end to end: a real surged with real sandboxes. A window that starts 5 s
// from now with count 5 has 5 ready instances at its start; a burst of 5 concurrent invokes in
// it sees no cold start; after it the surplus is reclaimed once idle. Also the plan, the
// status's window fields, and the answers to bad requests.
#include "api/proto_time.h"
#include "support/client.h"
#include "support/function_setup.h"
#include "support/process.h"
#include "support/temp_dir.h"

#include "surge/v1/invoke.grpc.pb.h"
#include "surge/v1/scaling.grpc.pb.h"

#include <absl/time/clock.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <thread>
#include <vector>

namespace surge {
namespace {

using testing::contextWithDeadline;
using ::testing::HasSubstr;

constexpr const char* kHandler = R"py(import time

def handler(event, context):
    time.sleep(0.2)
    return "served"
)py";

class ReservationApiTest : public ::testing::Test {
protected:
  void SetUp() override {
    // Idle on-demand instances go after 2 s, so that the window's surplus is seen to go.
    surged_ =
        std::make_unique<testing::SurgedProcess>(dir_.path() / "data", std::vector<std::string>{"--idle-timeout", "2"});
    channel_ = testing::makeChannel(surged_->address());
    scaling_ = v1::ScalingService::NewStub(channel_);
    invoker_ = v1::InvokeService::NewStub(channel_);
    testing::PythonFunction function;
    function.name = "flash";
    function.code = kHandler;
    const absl::Status deployed = testing::deployPythonFunction(channel_, function);
    ASSERT_TRUE(deployed.ok()) << deployed;
  }
  void TearDown() override {
    scaling_.reset();
    invoker_.reset();
    channel_.reset();
    surged_.reset();
  }

  v1::ScalingStatus status() {
    v1::GetScalingStatusRequest request;
    request.set_function("flash");
    v1::ScalingStatus status;
    auto context = contextWithDeadline();
    EXPECT_TRUE(scaling_->GetScalingStatus(context.get(), request, &status).ok());
    return status;
  }
  // Polls the status until `done` holds or 60 s pass; the last status read.
  template <class Predicate> v1::ScalingStatus waitForStatus(Predicate done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    v1::ScalingStatus last = status();
    while (!done(last) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5)); // a poll, not a wait for long enough
      last = status();
    }
    return last;
  }

  grpc::Status add(const v1::AddReservationScheduleRequest& request, v1::ReservationSchedule* added) {
    auto context = contextWithDeadline();
    return scaling_->AddReservationSchedule(context.get(), request, added);
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::SurgedProcess> surged_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ScalingService::Stub> scaling_;
  std::unique_ptr<v1::InvokeService::Stub> invoker_;
};

TEST_F(ReservationApiTest, AWindowHasItsInstancesReadyAtItsStartServesABurstWarmAndIsReclaimedAfter) {
  // Whole seconds: the store keeps microseconds.
  const absl::Time start = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) + 6);
  const absl::Time end = start + absl::Seconds(6);
  v1::AddReservationScheduleRequest request;
  v1::ReservationSchedule& window = *request.mutable_schedule();
  window.set_function("flash");
  window.set_count(5);
  window.set_description("flash sale");
  *window.mutable_once()->mutable_start_time() = api::toProtoTimestamp(start);
  *window.mutable_once()->mutable_end_time() = api::toProtoTimestamp(end);
  v1::ReservationSchedule added;
  const grpc::Status rpc = add(request, &added);
  ASSERT_TRUE(rpc.ok()) << rpc.error_message();
  ASSERT_FALSE(added.id().empty());
  EXPECT_TRUE(added.lead_computed());
  EXPECT_GT(api::fromProtoDuration(added.lead()), absl::ZeroDuration());
  EXPECT_LT(api::fromProtoDuration(added.lead()), absl::Seconds(5)) << "5 Python instances warm well within 5 s";
  EXPECT_EQ(api::fromProtoTimestamp(added.next_start_time()), start);

  // The plan: standing 0, warming from start - lead, 5 from the start, 0 from the end.
  v1::GetReservationPlanRequest planRequest;
  planRequest.set_function("flash");
  *planRequest.mutable_to_time() = api::toProtoTimestamp(end + absl::Minutes(1));
  v1::ReservationPlan plan;
  auto context = contextWithDeadline();
  ASSERT_TRUE(scaling_->GetReservationPlan(context.get(), planRequest, &plan).ok());
  ASSERT_EQ(plan.steps_size(), 4);
  EXPECT_EQ(plan.steps(1).reserved_target(), 5u);
  EXPECT_TRUE(plan.steps(1).warming());
  EXPECT_EQ(api::fromProtoTimestamp(plan.steps(1).start_time()), start - api::fromProtoDuration(added.lead()));
  EXPECT_EQ(api::fromProtoTimestamp(plan.steps(2).start_time()), start);
  EXPECT_FALSE(plan.steps(2).warming());
  EXPECT_EQ(plan.steps(2).schedule_id(), added.id());
  EXPECT_EQ(plan.steps(3).reserved_target(), 0u);

  const v1::ScalingStatus before = status();
  EXPECT_EQ(before.reserved_target(), 0u);
  EXPECT_EQ(api::fromProtoTimestamp(before.next_change_time()), start - api::fromProtoDuration(added.lead()));
  EXPECT_EQ(before.next_target(), 5u);
  EXPECT_TRUE(before.next_warming());

  // At the start: the first status that shows the window open has its 5 instances ready.
  const v1::ScalingStatus atStart =
      waitForStatus([](const v1::ScalingStatus& s) { return s.reserved_target() == 5 && !s.warming(); });
  EXPECT_EQ(atStart.schedule_id(), added.id());
  EXPECT_EQ(atStart.reserved_ready(), 5u) << "ready at the start, not after it";
  EXPECT_EQ(api::fromProtoTimestamp(atStart.next_change_time()), end);

  std::vector<std::future<std::pair<grpc::Status, v1::InvokeResponse>>> calls;
  for (int i = 0; i < 5; ++i) {
    calls.push_back(std::async(std::launch::async, [this] {
      v1::InvokeRequest invoke;
      invoke.set_function("flash");
      v1::InvokeResponse response;
      auto call = contextWithDeadline();
      grpc::Status rpc = invoker_->Invoke(call.get(), invoke, &response);
      return std::make_pair(rpc, response);
    }));
  }
  int coldStarts = 0;
  for (auto& call : calls) {
    auto [rpc, response] = call.get();
    ASSERT_TRUE(rpc.ok()) << rpc.error_message();
    EXPECT_EQ(response.result(), "served");
    coldStarts += response.cold_start() ? 1 : 0;
  }
  EXPECT_EQ(coldStarts, 0);

  // After the end the surplus is on-demand and goes once idle for the 2 s idle timeout.
  const v1::ScalingStatus after =
      waitForStatus([](const v1::ScalingStatus& s) { return s.reserved_target() == 0 && s.instances_size() == 0; });
  EXPECT_EQ(after.instances_size(), 0) << "reclaimed once idle";
  EXPECT_GE(absl::Now(), end);
}

TEST_F(ReservationApiTest, BadWindowsGetClearErrorsAndValidateOnlyStoresNothing) {
  v1::AddReservationScheduleRequest request;
  v1::ReservationSchedule& window = *request.mutable_schedule();
  window.set_function("flash");
  window.set_count(2);
  v1::ReservationSchedule added;
  grpc::Status rpc = add(request, &added);
  EXPECT_EQ(rpc.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(rpc.error_message(), HasSubstr("needs `once`"));

  window.mutable_recurring()->set_cron("0 25 * * *");
  *window.mutable_recurring()->mutable_duration() = api::toProtoDuration(absl::Hours(1));
  rpc = add(request, &added);
  EXPECT_EQ(rpc.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(rpc.error_message(), HasSubstr("hour 25 is out of range 0-23"));

  window.mutable_recurring()->set_cron("0 20 * * FRI");
  window.mutable_recurring()->set_time_zone("Asia/Shanghai");
  request.set_validate_only(true);
  rpc = add(request, &added);
  ASSERT_TRUE(rpc.ok()) << rpc.error_message();
  EXPECT_EQ(added.id(), "");
  EXPECT_EQ(added.shortfalls_size(), 0);
  v1::ListReservationSchedulesRequest list;
  list.set_function("flash");
  v1::ListReservationSchedulesResponse listed;
  auto context = contextWithDeadline();
  ASSERT_TRUE(scaling_->ListReservationSchedules(context.get(), list, &listed).ok());
  EXPECT_EQ(listed.schedules_size(), 0) << "validate_only stores nothing";

  request.set_validate_only(false);
  ASSERT_TRUE(add(request, &added).ok());
  context = contextWithDeadline();
  ASSERT_TRUE(scaling_->ListReservationSchedules(context.get(), list, &listed).ok());
  ASSERT_EQ(listed.schedules_size(), 1);
  EXPECT_EQ(listed.schedules(0).recurring().time_zone(), "Asia/Shanghai");
  EXPECT_TRUE(listed.schedules(0).has_next_start_time());

  v1::RemoveReservationScheduleRequest remove;
  remove.set_function("flash");
  remove.set_id("abc");
  google::protobuf::Empty empty;
  context = contextWithDeadline();
  EXPECT_EQ(scaling_->RemoveReservationSchedule(context.get(), remove, &empty).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  remove.set_id("999");
  context = contextWithDeadline();
  EXPECT_EQ(scaling_->RemoveReservationSchedule(context.get(), remove, &empty).error_code(),
            grpc::StatusCode::NOT_FOUND);
  remove.set_id(added.id());
  context = contextWithDeadline();
  EXPECT_TRUE(scaling_->RemoveReservationSchedule(context.get(), remove, &empty).ok());

  v1::GetReservationPlanRequest plan;
  plan.set_function("flash");
  *plan.mutable_from_time() = api::toProtoTimestamp(absl::Now());
  *plan.mutable_to_time() = api::toProtoTimestamp(absl::Now() + absl::Hours(24 * 91));
  v1::ReservationPlan answer;
  context = contextWithDeadline();
  EXPECT_EQ(scaling_->GetReservationPlan(context.get(), plan, &answer).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

} // namespace
} // namespace surge
