// Invoke and scaling through the gRPC API of a real surged, with real sandboxed Python
// instances: cold and warm invokes, concurrency above 1, a burst of 50, timeouts, the queue,
// reserved capacity, and the errors a caller can cause.
#include "support/client.h"
#include "support/function_setup.h"
#include "support/process.h"
#include "support/surged_suite.h"
#include "support/zip_builder.h"

#include "surge/v1/invoke.grpc.pb.h"
#include "surge/v1/scaling.grpc.pb.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <set>
#include <thread>
#include <vector>

namespace surge {
namespace {

using testing::contextWithDeadline;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ZipBuilder;

// A handler that echoes, sleeps for "sleep:<seconds>", or raises for "raise".
constexpr const char* kHandler = R"py(import time

def handler(event, context):
    text = event.decode()
    if text.startswith("sleep:"):
        time.sleep(float(text[6:]))
        return "slept"
    if text == "raise":
        raise ValueError("asked to fail")
    return "echo:" + text
)py";

// How often a test re-reads the scaling status while it waits for a condition.
constexpr std::chrono::milliseconds kPollInterval{5};

class InvokeApiTest : public testing::SurgedSuite {
protected:
  // Creates a Python function with kHandler (or `code`) as its version 1.
  void deploy(const std::string& name, testing::PythonFunction function = {}, const std::string& code = kHandler) {
    deployOn(channel_, name, function, code);
  }
  // As deploy(), on another surged.
  static void deployOn(const std::shared_ptr<grpc::Channel>& channel, const std::string& name,
                       testing::PythonFunction function = {}, const std::string& code = kHandler) {
    function.name = name;
    function.code = code;
    const absl::Status status = testing::deployPythonFunction(channel, function);
    ASSERT_TRUE(status.ok()) << status;
  }

  grpc::Status invoke(const std::string& name, const std::string& payload, v1::InvokeResponse* response,
                      std::chrono::seconds deadline = std::chrono::seconds(60), int64_t version = 0) {
    v1::InvokeRequest request;
    request.set_function(name);
    request.set_payload(payload);
    request.set_version(version);
    auto context = contextWithDeadline(deadline);
    return invoker_->Invoke(context.get(), request, response);
  }

  using Answer = std::pair<grpc::Status, v1::InvokeResponse>;
  // Starts `count` invocations at once, each on a thread of its own.
  std::vector<std::future<Answer>> invokeInParallel(const std::string& name, const std::string& payload, int count) {
    std::vector<std::future<Answer>> calls;
    for (int i = 0; i < count; ++i) {
      calls.push_back(std::async(std::launch::async, [this, name, payload] {
        v1::InvokeResponse response;
        grpc::Status rpc = invoke(name, payload, &response);
        return std::make_pair(rpc, response);
      }));
    }
    return calls;
  }
  // Waits for every call; each must succeed with `result`. Returns the instances that served them.
  static std::set<std::string> servedBy(std::vector<std::future<Answer>>& calls, const std::string& result) {
    std::set<std::string> instances;
    for (auto& call : calls) {
      auto [rpc, response] = call.get();
      EXPECT_TRUE(rpc.ok()) << rpc.error_message();
      EXPECT_EQ(response.result(), result);
      instances.insert(response.instance_id());
    }
    return instances;
  }

  v1::ScalingStatus status(const std::string& name) {
    v1::GetScalingStatusRequest request;
    request.set_function(name);
    v1::ScalingStatus status;
    auto context = contextWithDeadline();
    EXPECT_TRUE(scaling_->GetScalingStatus(context.get(), request, &status).ok());
    return status;
  }

  // Polls the status (bounded) until `done` holds; returns the last status seen.
  template <typename Predicate>
  v1::ScalingStatus waitForStatus(const std::string& name, Predicate done,
                                  std::chrono::seconds timeout = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    v1::ScalingStatus last = status(name);
    while (!done(last) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(kPollInterval); // a poll, not a wait for long enough
      last = status(name);
    }
    return last;
  }

  std::unique_ptr<v1::FunctionService::Stub> functions_ = v1::FunctionService::NewStub(channel_);
  std::unique_ptr<v1::InvokeService::Stub> invoker_ = v1::InvokeService::NewStub(channel_);
  std::unique_ptr<v1::ScalingService::Stub> scaling_ = v1::ScalingService::NewStub(channel_);
};

TEST_F(InvokeApiTest, FirstInvokeIsColdAndTheNextIsWarmOnTheSameInstance) {
  deploy("cold-warm");
  v1::InvokeResponse cold;
  grpc::Status rpc = invoke("cold-warm", "Ada", &cold);
  ASSERT_TRUE(rpc.ok()) << rpc.error_message();
  EXPECT_EQ(cold.result(), "echo:Ada");
  EXPECT_TRUE(cold.cold_start());
  EXPECT_EQ(cold.instance_kind(), v1::ON_DEMAND);
  EXPECT_EQ(cold.version(), 1);
  EXPECT_FALSE(cold.request_id().empty());
  EXPECT_GT(cold.queue_wait_us(), 0);

  v1::InvokeResponse warm;
  ASSERT_TRUE(invoke("cold-warm", "Bob", &warm).ok());
  EXPECT_EQ(warm.result(), "echo:Bob");
  EXPECT_FALSE(warm.cold_start());
  EXPECT_EQ(warm.instance_id(), cold.instance_id());
  EXPECT_NE(warm.request_id(), cold.request_id());
  EXPECT_GT(warm.execution_us(), 0);
  EXPECT_EQ(warm.billed_ms(), (warm.execution_us() + 999) / 1000);
}

TEST_F(InvokeApiTest, FunctionErrorComesBackInTheResponseWithStatusOk) {
  deploy("raises");
  v1::InvokeResponse response;
  ASSERT_TRUE(invoke("raises", "raise", &response).ok());
  ASSERT_TRUE(response.has_error());
  EXPECT_EQ(response.error().type(), "HandlerError");
  EXPECT_EQ(response.error().message(), "ValueError: asked to fail");
  EXPECT_THAT(response.error().trace(), HasSubstr("index.py"));
  // The instance survives a handler's exception.
  v1::InvokeResponse next;
  ASSERT_TRUE(invoke("raises", "x", &next).ok());
  EXPECT_EQ(next.result(), "echo:x");
  EXPECT_EQ(next.instance_id(), response.instance_id());
}

TEST_F(InvokeApiTest, FunctionTimeoutIsAFunctionErrorAndTheNextCallGetsANewInstance) {
  deploy("slow", {.timeoutSeconds = 1});
  v1::InvokeResponse response;
  ASSERT_TRUE(invoke("slow", "sleep:5", &response).ok());
  ASSERT_TRUE(response.has_error());
  EXPECT_EQ(response.error().type(), "Timeout");
  v1::InvokeResponse next;
  ASSERT_TRUE(invoke("slow", "after", &next).ok());
  EXPECT_EQ(next.result(), "echo:after");
  EXPECT_NE(next.instance_id(), response.instance_id());
}

TEST_F(InvokeApiTest, ConcurrencyAboveOneServesParallelRequestsOnOneInstance) {
  deploy("parallel", {.concurrency = 4});
  v1::InvokeResponse first;
  ASSERT_TRUE(invoke("parallel", "warm-up", &first).ok());
  auto calls = invokeInParallel("parallel", "sleep:0.5", 4);
  const std::set<std::string> instances = servedBy(calls, "slept");
  EXPECT_EQ(instances, std::set<std::string>{first.instance_id()}) << "four slots on the one warm instance";
}

TEST_F(InvokeApiTest, BurstOfFiftyAtConcurrencyTenStartsAboutFiveInstances) {
  deploy("burst", {.concurrency = 10});
  auto calls = invokeInParallel("burst", "sleep:1", 50);
  const std::set<std::string> instances = servedBy(calls, "slept");
  // Five instances hold the fifty; requests still arriving while the first ones are ready can
  // make it one more, never one per request.
  EXPECT_GE(instances.size(), 5u);
  EXPECT_LE(instances.size(), 6u);
  EXPECT_LE(status("burst").instances_size(), 6);
}

TEST_F(InvokeApiTest, QueueTimeoutAndCallerDeadlineLeaveTheQueue) {
  deploy("single", {.maxInstances = 1, .queueTimeoutSeconds = 1});
  v1::InvokeResponse warm;
  ASSERT_TRUE(invoke("single", "warm", &warm).ok());
  auto busy = std::async(std::launch::async, [this] {
    v1::InvokeResponse response;
    return invoke("single", "sleep:4", &response);
  });
  waitForStatus("single", [](const v1::ScalingStatus& s) { return s.in_flight() == 1; });

  v1::InvokeResponse queued;
  grpc::Status rpc = invoke("single", "late", &queued);
  EXPECT_EQ(rpc.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(rpc.error_message(),
              HasSubstr("no instance of function 'default/single' became free within its queue timeout of 1 s"));

  // A caller whose own deadline comes first leaves the queue with DEADLINE_EXCEEDED.
  v1::InvokeRequest request;
  request.set_function("single");
  auto context = contextWithDeadline(std::chrono::seconds(1));
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(300));
  EXPECT_EQ(invoker_->Invoke(context.get(), request, &queued).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  const v1::ScalingStatus after =
      waitForStatus("single", [](const v1::ScalingStatus& s) { return s.queue_depth() == 0; });
  EXPECT_EQ(after.queue_depth(), 0u);
  EXPECT_TRUE(busy.get().ok());
}

TEST_F(InvokeApiTest, ReservedCapacityIsWarmedServesFirstAndCanBeLowered) {
  deploy("reserved");
  v1::SetReservedCapacityRequest set;
  set.set_function("reserved");
  set.set_count(2);
  v1::ScalingStatus response;
  {
    auto context = contextWithDeadline();
    ASSERT_TRUE(scaling_->SetReservedCapacity(context.get(), set, &response).ok());
  }
  EXPECT_EQ(response.function(), "reserved");
  EXPECT_EQ(response.reserved_target(), 2u);
  EXPECT_EQ(response.instances_size(), 2) << "two reserved instances are on their way at once";
  const v1::ScalingStatus warm =
      waitForStatus("reserved", [](const v1::ScalingStatus& s) { return s.reserved_ready() == 2; });
  ASSERT_EQ(warm.reserved_ready(), 2u);
  for (const auto& instance : warm.instances()) {
    EXPECT_EQ(instance.kind(), v1::RESERVED);
    EXPECT_EQ(instance.state(), v1::IDLE);
    EXPECT_EQ(instance.version(), 1);
  }

  v1::InvokeResponse invoked;
  ASSERT_TRUE(invoke("reserved", "hi", &invoked).ok());
  EXPECT_EQ(invoked.instance_kind(), v1::RESERVED);
  EXPECT_FALSE(invoked.cold_start());

  set.set_count(0);
  {
    auto context = contextWithDeadline();
    ASSERT_TRUE(scaling_->SetReservedCapacity(context.get(), set, &response).ok());
  }
  EXPECT_EQ(response.reserved_target(), 0u);
  EXPECT_EQ(response.reserved_ready(), 0u);
  ASSERT_EQ(response.instances_size(), 2) << "lowering the target stops nothing";
  for (const auto& instance : response.instances()) EXPECT_EQ(instance.kind(), v1::ON_DEMAND);

  set.set_count(101);
  auto context = contextWithDeadline();
  const grpc::Status tooMany = scaling_->SetReservedCapacity(context.get(), set, &response);
  EXPECT_EQ(tooMany.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(tooMany.error_message(), HasSubstr("reserved_target 101 exceeds max_instances 100"));
}

TEST_F(InvokeApiTest, NewCodeIsServedByNewInstancesAndOldVersionsStayCallable) {
  deploy("versions");
  v1::InvokeResponse first;
  ASSERT_TRUE(invoke("versions", "a", &first).ok());
  EXPECT_EQ(first.result(), "echo:a");
  v1::UploadCodeResponse uploaded;
  const std::string v2 = "def handler(event, context):\n    return 'v2:' + event.decode()\n";
  ASSERT_TRUE(
      testing::uploadCode(*functions_, "", "versions", ZipBuilder().addFile("index.py", v2).bytes(), &uploaded).ok());
  v1::InvokeResponse second;
  ASSERT_TRUE(invoke("versions", "b", &second).ok());
  EXPECT_EQ(second.result(), "v2:b");
  EXPECT_EQ(second.version(), 2);
  EXPECT_NE(second.instance_id(), first.instance_id());
  v1::InvokeResponse old;
  ASSERT_TRUE(invoke("versions", "c", &old, std::chrono::seconds(60), 1).ok());
  EXPECT_EQ(old.result(), "echo:c");
  EXPECT_EQ(old.version(), 1);
}

TEST_F(InvokeApiTest, AConfigChangeThatAffectsInstancesMovesRequestsToNewOnes) {
  deploy("configured", {}, "import os\n\ndef handler(event, context):\n    return os.environ.get('MODE', '-')\n");
  v1::InvokeResponse before;
  ASSERT_TRUE(invoke("configured", "", &before).ok());
  EXPECT_EQ(before.result(), "-");

  v1::UpdateFunctionConfigRequest update;
  update.set_name("configured");
  (*update.mutable_config()->mutable_environment())["MODE"] = "sale";
  update.mutable_update_mask()->add_paths("environment");
  v1::Function updated;
  auto context = contextWithDeadline();
  ASSERT_TRUE(functions_->UpdateFunctionConfig(context.get(), update, &updated).ok());
  v1::InvokeResponse after;
  ASSERT_TRUE(invoke("configured", "", &after).ok());
  EXPECT_EQ(after.result(), "sale");
  EXPECT_NE(after.instance_id(), before.instance_id());

  // A change instances do not see keeps them.
  update.mutable_config()->set_description("now with a description");
  update.mutable_update_mask()->Clear();
  update.mutable_update_mask()->add_paths("description");
  context = contextWithDeadline();
  ASSERT_TRUE(functions_->UpdateFunctionConfig(context.get(), update, &updated).ok());
  v1::InvokeResponse same;
  ASSERT_TRUE(invoke("configured", "", &same).ok());
  EXPECT_EQ(same.instance_id(), after.instance_id());
}

TEST_F(InvokeApiTest, BadRequestsGetTheRightCodeAndAMessage) {
  deploy("target");
  v1::InvokeResponse response;
  grpc::Status rpc = invoke("target", std::string((6u << 20) + 1, 'x'), &response);
  EXPECT_EQ(rpc.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(rpc.error_message(), "payload of 6291457 bytes is over the limit of 6291456 bytes (6 MiB)");

  rpc = invoke("no-such-function", "", &response);
  EXPECT_EQ(rpc.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(rpc.error_message(), "function 'default/no-such-function' not found");

  rpc = invoke("target", "", &response, std::chrono::seconds(60), 9);
  EXPECT_EQ(rpc.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(rpc.error_message(), HasSubstr("has no version 9"));

  v1::CreateFunctionRequest create;
  create.set_name("empty");
  create.mutable_config()->set_runtime(v1::RUNTIME_PYTHON3);
  create.mutable_config()->set_handler("index.handler");
  v1::Function created;
  auto context = contextWithDeadline();
  ASSERT_TRUE(functions_->CreateFunction(context.get(), create, &created).ok());
  rpc = invoke("empty", "", &response);
  EXPECT_EQ(rpc.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(rpc.error_message(), "function 'default/empty' has no code; upload some first");
}

TEST_F(InvokeApiTest, HandlerThatCannotLoadReportsAnInitializerError) {
  deploy("broken", {}, "import no_such_module\n");
  v1::InvokeResponse response;
  ASSERT_TRUE(invoke("broken", "", &response).ok());
  ASSERT_TRUE(response.has_error());
  EXPECT_EQ(response.error().type(), "InitializerError");
  EXPECT_THAT(response.error().message(), HasSubstr("no_such_module"));
}

TEST_F(InvokeApiTest, ReservedInstancesAreWarmedAgainAfterARestart) {
  // Its own surged: this test restarts it.
  testing::TempDir dir;
  auto surged = std::make_unique<testing::SurgedProcess>(dir.path() / "data");
  auto channel = testing::makeChannel(surged->address());
  deployOn(channel, "kept-warm", {.reservedTarget = 1});
  channel.reset();
  ASSERT_EQ(surged->stop(), 0);
  surged.reset();

  surged = std::make_unique<testing::SurgedProcess>(dir.path() / "data");
  channel = testing::makeChannel(surged->address());
  auto scaling = v1::ScalingService::NewStub(channel);
  v1::GetScalingStatusRequest request;
  request.set_function("kept-warm");
  v1::ScalingStatus status;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  do {
    auto context = contextWithDeadline();
    ASSERT_TRUE(scaling->GetScalingStatus(context.get(), request, &status).ok());
    if (status.reserved_ready() < 1) std::this_thread::sleep_for(kPollInterval);
  } while (status.reserved_ready() < 1 && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(status.reserved_target(), 1u);
  EXPECT_EQ(status.reserved_ready(), 1u);
  channel.reset();
  surged.reset();
}

TEST_F(InvokeApiTest, FullQueueAnswersResourceExhaustedWithRetryAfter) {
  deploy("narrow", {.maxInstances = 1, .maxQueueLength = 1, .timeoutSeconds = 10});
  v1::InvokeResponse warm;
  ASSERT_TRUE(invoke("narrow", "warm", &warm).ok());
  auto running = std::async(std::launch::async, [this] {
    v1::InvokeResponse response;
    return invoke("narrow", "sleep:3", &response);
  });
  waitForStatus("narrow", [](const v1::ScalingStatus& s) { return s.in_flight() == 1; });
  auto queued = std::async(std::launch::async, [this] {
    v1::InvokeResponse response;
    return invoke("narrow", "queued", &response);
  });
  waitForStatus("narrow", [](const v1::ScalingStatus& s) { return s.queue_depth() == 1; });

  v1::InvokeRequest request;
  request.set_function("narrow");
  v1::InvokeResponse response;
  auto context = contextWithDeadline();
  const grpc::Status refused = invoker_->Invoke(context.get(), request, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(refused.error_message(),
            "the queue of function 'default/narrow' is full: 1 requests wait (max_queue_length 1)");
  const auto& trailers = context->GetServerTrailingMetadata();
  auto retryAfter = trailers.find("retry-after-ms");
  ASSERT_NE(retryAfter, trailers.end()) << "a refusal for load says when to retry";
  const int64_t ms = std::stoll(std::string(retryAfter->second.data(), retryAfter->second.size()));
  EXPECT_GE(ms, 1);
  EXPECT_LE(ms, 10'000) << "at most the queue timeout";
  EXPECT_TRUE(running.get().ok());
  EXPECT_TRUE(queued.get().ok());
}

TEST_F(InvokeApiTest, DeployUnderLoadFailsNoRequestAndReservedTrafficSeesNoColdStart) {
  deploy("rolling", {.concurrency = 4, .reservedTarget = 1});
  waitForStatus("rolling", [](const v1::ScalingStatus& s) { return s.reserved_ready() == 1; });
  struct Seen {
    int failures = 0;
    int coldStarts = 0;
    int newVersion = 0;
    std::set<int64_t> versions;
  };
  // Four clients call in a loop until each has had 5 answers from the new version (bounded in
  // count and time).
  const auto giveUp = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto client = [&] {
    Seen seen;
    for (int i = 0; i < 100000 && seen.newVersion < 5 && std::chrono::steady_clock::now() < giveUp; ++i) {
      v1::InvokeResponse response;
      const grpc::Status rpc = invoke("rolling", "x", &response);
      if (!rpc.ok() || response.has_error()) {
        ++seen.failures;
        continue;
      }
      seen.coldStarts += response.cold_start() ? 1 : 0;
      seen.versions.insert(response.version());
      if (response.version() == 2) {
        EXPECT_EQ(response.result(), "v2");
        ++seen.newVersion;
      }
    }
    return seen;
  };
  std::vector<std::future<Seen>> clients;
  for (int i = 0; i < 4; ++i) clients.push_back(std::async(std::launch::async, client));
  waitForStatus("rolling", [](const v1::ScalingStatus& s) { return s.in_flight() > 0; });
  v1::UploadCodeResponse uploaded;
  const std::string v2 = "def handler(event, context):\n    return 'v2'\n";
  ASSERT_TRUE(
      testing::uploadCode(*functions_, "", "rolling", ZipBuilder().addFile("index.py", v2).bytes(), &uploaded).ok());
  std::set<int64_t> versions;
  for (auto& future : clients) {
    const Seen seen = future.get();
    EXPECT_EQ(seen.failures, 0);
    EXPECT_EQ(seen.coldStarts, 0) << "the new reserved instance was warm before it took traffic";
    EXPECT_EQ(seen.newVersion, 5);
    versions.insert(seen.versions.begin(), seen.versions.end());
  }
  EXPECT_EQ(versions, (std::set<int64_t>{1, 2}));
}

TEST_F(InvokeApiTest, ShutdownDoesNotWaitForAFunctionStillRunning) {
  // Its own surged: this test stops it.
  testing::TempDir dir;
  auto surged = std::make_unique<testing::SurgedProcess>(dir.path() / "data");
  auto channel = testing::makeChannel(surged->address());
  deployOn(channel, "endless", {.timeoutSeconds = 120});
  auto invoker = v1::InvokeService::NewStub(channel);
  auto running = std::async(std::launch::async, [&] {
    v1::InvokeRequest request;
    request.set_function("endless");
    request.set_payload("sleep:100");
    v1::InvokeResponse response;
    auto context = contextWithDeadline(std::chrono::seconds(120));
    return invoker->Invoke(context.get(), request, &response);
  });
  auto scaling = v1::ScalingService::NewStub(channel);
  v1::GetScalingStatusRequest request;
  request.set_function("endless");
  v1::ScalingStatus status;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  do {
    auto context = contextWithDeadline();
    ASSERT_TRUE(scaling->GetScalingStatus(context.get(), request, &status).ok());
    if (status.in_flight() == 0) std::this_thread::sleep_for(kPollInterval);
  } while (status.in_flight() == 0 && std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(status.in_flight(), 1u);

  // SIGTERM gives calls 5 s, then cancels them: surged is gone long before the 100 s sleep ends.
  EXPECT_EQ(surged->stop(std::chrono::seconds(30)), 0);
  EXPECT_EQ(running.get().error_code(), grpc::StatusCode::UNAVAILABLE);
  channel.reset();
  surged.reset();
}

TEST_F(InvokeApiTest, AReservedTargetBeyondTheMemoryBudgetIsRefused) {
  testing::TempDir dir;
  auto surged = std::make_unique<testing::SurgedProcess>(dir.path() / "data",
                                                         std::vector<std::string>{"--memory-budget-mib", "256"});
  auto channel = testing::makeChannel(surged->address());
  deployOn(channel, "big-sale");
  auto scaling = v1::ScalingService::NewStub(channel);
  v1::SetReservedCapacityRequest set;
  set.set_function("big-sale");
  set.set_count(3);
  v1::ScalingStatus status;
  auto context = contextWithDeadline();
  const grpc::Status refused = scaling->SetReservedCapacity(context.get(), set, &status);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(),
              HasSubstr("reserving 3 instances of 128 MiB does not fit the instance memory budget"));
  EXPECT_THAT(refused.error_message(), HasSubstr("need 384 MiB at worst"));
  EXPECT_THAT(refused.error_message(), HasSubstr("other functions 0 MiB) but the budget is 256 MiB"));
  set.set_count(2);
  context = contextWithDeadline();
  EXPECT_TRUE(scaling->SetReservedCapacity(context.get(), set, &status).ok());
  EXPECT_EQ(status.reserved_target(), 2u);
  channel.reset();
  surged.reset();
}

// Reserved memory can grow three more ways than SetReservedCapacity: UpdateFunctionConfig's
// reserved_target or memory_mb, and CreateFunction with a target. Each is checked the same way,
// and a refused change stores nothing. Lowering a target always goes through, even when what is
// left still does not fit a budget that shrank across a restart.
TEST_F(InvokeApiTest, EveryWayToReserveMoreMemoryIsCheckedAgainstTheBudget) {
  testing::TempDir dir;
  auto surged = std::make_unique<testing::SurgedProcess>(dir.path() / "data",
                                                         std::vector<std::string>{"--memory-budget-mib", "256"});
  auto channel = testing::makeChannel(surged->address());
  auto functions = v1::FunctionService::NewStub(channel);
  deployOn(channel, "promo");
  auto update = [&](const std::string& path, uint32_t value) {
    v1::UpdateFunctionConfigRequest request;
    request.set_name("promo");
    request.mutable_update_mask()->add_paths(path);
    if (path == "reserved_target") request.mutable_config()->set_reserved_target(value);
    if (path == "memory_mb") request.mutable_config()->set_memory_mb(value);
    v1::Function updated;
    auto context = contextWithDeadline();
    return functions->UpdateFunctionConfig(context.get(), request, &updated);
  };
  auto stored = [&] {
    v1::GetFunctionRequest request;
    request.set_name("promo");
    v1::Function function;
    auto context = contextWithDeadline();
    EXPECT_TRUE(functions->GetFunction(context.get(), request, &function).ok());
    return function.config();
  };

  grpc::Status refused = update("reserved_target", 3);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(),
              HasSubstr("reserving 3 instances of 128 MiB does not fit the instance memory budget"));
  EXPECT_THAT(refused.error_message(), HasSubstr("need 384 MiB at worst"));
  EXPECT_THAT(refused.error_message(), HasSubstr("other functions 0 MiB) but the budget is 256 MiB"));
  EXPECT_EQ(stored().reserved_target(), 0u);
  ASSERT_TRUE(update("reserved_target", 2).ok());

  refused = update("memory_mb", 256);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(),
              HasSubstr("reserving 2 instances of 256 MiB does not fit the instance memory budget"));
  EXPECT_THAT(refused.error_message(), HasSubstr("need 512 MiB at worst"));
  EXPECT_THAT(refused.error_message(), HasSubstr("other functions 0 MiB) but the budget is 256 MiB"));
  EXPECT_EQ(stored().memory_mb(), 128u);

  v1::CreateFunctionRequest create;
  create.set_name("another-promo");
  create.mutable_config()->set_runtime(v1::RUNTIME_PYTHON3);
  create.mutable_config()->set_handler("index.handler");
  create.mutable_config()->set_reserved_target(1);
  v1::Function created;
  auto context = contextWithDeadline();
  refused = functions->CreateFunction(context.get(), create, &created);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(),
              HasSubstr("reserving 1 instances of 128 MiB does not fit the instance memory budget"));
  EXPECT_THAT(refused.error_message(), HasSubstr("need 384 MiB at worst"));
  EXPECT_THAT(refused.error_message(), HasSubstr("other functions 256 MiB) but the budget is 256 MiB"));
  v1::GetFunctionRequest get;
  get.set_name("another-promo");
  context = contextWithDeadline();
  EXPECT_EQ(functions->GetFunction(context.get(), get, &created).error_code(), grpc::StatusCode::NOT_FOUND);

  // The same data on a server with less memory: 2 x 128 MiB no longer fit in 100 MiB, and
  // neither would 1, but lowering the target must still be possible.
  functions.reset();
  channel.reset();
  ASSERT_EQ(surged->stop(), 0);
  surged = std::make_unique<testing::SurgedProcess>(dir.path() / "data",
                                                    std::vector<std::string>{"--memory-budget-mib", "100"});
  channel = testing::makeChannel(surged->address());
  auto scaling = v1::ScalingService::NewStub(channel);
  v1::SetReservedCapacityRequest lower;
  lower.set_function("promo");
  lower.set_count(1);
  v1::ScalingStatus status;
  context = contextWithDeadline();
  const grpc::Status lowered = scaling->SetReservedCapacity(context.get(), lower, &status);
  EXPECT_TRUE(lowered.ok()) << lowered.error_message();
  EXPECT_EQ(status.reserved_target(), 1u);
  channel.reset();
  surged.reset();
}

// A start that fails for the server's own reasons (here a code folder that the sandbox's uid
// cannot enter) is UNAVAILABLE with a retry hint, not a FunctionError billed to the function.
TEST_F(InvokeApiTest, AStartTheServerFailsIsUnavailableNotAFunctionError) {
  testing::TempDir dir;
  // No pre-started sandboxes: a pooled start would link the code in as root and not notice.
  auto surged =
      std::make_unique<testing::SurgedProcess>(dir.path() / "data", std::vector<std::string>{"--pool-size", "0"});
  auto channel = testing::makeChannel(surged->address());
  deployOn(channel, "broken-host");
  const std::filesystem::path code = dir.path() / "data" / "code";
  std::filesystem::permissions(code, std::filesystem::perms::owner_all);
  auto invoker = v1::InvokeService::NewStub(channel);
  v1::InvokeRequest request;
  request.set_function("broken-host");
  v1::InvokeResponse response;
  auto context = contextWithDeadline();
  const grpc::Status failed = invoker->Invoke(context.get(), request, &response);
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::UNAVAILABLE) << failed.error_message();
  EXPECT_THAT(failed.error_message(), HasSubstr("could not start an instance of default/broken-host"));
  EXPECT_THAT(failed.error_message(), Not(HasSubstr(dir.path().string()))) << "no host paths to callers";
  EXPECT_FALSE(response.has_error());
  const auto& trailers = context->GetServerTrailingMetadata();
  EXPECT_NE(trailers.find("retry-after-ms"), trailers.end());

  // Once the folder is fixed, the next call starts an instance.
  std::filesystem::permissions(code, std::filesystem::perms::owner_all | std::filesystem::perms::others_exec |
                                         std::filesystem::perms::group_exec);
  v1::InvokeResponse served;
  auto retry = contextWithDeadline();
  const grpc::Status ok = invoker->Invoke(retry.get(), request, &served);
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_FALSE(served.has_error()) << served.error().message();
  invoker.reset();
  channel.reset();
  surged.reset();
}

TEST_F(InvokeApiTest, ReservationRaisesAtTheSameMomentAreCheckedAgainstEachOther) {
  testing::TempDir dir;
  auto surged = std::make_unique<testing::SurgedProcess>(dir.path() / "data",
                                                         std::vector<std::string>{"--memory-budget-mib", "512"});
  auto channel = testing::makeChannel(surged->address());
  auto functions = v1::FunctionService::NewStub(channel);
  auto scaling = v1::ScalingService::NewStub(channel);
  auto create = [&](const std::string& name, uint32_t reserved) {
    v1::CreateFunctionRequest request;
    request.set_name(name);
    request.mutable_config()->set_runtime(v1::RUNTIME_PYTHON3);
    request.mutable_config()->set_handler("index.handler");
    request.mutable_config()->set_reserved_target(reserved);
    v1::Function created;
    auto context = contextWithDeadline();
    return functions->CreateFunction(context.get(), request, &created);
  };
  constexpr int kFunctions = 8;
  for (int i = 0; i < kFunctions; ++i) deployOn(channel, "promo-" + std::to_string(i));

  // Each asks for 2 x 128 MiB at the same moment: each fits alone, but only two fit together.
  std::promise<void> go;
  std::shared_future<void> start = go.get_future().share();
  std::vector<grpc::Status> results(kFunctions);
  std::vector<std::thread> callers;
  for (int i = 0; i < kFunctions; ++i) {
    callers.emplace_back([&, i] {
      v1::SetReservedCapacityRequest request;
      request.set_function("promo-" + std::to_string(i));
      request.set_count(2);
      v1::ScalingStatus status;
      auto context = contextWithDeadline();
      start.wait();
      results[static_cast<size_t>(i)] = scaling->SetReservedCapacity(context.get(), request, &status);
    });
  }
  go.set_value();
  for (auto& caller : callers) caller.join();
  int accepted = 0;
  for (const grpc::Status& result : results) {
    if (result.ok()) {
      ++accepted;
    } else {
      EXPECT_EQ(result.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << result.error_message();
    }
  }
  EXPECT_EQ(accepted, 2);
  uint32_t stored = 0;
  for (int i = 0; i < kFunctions; ++i) {
    v1::GetFunctionRequest request;
    request.set_name("promo-" + std::to_string(i));
    v1::Function function;
    auto context = contextWithDeadline();
    ASSERT_TRUE(functions->GetFunction(context.get(), request, &function).ok());
    stored += function.config().reserved_target();
  }
  EXPECT_EQ(stored, 4u) << "what was refused is not stored";

  // A target of a function without code counts as much as a warm one, since it warms when code
  // arrives, also after a restart: free one function's 256 MiB and give them to a new function.
  for (int i = 0; i < kFunctions; ++i) {
    if (!results[static_cast<size_t>(i)].ok()) continue;
    v1::SetReservedCapacityRequest lower;
    lower.set_function("promo-" + std::to_string(i));
    lower.set_count(0);
    v1::ScalingStatus status;
    auto context = contextWithDeadline();
    ASSERT_TRUE(scaling->SetReservedCapacity(context.get(), lower, &status).ok());
    break;
  }
  ASSERT_TRUE(create("no-code-yet", 2).ok());
  grpc::Status refused = create("one-more", 1);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  functions.reset();
  scaling.reset();
  channel.reset();
  ASSERT_EQ(surged->stop(), 0);
  surged = std::make_unique<testing::SurgedProcess>(dir.path() / "data",
                                                    std::vector<std::string>{"--memory-budget-mib", "512"});
  channel = testing::makeChannel(surged->address());
  functions = v1::FunctionService::NewStub(channel);
  refused = create("late", 1);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("other functions 512 MiB)"));
  functions.reset();
  channel.reset();
  surged.reset();
}

} // namespace
} // namespace surge
