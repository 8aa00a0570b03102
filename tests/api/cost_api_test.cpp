// GetCost end to end: a real surged with real sandboxes keeps one reserved instance of a function
// and serves requests one at a time for a bounded period. Its report adds up (usage by kind,
// parts to total), the what-if for the same count agrees with the actual cost within 1%, and the
// what-if for two more adds exactly their alive GB-seconds. Also the answers to bad requests.
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

#include <thread>

namespace surge {
namespace {

using testing::contextWithDeadline;
using ::testing::HasSubstr;

constexpr const char* kHandler = R"py(import time

def handler(event, context):
    time.sleep(0.05)
    return "served"
)py";

constexpr int kCalls = 30;

class CostApiTest : public ::testing::Test {
protected:
  void SetUp() override {
    surged_ = std::make_unique<testing::SurgedProcess>(dir_.path() / "data",
                                                       std::vector<std::string>{"--price-currency", "EUR"});
    channel_ = testing::makeChannel(surged_->address());
    scaling_ = v1::ScalingService::NewStub(channel_);
    invoker_ = v1::InvokeService::NewStub(channel_);
    testing::PythonFunction function;
    function.name = "steady";
    function.code = kHandler;
    function.memoryMb = 256;
    function.maxInstances = 4;
    const absl::Status deployed = testing::deployPythonFunction(channel_, function);
    ASSERT_TRUE(deployed.ok()) << deployed;
  }
  void TearDown() override {
    scaling_.reset();
    invoker_.reset();
    channel_.reset();
    surged_.reset();
  }

  grpc::Status cost(absl::Time from, absl::Time to, std::optional<uint32_t> whatIf, v1::CostReport* report) {
    v1::GetCostRequest request;
    request.set_function("steady");
    *request.mutable_from_time() = api::toProtoTimestamp(from);
    *request.mutable_to_time() = api::toProtoTimestamp(to);
    if (whatIf) request.set_what_if_reserved(*whatIf);
    auto context = contextWithDeadline();
    return scaling_->GetCost(context.get(), request, report);
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::SurgedProcess> surged_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ScalingService::Stub> scaling_;
  std::unique_ptr<v1::InvokeService::Stub> invoker_;
};

TEST_F(CostApiTest, AConstantReservedTargetsReportAddsUpAndItsWhatIfAgreesWithinOnePercent) {
  v1::SetReservedCapacityRequest reserve;
  reserve.set_function("steady");
  reserve.set_count(1);
  v1::ScalingStatus status;
  {
    auto context = contextWithDeadline();
    ASSERT_TRUE(scaling_->SetReservedCapacity(context.get(), reserve, &status).ok());
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (status.reserved_ready() < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5)); // a poll, not a wait for long enough
    v1::GetScalingStatusRequest request;
    request.set_function("steady");
    auto context = contextWithDeadline();
    ASSERT_TRUE(scaling_->GetScalingStatus(context.get(), request, &status).ok());
  }
  ASSERT_EQ(status.reserved_ready(), 1u);

  // The period: from the next whole second after the instance is ready, to the whole second
  // after the last call, with one reserved instance standing throughout.
  const absl::Time from = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) + 1);
  while (absl::Now() < from) std::this_thread::sleep_for(std::chrono::milliseconds(5)); // a poll for the clock
  for (int i = 0; i < kCalls; ++i) {
    v1::InvokeRequest invoke;
    invoke.set_function("steady");
    v1::InvokeResponse response;
    auto call = contextWithDeadline();
    const grpc::Status rpc = invoker_->Invoke(call.get(), invoke, &response);
    ASSERT_TRUE(rpc.ok()) << rpc.error_message();
    EXPECT_FALSE(response.cold_start());
  }
  const absl::Time to = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) + 1);

  // The history has the period once its last second is rolled and stored: poll for it.
  v1::CostReport report;
  const auto stored = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    report.Clear();
    const grpc::Status rpc = cost(from, to, 1, &report);
    ASSERT_TRUE(rpc.ok() || rpc.error_code() == grpc::StatusCode::INVALID_ARGUMENT) << rpc.error_message();
    const bool complete = rpc.ok() && report.has_data_to_time() &&
                          api::fromProtoTimestamp(report.data_to_time()) == to &&
                          report.usage().reserved_requests() == static_cast<uint64_t>(kCalls);
    if (complete || std::chrono::steady_clock::now() > stored) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50)); // a poll
  }
  const int64_t seconds = absl::ToInt64Seconds(to - from);
  SCOPED_TRACE(report.DebugString());
  EXPECT_EQ(report.resolution_seconds(), 1u);
  EXPECT_EQ(report.prices().currency(), "EUR");
  EXPECT_EQ(report.memory_mb(), 256u);
  EXPECT_EQ(api::fromProtoTimestamp(report.data_from_time()), from);
  EXPECT_EQ(api::fromProtoTimestamp(report.data_to_time()), to);

  // The accounting adds up: every call ran on the reserved instance, which was alive every second.
  const v1::CostUsage& usage = report.usage();
  EXPECT_EQ(usage.reserved_requests(), static_cast<uint64_t>(kCalls));
  EXPECT_EQ(usage.on_demand_requests(), 0u);
  EXPECT_EQ(usage.on_demand_billed_gb_seconds(), 0);
  EXPECT_DOUBLE_EQ(usage.reserved_instance_gb_seconds(), static_cast<double>(seconds) * 256 / 1024);
  EXPECT_GE(usage.reserved_billed_gb_seconds(), kCalls * 0.05 * 256 / 1024);
  const v1::CostPrices& prices = report.prices();
  const v1::CostBreakdown& actual = report.actual();
  EXPECT_DOUBLE_EQ(actual.reserved_instances(), usage.reserved_instance_gb_seconds() * prices.reserved_gb_second());
  EXPECT_DOUBLE_EQ(actual.reserved_execution(),
                   usage.reserved_billed_gb_seconds() * prices.reserved_execution_gb_second());
  EXPECT_EQ(actual.on_demand_execution(), 0);
  EXPECT_DOUBLE_EQ(actual.requests(), kCalls / 1e6 * prices.per_million_requests());
  EXPECT_DOUBLE_EQ(actual.total(), actual.reserved_instances() + actual.reserved_execution() + actual.requests());

  // The what-if for the count that stood, replayed from the recorded concurrency.
  ASSERT_TRUE(report.has_what_if());
  EXPECT_EQ(report.what_if().reserved(), 1u);
  EXPECT_NEAR(report.what_if().cost().total(), actual.total(), 0.01 * actual.total());
  EXPECT_EQ(report.what_if().cold_starts(), 0u);

  // Two more: their alive GB-seconds on top, nothing else changes.
  v1::CostReport more;
  ASSERT_TRUE(cost(from, to, 3, &more).ok());
  EXPECT_NEAR(more.what_if().cost().total() - report.what_if().cost().total(),
              2.0 * static_cast<double>(seconds) * 256 / 1024 * prices.reserved_gb_second(), 1e-12);
  EXPECT_EQ(more.what_if().cold_starts_delta(), 0);
  // Sequential calls need one instance: the recommendation is that one (or none, which would
  // cold-start once, over the 0.1% budget of 30 requests).
  EXPECT_EQ(report.recommended().reserved(), 1u);
}

TEST_F(CostApiTest, BadRequestsSayWhatIsWrong) {
  v1::CostReport report;
  v1::GetCostRequest request;
  request.set_function("steady");
  auto context = contextWithDeadline();
  grpc::Status rpc = scaling_->GetCost(context.get(), request, &report);
  EXPECT_EQ(rpc.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(rpc.error_message(), HasSubstr("from_time is required"));

  const absl::Time now = absl::Now();
  rpc = cost(now + absl::Hours(1), now + absl::Hours(2), std::nullopt, &report);
  EXPECT_EQ(rpc.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(rpc.error_message(), HasSubstr("the period is empty"));

  *request.mutable_from_time() = api::toProtoTimestamp(now - absl::Hours(1));
  request.set_cold_start_budget(2);
  context = contextWithDeadline();
  rpc = scaling_->GetCost(context.get(), request, &report);
  EXPECT_EQ(rpc.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(rpc.error_message(), HasSubstr("cold_start_budget is 2"));

  request.set_cold_start_budget(0);
  request.set_function("nobody");
  context = contextWithDeadline();
  rpc = scaling_->GetCost(context.get(), request, &report);
  EXPECT_EQ(rpc.error_code(), grpc::StatusCode::NOT_FOUND);
}

} // namespace
} // namespace surge
