// The SchedulerCore test fixture: a fake clock, a fake engine and a hand-pumped loop, with
// helpers to define a function, submit, start, finish and crash. Shared by the policy tests and
// the metrics tests.
#pragma once

#include "scheduler/scheduler_core.h"

#include "support/fake_clock.h"
#include "support/fake_engine.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace surge::scheduler {

// The loop the core runs on: tasks wait until the test pumps them.
class ManualLoop {
public:
  void post(std::function<void()> task) { tasks_.push_back(std::move(task)); }
  void runAll() {
    while (!tasks_.empty()) {
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      task();
    }
  }

private:
  std::deque<std::function<void()>> tasks_;
};

using ResultSlot = std::shared_ptr<std::optional<InvocationResult>>;

// Tests that are not about the concurrent-start limit lift it.
constexpr uint32_t kManyStarts = 1000;

class SchedulerCoreTest : public ::testing::Test, public engine::InstanceObserver {
protected:
  SchedulerCoreTest() { makeCore({.maxConcurrentStarts = kManyStarts}); }

  // Replaces the core; `limits` sets the server-wide limits (the rest are the tests' defaults).
  void makeCore(SchedulerOptions limits) {
    SchedulerOptions options = limits;
    options.idleTimeout = absl::Seconds(300);
    options.sweepInterval = absl::Seconds(1);
    options.retryBackoff = absl::Seconds(1);
    options.maxRetryBackoff = absl::Seconds(8);
    core_ = std::make_unique<SchedulerCore>(engine_, clock_, post(), options);
  }

  engine::Executor post() {
    return [this](std::function<void()> task) { loop_.post(std::move(task)); };
  }
  void onStarted(engine::InstanceId id, const engine::StartOutcome& outcome) override { core_->onStarted(id, outcome); }
  void onExit(engine::InstanceId id, const engine::InstanceExit& exit) override { core_->onExit(id, exit); }

  struct Def {
    std::string name = "fn";
    uint32_t concurrency = 1;
    uint32_t reserved = 0;
    uint32_t maxInstances = 100;
    uint32_t maxQueueLength = 1000;
    absl::Duration queueTimeout = absl::Seconds(10);
    int64_t version = 1;
    int64_t revision = 1;
    std::optional<common::TrackingPolicy> tracking = std::nullopt;
  };
  FunctionDefinitionPtr define(Def d) {
    auto definition = std::make_shared<FunctionDefinition>();
    definition->key = "default/" + d.name;
    definition->functionId = static_cast<int64_t>(std::hash<std::string>()(d.name) % 100000);
    definition->revision = d.revision;
    definition->spec.function = definition->key;
    definition->spec.functionId = definition->functionId;
    definition->spec.version = d.version;
    definition->spec.codeDir = "/code/v" + std::to_string(d.version);
    definition->spec.handler = "index.handler";
    definition->spec.concurrency = d.concurrency;
    definition->reservedTarget = d.reserved;
    definition->tracking = d.tracking;
    definition->maxInstances = d.maxInstances;
    definition->maxQueueLength = d.maxQueueLength;
    definition->queueTimeout = d.queueTimeout;
    function_ = definition;
    return definition;
  }

  ResultSlot submit(const std::string& payload, std::shared_ptr<engine::CancellationToken> token = nullptr,
                    SteadyTime deadline = SteadyTime::max()) {
    auto slot = std::make_shared<std::optional<InvocationResult>>();
    Invocation invocation;
    invocation.function = function_;
    invocation.payload = payload;
    invocation.deadline = deadline;
    invocation.cancellation = std::move(token);
    core_->submit(std::move(invocation), [slot](InvocationResult result) { *slot = std::move(result); });
    loop_.runAll();
    return slot;
  }

  // Ids of the instances the engine was asked to start and has not seen stop, in start order;
  // only those of function `name` if one is given.
  std::vector<engine::InstanceId> live(const std::string& name = "") const {
    std::vector<engine::InstanceId> ids;
    for (const auto& [id, instance] : engine_.instances()) {
      if (!instance.stopped && (name.empty() || instance.spec.function == "default/" + name)) ids.push_back(id);
    }
    return ids;
  }
  bool stopped(engine::InstanceId id) const {
    auto instances = engine_.instances();
    return !instances.contains(id) || instances.at(id).stopped;
  }
  void ready(engine::InstanceId id) {
    engine_.finishStart(id);
    loop_.runAll();
  }
  // Finishes the request that carries `payload` with that payload echoed back.
  void finish(const std::string& payload, absl::Duration execution = absl::Milliseconds(3)) {
    const std::string requestId = engine_.requestWithPayload(payload);
    ASSERT_FALSE(requestId.empty()) << "no request in flight carries '" << payload << "'";
    engine::InvokeResult result;
    result.output = payload;
    result.execution = execution;
    engine_.finishInvoke(requestId, engine::InvokeOutcome::fromResult(result));
    loop_.runAll();
  }
  engine::InstanceId runningOn(const std::string& payload) const {
    const std::string requestId = engine_.requestWithPayload(payload);
    auto inflight = engine_.inflightRequests();
    return inflight.contains(requestId) ? inflight.at(requestId) : 0;
  }
  void advance(absl::Duration by) {
    clock_.advance(by);
    core_->onTimer();
    loop_.runAll();
  }

  testing::FakeClock clock_;
  ManualLoop loop_;
  testing::FakeEngine engine_{post(), *this};
  std::unique_ptr<SchedulerCore> core_;
  FunctionDefinitionPtr function_;
};

} // namespace surge::scheduler
