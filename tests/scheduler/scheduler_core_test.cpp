// The scheduling policy, driven by a fake clock and a fake engine on a hand-pumped loop: queue
// order, dispatch, scale-out, timeouts, cancellation, reclaim, reserved capacity and rollover.
#include "scheduler/core_fixture.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <memory>
#include <optional>

namespace surge::scheduler {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

TEST_F(SchedulerCoreTest, QueuedRequestsRunInArrivalOrder) {
  define({.maxInstances = 1});
  auto a = submit("a");
  auto b = submit("b");
  auto c = submit("c");
  ASSERT_THAT(live(), SizeIs(1));
  EXPECT_EQ(core_->status("default/fn").queueDepth, 3u);
  ready(live()[0]);
  EXPECT_NE(runningOn("a"), 0u);
  EXPECT_EQ(runningOn("b"), 0u);
  finish("a");
  EXPECT_NE(runningOn("b"), 0u);
  EXPECT_EQ(runningOn("c"), 0u);
  finish("b");
  finish("c");
  ASSERT_TRUE(a->has_value() && b->has_value() && c->has_value());
  EXPECT_EQ((*a)->outcome->output, "a");
  EXPECT_EQ((*c)->outcome->output, "c");
  EXPECT_TRUE((*a)->coldStart);
  EXPECT_FALSE((*b)->coldStart);
}

TEST_F(SchedulerCoreTest, FreedInstanceServesOldestWaiterBeforeTheNewInstanceIsReady) {
  define({});
  auto a = submit("a");
  const engine::InstanceId first = live()[0];
  ready(first);
  auto b = submit("b");
  auto c = submit("c");
  ASSERT_THAT(live(), SizeIs(3)) << "one new instance per waiter at concurrency 1";
  clock_.advance(absl::Milliseconds(40));
  finish("a");
  // b is not tied to the instance started for it: the first slot to free serves it.
  EXPECT_EQ(runningOn("b"), first);
  EXPECT_EQ(runningOn("c"), 0u);
  finish("b");
  EXPECT_EQ(runningOn("c"), first);
  finish("c");
  ASSERT_TRUE(b->has_value());
  EXPECT_FALSE((*b)->coldStart);
  EXPECT_EQ((*b)->queueWait, absl::Milliseconds(40));
  EXPECT_EQ((*b)->instance, first);
}

TEST_F(SchedulerCoreTest, NewInstanceServesOldestWaiterWhenItIsReadyFirst) {
  define({});
  auto a = submit("a");
  ready(live()[0]);
  auto b = submit("b");
  auto c = submit("c");
  const engine::InstanceId second = live()[1];
  ready(second);
  EXPECT_EQ(runningOn("b"), second);
  EXPECT_EQ(runningOn("c"), 0u);
  finish("b");
  ASSERT_TRUE(b->has_value());
  EXPECT_TRUE((*b)->coldStart);
  EXPECT_EQ((*b)->kind, InstanceKind::kOnDemand);
}

TEST_F(SchedulerCoreTest, BurstStartsOnlyTheInstancesItNeeds) {
  define({.concurrency = 10});
  std::vector<ResultSlot> results;
  for (int i = 0; i < 50; ++i) results.push_back(submit("r" + std::to_string(i)));
  EXPECT_THAT(live(), SizeIs(5));
  for (engine::InstanceId id : live()) ready(id);
  EXPECT_EQ(engine_.inflightRequests().size(), 50u);
  EXPECT_EQ(core_->status("default/fn").queueDepth, 0u);
  // 51st: every slot is busy, so one more instance.
  auto extra = submit("extra");
  EXPECT_THAT(live(), SizeIs(6));
}

TEST_F(SchedulerCoreTest, BusySlotsThatFreeBeforeAStartCouldFinishHoldScaleOutBack) {
  define({});
  submit("a");
  clock_.advance(absl::Milliseconds(100)); // starts take 100 ms
  ready(live()[0]);
  finish("a", absl::Milliseconds(20)); // requests take 20 ms
  submit("b");                         // busy again
  // While a new instance would start, the busy slot frees 100 / 20 = 5 times: 5 waiters need
  // no new instance, a sixth does.
  for (int i = 1; i <= 5; ++i) submit("w" + std::to_string(i));
  EXPECT_THAT(live(), SizeIs(1));
  submit("w6");
  EXPECT_THAT(live(), SizeIs(2));
}

TEST_F(SchedulerCoreTest, OnlySoManyInstancesStartAtOnceOverTheServer) {
  makeCore({.maxConcurrentStarts = 2});
  define({.name = "one"});
  for (int i = 0; i < 3; ++i) submit("a" + std::to_string(i));
  define({.name = "two"});
  submit("b");
  EXPECT_THAT(live(), SizeIs(2)) << "two starting at once";
  ready(live("one")[0]);
  EXPECT_THAT(live("two"), SizeIs(1)) << "the freed start goes round to the other function";
  ready(live("one")[1]);
  EXPECT_THAT(live("one"), SizeIs(3));
}

TEST_F(SchedulerCoreTest, ScaleOutStopsAtMaxInstances) {
  define({.maxInstances = 2});
  for (int i = 0; i < 5; ++i) submit("r" + std::to_string(i));
  EXPECT_THAT(live(), SizeIs(2));
}

TEST_F(SchedulerCoreTest, WaiterPastQueueTimeoutGetsResourceExhausted) {
  define({.maxInstances = 1, .queueTimeout = absl::Seconds(10)});
  auto a = submit("a");
  ready(live()[0]);
  auto b = submit("b");
  advance(absl::Seconds(9));
  EXPECT_FALSE(b->has_value());
  advance(absl::Seconds(1));
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*b)->outcome.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ((*b)->outcome.status().message(),
            "no instance of function 'default/fn' became free within its queue timeout of 10 s "
            "(1 instances, max_instances 1); new instances were held back: max_instances 1 was reached");
  EXPECT_EQ((*b)->retryAfter, absl::Seconds(10)) << "no drain rate yet: the queue timeout";
  EXPECT_EQ((*b)->queueWait, absl::Seconds(10));
  finish("a");
  EXPECT_TRUE(engine_.inflightRequests().empty()) << "the expired waiter must not run";
}

TEST_F(SchedulerCoreTest, FullQueueRefusesWithResourceExhausted) {
  define({.maxInstances = 1, .maxQueueLength = 2});
  submit("a");
  submit("b");
  auto c = submit("c");
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*c)->outcome.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ((*c)->outcome.status().message(),
            "the queue of function 'default/fn' is full: 2 requests wait (max_queue_length 2)");
}

TEST_F(SchedulerCoreTest, CancelledWaiterLeavesTheQueueAtOnce) {
  define({.maxInstances = 1});
  auto a = submit("a");
  ready(live()[0]);
  auto token = std::make_shared<engine::CancellationToken>();
  auto b = submit("b", token);
  auto c = submit("c");
  EXPECT_EQ(core_->status("default/fn").queueDepth, 2u);
  token->cancel();
  loop_.runAll();
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*b)->outcome.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(core_->status("default/fn").queueDepth, 1u);
  finish("a");
  EXPECT_NE(runningOn("c"), 0u) << "c moves up; b is gone";
}

TEST_F(SchedulerCoreTest, CallerDeadlineInTheQueueGivesDeadlineExceeded) {
  define({.maxInstances = 1, .queueTimeout = absl::Seconds(10)});
  submit("a");
  ready(live()[0]);
  auto b = submit("b", nullptr, clock_.steadyNow() + std::chrono::seconds(2));
  advance(absl::Seconds(2));
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*b)->outcome.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT((*b)->outcome.status().message(), HasSubstr("the caller's deadline passed after 2 s in the queue"));
}

TEST_F(SchedulerCoreTest, IdleOnDemandInstanceIsReclaimedAfterTheIdleTimeout) {
  define({});
  submit("a");
  const engine::InstanceId id = live()[0];
  ready(id);
  finish("a");
  advance(absl::Seconds(299));
  EXPECT_FALSE(stopped(id));
  advance(absl::Seconds(1));
  EXPECT_TRUE(stopped(id));
  EXPECT_EQ(core_->instanceCount(), 0u);
  EXPECT_TRUE(core_->status("default/fn").instances.empty());
  // Forgotten once nothing runs; its next request starts it afresh.
  advance(absl::Seconds(1));
  auto b = submit("b");
  ASSERT_THAT(live(), SizeIs(1));
  ready(live()[0]);
  finish("b");
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*b)->outcome->output, "b");
  EXPECT_TRUE((*b)->coldStart);
}

TEST_F(SchedulerCoreTest, BusyInstanceIsNeverStopped) {
  define({});
  submit("a");
  const engine::InstanceId id = live()[0];
  ready(id);
  advance(absl::Seconds(600));
  EXPECT_FALSE(stopped(id)) << "a request is in flight";
  finish("a");
  advance(absl::Seconds(299));
  EXPECT_FALSE(stopped(id)) << "the idle time counts from the end of the last request";
  advance(absl::Seconds(1));
  EXPECT_TRUE(stopped(id));
}

TEST_F(SchedulerCoreTest, ReservedInstancesAreWarmedAndServeFirst) {
  core_->update(define({.reserved = 1}));
  loop_.runAll();
  ASSERT_THAT(live(), SizeIs(1));
  const engine::InstanceId reserved = live()[0];
  ready(reserved);
  auto a = submit("a");
  auto b = submit("b");
  ASSERT_THAT(live(), SizeIs(2));
  const engine::InstanceId onDemand = live()[1];
  ready(onDemand);
  finish("a");
  finish("b");
  EXPECT_EQ((*a)->kind, InstanceKind::kReserved);
  EXPECT_EQ((*b)->kind, InstanceKind::kOnDemand);
  // Both are free now: the reserved one is taken first.
  auto c = submit("c");
  EXPECT_EQ(runningOn("c"), reserved);
  finish("c");
  EXPECT_EQ((*c)->kind, InstanceKind::kReserved);
  EXPECT_FALSE((*c)->coldStart);
}

TEST_F(SchedulerCoreTest, ReservedInstancesAreNeverReclaimed) {
  core_->update(define({.reserved = 2}));
  loop_.runAll();
  for (engine::InstanceId id : live()) ready(id);
  advance(absl::Seconds(3600));
  EXPECT_THAT(live(), SizeIs(2));
  const FunctionStatus status = core_->status("default/fn");
  EXPECT_EQ(status.reservedTarget, 2u);
  EXPECT_EQ(status.reservedReady, 2u);
}

TEST_F(SchedulerCoreTest, LoweringTheReservedCountNeverStopsABusyInstance) {
  core_->update(define({.reserved = 2, .revision = 1}));
  loop_.runAll();
  const auto ids = live();
  for (engine::InstanceId id : ids) ready(id);
  submit("a");
  const engine::InstanceId busy = runningOn("a");
  const engine::InstanceId idle = busy == ids[0] ? ids[1] : ids[0];
  core_->update(define({.reserved = 0, .revision = 2}));
  loop_.runAll();
  EXPECT_FALSE(stopped(busy));
  EXPECT_FALSE(stopped(idle));
  FunctionStatus status = core_->status("default/fn");
  EXPECT_EQ(status.reservedReady, 0u);
  ASSERT_THAT(status.instances, SizeIs(2));
  for (const InstanceStatus& instance : status.instances) EXPECT_EQ(instance.kind, InstanceKind::kOnDemand);
  // The surplus is on-demand now: reclaimed when idle, the busy one only after its request.
  advance(absl::Seconds(301));
  EXPECT_TRUE(stopped(idle));
  EXPECT_FALSE(stopped(busy));
  finish("a");
  advance(absl::Seconds(301));
  EXPECT_TRUE(stopped(busy));
}

TEST_F(SchedulerCoreTest, RaisingTheReservedCountPromotesWarmOnDemandInstances) {
  define({.reserved = 0, .revision = 1});
  submit("a");
  const engine::InstanceId warm = live()[0];
  ready(warm);
  finish("a");
  core_->update(define({.reserved = 2, .revision = 2}));
  loop_.runAll();
  ASSERT_THAT(live(), SizeIs(2)) << "one promoted, one started";
  const FunctionStatus status = core_->status("default/fn");
  EXPECT_EQ(status.instances[0].id, warm);
  EXPECT_EQ(status.instances[0].kind, InstanceKind::kReserved);
  EXPECT_EQ(status.instances[0].state, InstanceState::kIdle);
  EXPECT_EQ(status.instances[1].kind, InstanceKind::kReserved);
  EXPECT_EQ(status.instances[1].state, InstanceState::kStarting);
}

TEST_F(SchedulerCoreTest, DeadReservedInstanceIsReplaced) {
  core_->update(define({.reserved = 1}));
  loop_.runAll();
  const engine::InstanceId first = live()[0];
  ready(first);
  engine_.crash(first, "killed by signal 9");
  loop_.runAll();
  ASSERT_THAT(live(), SizeIs(1));
  EXPECT_NE(live()[0], first);
  EXPECT_EQ(core_->status("default/fn").instances[0].kind, InstanceKind::kReserved);
}

TEST_F(SchedulerCoreTest, DeadOnDemandInstanceIsReplacedWhenRequestsWait) {
  define({.maxInstances = 1});
  auto a = submit("a");
  const engine::InstanceId first = live()[0];
  ready(first);
  auto b = submit("b");
  engine_.crash(first, "out of memory");
  loop_.runAll();
  ASSERT_TRUE(a->has_value());
  ASSERT_TRUE((*a)->outcome.ok());
  EXPECT_EQ((*a)->outcome->error->type, "Crashed");
  ASSERT_THAT(live(), SizeIs(1));
  const engine::InstanceId second = live()[0];
  EXPECT_NE(second, first);
  ready(second);
  EXPECT_EQ(runningOn("b"), second);
}

TEST_F(SchedulerCoreTest, RequestSentToAnInstanceThatJustDiedIsQueuedAgain) {
  define({});
  submit("a");
  const engine::InstanceId first = live()[0];
  ready(first);
  finish("a");
  // The instance dies idle; the core has not yet heard (the exit event is still queued).
  engine_.crash(first, "killed by signal 9");
  auto b = submit("b");
  ASSERT_FALSE(b->has_value()) << "the engine's refusal must not reach the caller";
  ASSERT_THAT(live(), SizeIs(1));
  const engine::InstanceId second = live()[0];
  EXPECT_NE(second, first);
  ready(second);
  finish("b");
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*b)->outcome->output, "b");
}

TEST_F(SchedulerCoreTest, RequestQueuedAgainCanStillBeCancelled) {
  define({});
  submit("a");
  const engine::InstanceId first = live()[0];
  ready(first);
  finish("a");
  engine_.crash(first, "killed by signal 9");
  auto token = std::make_shared<engine::CancellationToken>();
  auto b = submit("b", token);
  ASSERT_FALSE(b->has_value());
  EXPECT_EQ(core_->status("default/fn").queueDepth, 1u);
  token->cancel();
  loop_.runAll();
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*b)->outcome.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(core_->status("default/fn").queueDepth, 0u);
}

TEST_F(SchedulerCoreTest, StartFailureWithNothingElseComingFailsTheWaiters) {
  define({});
  auto a = submit("a");
  engine_.finishStart(live()[0], engine::StartOutcome::Kind::kFunctionFault,
                      ("ModuleNotFoundError: No module named 'index'"));
  loop_.runAll();
  ASSERT_TRUE(a->has_value());
  ASSERT_TRUE((*a)->outcome.ok());
  ASSERT_TRUE((*a)->outcome->error.has_value());
  EXPECT_EQ((*a)->outcome->error->type, "InitializerError");
  EXPECT_THAT((*a)->outcome->error->message, HasSubstr("No module named 'index'"));
  EXPECT_EQ(core_->instanceCount(), 0u);
}

TEST_F(SchedulerCoreTest, APlatformStartFailureFailsTheWaitersWithUnavailableNotAFunctionError) {
  define({});
  auto a = submit("a");
  engine_.finishStart(live()[0], engine::StartOutcome::Kind::kPlatformFault,
                      ("cannot create cgroup /sys/fs/cgroup/memory/x: No space left"));
  loop_.runAll();
  ASSERT_TRUE(a->has_value());
  ASSERT_FALSE((*a)->outcome.ok()) << "the function is not to blame, so no FunctionError";
  EXPECT_EQ((*a)->outcome.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT((*a)->outcome.status().message(), HasSubstr("could not start an instance of default/fn"));
  EXPECT_THAT((*a)->outcome.status().message(), Not(HasSubstr("cgroup"))) << "host details go to the log only";
  EXPECT_GT((*a)->retryAfter, absl::ZeroDuration()) << "when a retry has a chance";
  EXPECT_TRUE((*a)->coldStart);
  EXPECT_EQ(core_->instanceCount(), 0u);
}

TEST_F(SchedulerCoreTest, FailedReservedStartIsRetriedWithBackoff) {
  core_->update(define({.reserved = 1}));
  loop_.runAll();
  engine_.finishStart(live()[0], engine::StartOutcome::Kind::kFunctionFault, ("boom"));
  loop_.runAll();
  EXPECT_THAT(live(), SizeIs(0)) << "no retry before the backoff";
  ASSERT_TRUE(core_->nextWakeup().has_value()) << "with no instance left, the timer still wakes for the retry";
  EXPECT_EQ(*core_->nextWakeup(), clock_.steadyNow() + std::chrono::seconds(1));
  advance(absl::Seconds(1));
  ASSERT_THAT(live(), SizeIs(1));
  engine_.finishStart(live()[0], engine::StartOutcome::Kind::kFunctionFault, ("boom"));
  loop_.runAll();
  advance(absl::Seconds(1));
  EXPECT_THAT(live(), SizeIs(0)) << "the backoff doubled to 2 s";
  advance(absl::Seconds(1));
  EXPECT_THAT(live(), SizeIs(1));
}

TEST_F(SchedulerCoreTest, NewVersionWarmsReservedInstancesBeforeTheOldOnesDrain) {
  core_->update(define({.reserved = 1, .version = 1, .revision = 1}));
  loop_.runAll();
  const engine::InstanceId old = live()[0];
  ready(old);
  core_->update(define({.reserved = 1, .version = 2, .revision = 2}));
  loop_.runAll();
  ASSERT_THAT(live(), SizeIs(2));
  const engine::InstanceId fresh = live()[1];
  EXPECT_EQ(engine_.instances().at(fresh).spec.version, 2);
  // Until the new reserved instance is ready, requests still go to the warm old one.
  auto a = submit("a");
  EXPECT_EQ(runningOn("a"), old);
  ready(fresh);
  auto b = submit("b");
  EXPECT_EQ(runningOn("b"), fresh);
  EXPECT_EQ(engine_.instances().at(old).stopMode, engine::StopMode::kDrain);
  EXPECT_FALSE(stopped(old) && runningOn("a") == 0) << "the old instance finishes its request first";
  finish("a");
  finish("b");
  EXPECT_TRUE(stopped(old));
  EXPECT_EQ((*a)->version, 1);
  EXPECT_EQ((*b)->version, 2);
  EXPECT_FALSE((*b)->coldStart);
}

TEST_F(SchedulerCoreTest, ANewVersionThatFailsToStartTakesOverOnlyWhenItsCodeIsAtFault) {
  core_->update(define({.reserved = 1, .version = 1, .revision = 1}));
  loop_.runAll();
  const engine::InstanceId old = live()[0];
  ready(old);
  // The platform fails the new version's start: the warm old version keeps serving.
  core_->update(define({.reserved = 1, .version = 2, .revision = 2}));
  loop_.runAll();
  ASSERT_THAT(live(), SizeIs(2));
  engine_.finishStart(live()[1], engine::StartOutcome::Kind::kPlatformFault, ("cannot create cgroup"));
  loop_.runAll();
  auto a = submit("a");
  EXPECT_EQ(runningOn("a"), old);
  finish("a");
  EXPECT_EQ((*a)->version, 1);
  EXPECT_FALSE(stopped(old));
  // Its code fails to start: it takes over, so that callers see why.
  core_->update(define({.reserved = 1, .version = 3, .revision = 3}));
  loop_.runAll();
  ASSERT_THAT(live(), SizeIs(2));
  engine_.finishStart(live()[1], engine::StartOutcome::Kind::kFunctionFault,
                      ("ModuleNotFoundError: No module named 'index'"));
  loop_.runAll();
  EXPECT_TRUE(stopped(old)) << "the idle old version is drained";
  auto b = submit("b");
  EXPECT_EQ(runningOn("b"), 0) << "not on the old version";
}

TEST_F(SchedulerCoreTest, NewVersionWithoutReservedCapacityTakesOverAtOnce) {
  define({.version = 1, .revision = 1});
  submit("a");
  const engine::InstanceId old = live()[0];
  ready(old);
  finish("a");
  define({.version = 2, .revision = 2});
  auto b = submit("b"); // carries the new definition
  EXPECT_TRUE(stopped(old));
  ASSERT_THAT(live(), SizeIs(1));
  EXPECT_EQ(engine_.instances().at(live()[0]).spec.version, 2);
}

TEST_F(SchedulerCoreTest, DeletedFunctionFailsItsWaitersAndDrainsItsInstances) {
  define({.maxInstances = 1});
  submit("a");
  const engine::InstanceId id = live()[0];
  ready(id);
  auto b = submit("b");
  core_->remove("default/fn");
  loop_.runAll();
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*b)->outcome.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*b)->outcome.status().message(), "function 'default/fn' was deleted");
  EXPECT_EQ(engine_.instances().at(id).stopMode, engine::StopMode::kDrain);
  finish("a");
  EXPECT_TRUE(stopped(id));
  EXPECT_EQ(core_->instanceCount(), 0u);
}

TEST_F(SchedulerCoreTest, StatusReportsInstancesQueueAndInFlight) {
  core_->update(define({.concurrency = 2, .reserved = 1, .maxInstances = 2}));
  loop_.runAll();
  ready(live()[0]);
  submit("a");
  submit("b");
  submit("c"); // starts an on-demand instance
  FunctionStatus status = core_->status("default/fn");
  EXPECT_EQ(status.key, "default/fn");
  EXPECT_EQ(status.reservedTarget, 1u);
  EXPECT_EQ(status.reservedReady, 1u);
  EXPECT_EQ(status.inFlight, 2u);
  EXPECT_EQ(status.queueDepth, 1u);
  ASSERT_THAT(status.instances, SizeIs(2));
  EXPECT_EQ(status.instances[0].kind, InstanceKind::kReserved);
  EXPECT_EQ(status.instances[0].state, InstanceState::kBusy);
  EXPECT_EQ(status.instances[0].inFlight, 2u);
  EXPECT_EQ(status.instances[0].version, 1);
  EXPECT_EQ(status.instances[1].kind, InstanceKind::kOnDemand);
  EXPECT_EQ(status.instances[1].state, InstanceState::kStarting);
}

TEST_F(SchedulerCoreTest, FunctionWithoutCodeIsRefused) {
  define({.version = 0});
  auto a = submit("a");
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ((*a)->outcome.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*a)->outcome.status().message(), "function 'default/fn' has no code; upload some first");
}

TEST_F(SchedulerCoreTest, NamedVersionRunsOnItsOwnOnDemandInstances) {
  core_->update(define({.reserved = 1, .version = 2}));
  loop_.runAll();
  ready(live()[0]);
  auto spec = std::make_shared<engine::InstanceSpec>(function_->spec);
  spec->version = 1;
  spec->codeDir = "/code/v1";
  auto slot = std::make_shared<std::optional<InvocationResult>>();
  Invocation invocation;
  invocation.function = function_;
  invocation.versionSpec = spec;
  invocation.payload = "old";
  core_->submit(std::move(invocation), [slot](InvocationResult result) { *slot = std::move(result); });
  loop_.runAll();
  ASSERT_THAT(live(), SizeIs(2));
  EXPECT_EQ(engine_.instances().at(live()[1]).spec.version, 1);
  ready(live()[1]);
  finish("old");
  ASSERT_TRUE(slot->has_value());
  EXPECT_EQ((*slot)->version, 1);
  EXPECT_EQ((*slot)->kind, InstanceKind::kOnDemand);
}

TEST_F(SchedulerCoreTest, NextWakeupCoversQueueDeadlinesAndTheSweep) {
  define({.maxInstances = 1, .queueTimeout = absl::Seconds(5)});
  EXPECT_FALSE(core_->nextWakeup().has_value()) << "nothing to wait for";
  submit("a");
  ready(live()[0]);
  const SteadyTime now = clock_.steadyNow();
  ASSERT_TRUE(core_->nextWakeup().has_value());
  EXPECT_LE(*core_->nextWakeup(), now + std::chrono::seconds(1)) << "the idle sweep";
  submit("b");
  advance(absl::Seconds(1));
  EXPECT_LE(*core_->nextWakeup(), clock_.steadyNow() + std::chrono::seconds(4));
}

TEST_F(SchedulerCoreTest, MemoryBudgetHoldsStartsBackAndTheTimeoutNamesIt) {
  makeCore({.memoryBudgetMb = 256, .maxConcurrentStarts = kManyStarts});
  define({.queueTimeout = absl::Seconds(5)});
  submit("a");
  submit("b");
  auto c = submit("c");
  EXPECT_THAT(live(), SizeIs(2)) << "two 128 MiB instances fill the 256 MiB budget";
  advance(absl::Seconds(5));
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*c)->outcome.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT((*c)->outcome.status().message(),
              HasSubstr("new instances were held back: the server's instance memory budget of 256 MiB is in use"));
}

TEST_F(SchedulerCoreTest, MemoryAFreedInstanceHeldLetsTheNextStartGo) {
  makeCore({.memoryBudgetMb = 128, .maxConcurrentStarts = kManyStarts});
  define({.name = "one"});
  submit("a");
  const engine::InstanceId first = live()[0];
  define({.name = "two"});
  submit("b");
  EXPECT_THAT(live("two"), SizeIs(0));
  ready(first);
  finish("a");
  engine_.crash(first, "killed by signal 9");
  loop_.runAll();
  EXPECT_THAT(live("two"), SizeIs(1)) << "the memory the dead instance held goes to the waiting function";
}

TEST_F(SchedulerCoreTest, ReservedMemoryIsSetAsideFromAnotherFunctionsSurge) {
  makeCore({.memoryBudgetMb = 512, .maxConcurrentStarts = kManyStarts});
  core_->update(define({.name = "shop", .reserved = 2}));
  loop_.runAll();
  const auto reserved = live("shop");
  ASSERT_THAT(reserved, SizeIs(2));
  for (engine::InstanceId id : reserved) ready(id);
  define({.name = "hot"});
  for (int i = 0; i < 10; ++i) submit("h" + std::to_string(i));
  EXPECT_THAT(live("hot"), SizeIs(2)) << "512 MiB less the 256 reserved";
  // A reserved instance dies: its replacement may start, the surge may not take its memory.
  engine_.crash(reserved[0], "killed by signal 9");
  loop_.runAll();
  EXPECT_THAT(live("shop"), SizeIs(2));
  EXPECT_THAT(live("hot"), SizeIs(2));
}

TEST_F(SchedulerCoreTest, CreationRateIsATokenBucketAndTheTimeoutNamesIt) {
  makeCore({.creationBurst = 2, .creationPerMinute = 60, .maxConcurrentStarts = kManyStarts});
  define({.queueTimeout = absl::Milliseconds(800)});
  submit("a");
  submit("b");
  ASSERT_THAT(live(), SizeIs(2));
  for (engine::InstanceId id : live()) ready(id); // both busy now
  auto c = submit("c");
  EXPECT_THAT(live(), SizeIs(2)) << "the burst of 2 is spent";
  advance(absl::Milliseconds(800));
  ASSERT_TRUE(c->has_value());
  EXPECT_THAT((*c)->outcome.status().message(),
              HasSubstr("the server's instance creation rate (2 at once, then 60 per minute) was reached"));
  auto d = submit("d");
  EXPECT_THAT(live(), SizeIs(2)) << "0.8 of a token so far";
  ASSERT_TRUE(core_->nextWakeup().has_value());
  EXPECT_LE(*core_->nextWakeup(), clock_.steadyNow() + std::chrono::milliseconds(200)) << "wakes for the token";
  advance(absl::Milliseconds(200));
  EXPECT_THAT(live(), SizeIs(3)) << "one token a second";
}

TEST_F(SchedulerCoreTest, ScarceCreationTokensGoRoundTheFunctions) {
  makeCore({.creationBurst = 2, .creationPerMinute = 60, .maxConcurrentStarts = kManyStarts});
  define({.name = "hot-a", .queueTimeout = absl::Seconds(60)});
  for (int i = 0; i < 10; ++i) submit("a" + std::to_string(i));
  define({.name = "hot-b", .queueTimeout = absl::Seconds(60)});
  for (int i = 0; i < 10; ++i) submit("b" + std::to_string(i));
  define({.name = "quiet", .queueTimeout = absl::Seconds(60)});
  submit("q");
  EXPECT_THAT(live("hot-a"), SizeIs(2)) << "the burst went to the first arrival";
  advance(absl::Seconds(1));
  EXPECT_THAT(live("hot-b"), SizeIs(1));
  advance(absl::Seconds(1));
  EXPECT_THAT(live("quiet"), SizeIs(1)) << "its first start comes after one start of each hot function";
  EXPECT_THAT(live("hot-a"), SizeIs(2));
  advance(absl::Seconds(1));
  EXPECT_THAT(live("hot-a"), SizeIs(3)) << "then the round goes on";
}

TEST_F(SchedulerCoreTest, FullQueueSaysWhenToRetryFromTheDrainRate) {
  define({.maxInstances = 1, .maxQueueLength = 2});
  submit("a");
  ready(live()[0]);
  for (const std::string next : {"b", "c", "d"}) {
    advance(absl::Milliseconds(100));
    finish(next == "b" ? "a" : (next == "c" ? "b" : "c"));
    submit(next);
  }
  // Three completions 100 ms apart: 10 per second. d runs; e and f fill the queue.
  submit("e");
  submit("f");
  auto g = submit("g");
  ASSERT_TRUE(g->has_value());
  EXPECT_EQ((*g)->outcome.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ((*g)->retryAfter, absl::Milliseconds(300)) << "the two waiting and g itself, at 10 per second";
}

TEST_F(SchedulerCoreTest, AnOpenWindowReplacesTheStandingTargetAndAWarmUpRaisesIt) {
  const FunctionDefinitionPtr fn = define({.reserved = 2});
  core_->update(fn);
  loop_.runAll();
  for (engine::InstanceId id : live()) ready(id);
  auto reservedLive = [&] {
    uint32_t reserved = 0;
    for (const InstanceStatus& instance : core_->status("default/fn").instances) {
      reserved += instance.kind == InstanceKind::kReserved && instance.state != InstanceState::kDraining;
    }
    return reserved;
  };
  core_->setScheduledTarget(fn, {.open = std::nullopt, .warming = 5});
  loop_.runAll();
  EXPECT_EQ(core_->status("default/fn").reservedTarget, 5u);
  EXPECT_EQ(reservedLive(), 5u) << "three more start ahead of the window";
  core_->setScheduledTarget(fn, {.open = 5});
  EXPECT_EQ(core_->status("default/fn").reservedTarget, 5u);
  core_->setScheduledTarget(fn, {.open = 1});
  EXPECT_EQ(core_->status("default/fn").reservedTarget, 1u) << "inside a window its count applies, even a lower one";
  EXPECT_EQ(reservedLive(), 1u);
  EXPECT_THAT(live(), SizeIs(5)) << "the surplus is on-demand now, and stops only once idle";
  core_->setScheduledTarget(fn, {});
  EXPECT_EQ(core_->status("default/fn").reservedTarget, 2u) << "outside every window the standing target";
  EXPECT_EQ(reservedLive(), 2u);
}

TEST_F(SchedulerCoreTest, AWindowWarmsAFunctionNobodyInvokedAndKeepsItFromTheSweep) {
  const FunctionDefinitionPtr fn = define({.reserved = 0});
  core_->setScheduledTarget(fn, {.open = std::nullopt, .warming = 3});
  loop_.runAll();
  ASSERT_THAT(live(), SizeIs(3));
  for (engine::InstanceId id : live()) ready(id);
  advance(absl::Seconds(3600));
  EXPECT_THAT(live(), SizeIs(3)) << "reserved for the window: never reclaimed";
  core_->setScheduledTarget(fn, {});
  advance(absl::Seconds(301));
  EXPECT_THAT(live(), SizeIs(0)) << "after the window the surplus is reclaimed once idle";
}

TEST_F(SchedulerCoreTest, AStandingChangeKeepsTheWindowsTargetAndADeleteForgetsIt) {
  core_->setScheduledTarget(define({.reserved = 1, .revision = 1}), {.open = 4});
  loop_.runAll();
  EXPECT_EQ(core_->status("default/fn").reservedTarget, 4u);
  core_->update(define({.reserved = 2, .revision = 2}));
  loop_.runAll();
  EXPECT_EQ(core_->status("default/fn").reservedTarget, 4u) << "the window still sets it";
  core_->remove("default/fn");
  core_->update(define({.reserved = 2, .revision = 3}));
  loop_.runAll();
  EXPECT_EQ(core_->status("default/fn").reservedTarget, 2u) << "a deleted function's window does not carry over";
}

TEST_F(SchedulerCoreTest, WindowTargetsCountAsReservedMemory) {
  makeCore({.memoryBudgetMb = 4096, .maxConcurrentStarts = kManyStarts});
  core_->setScheduledTarget(define({.reserved = 1}), {.open = 6});
  loop_.runAll();
  EXPECT_EQ(core_->rollMetrics(1).server.memoryReservedMb, 6u * 128);
}

} // namespace
} // namespace surge::scheduler
