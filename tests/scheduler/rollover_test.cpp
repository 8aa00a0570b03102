// FunctionPools and the rollover rules on their own: which pool serves after a new definition,
// which retire, when the next pool takes over, and which waiters follow it.
#include "scheduler/rollover.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>

namespace surge::scheduler {
namespace {

class RolloverTest : public ::testing::Test {
protected:
  // Gives the function a new definition with code `version` (0: none) and `reservedTarget`.
  RolloverPlan deploy(int64_t version, uint32_t reservedTarget) {
    auto definition = std::make_shared<FunctionDefinition>();
    definition->key = "ns/f";
    definition->revision = ++revision_;
    definition->spec.version = version;
    definition->reservedTarget = reservedTarget;
    function_.definition = definition;
    function_.reservedTarget = reservedTarget; // as SchedulerCore sets it, with no window open
    return planRollover(function_, absl::Seconds(1));
  }
  PoolInstance& addReady(InstancePool& pool, InstanceKind kind) {
    PoolInstance& instance = instances_[nextId_];
    instance.id = nextId_++;
    instance.kind = kind;
    pool.adopt(instance);
    pool.setPhase(instance, Phase::kReady);
    return instance;
  }

  FunctionPools function_;
  std::map<engine::InstanceId, PoolInstance> instances_;
  engine::InstanceId nextId_ = 1;
  int64_t revision_ = 0;
};

TEST_F(RolloverTest, FirstCodeMakesTheCurrentPoolAndNothingRetires) {
  RolloverPlan plan = deploy(0, 0);
  EXPECT_TRUE(plan.retire.empty());
  EXPECT_EQ(function_.current, nullptr) << "no code: nothing serves";
  plan = deploy(1, 2);
  EXPECT_TRUE(plan.retire.empty());
  EXPECT_EQ(plan.switchTo, nullptr);
  ASSERT_NE(function_.current, nullptr);
  EXPECT_EQ(function_.current->spec().version, 1);
  EXPECT_EQ(function_.next, nullptr);
}

TEST_F(RolloverTest, WithoutAReservedTargetANewVersionTakesOverAtOnce) {
  deploy(1, 0);
  InstancePool* old = function_.current;
  RolloverPlan plan = deploy(2, 0);
  ASSERT_NE(plan.switchTo, nullptr);
  EXPECT_EQ(plan.switchTo->spec().version, 2);
  EXPECT_TRUE(plan.retire.empty()) << "the switch itself retires the old pool";
  EXPECT_EQ(function_.current, old) << "the caller switches";
  EXPECT_EQ(function_.next, nullptr);
}

TEST_F(RolloverTest, WithAReservedTargetTheNewVersionWarmsAsNextUntilItsReservedAreReady) {
  deploy(1, 2);
  InstancePool* old = function_.current;
  RolloverPlan plan = deploy(2, 2);
  EXPECT_EQ(plan.switchTo, nullptr);
  EXPECT_TRUE(plan.retire.empty());
  EXPECT_EQ(function_.current, old) << "the old version serves while the new one warms";
  ASSERT_NE(function_.next, nullptr);
  InstancePool& next = *function_.next;
  EXPECT_EQ(next.spec().version, 2);
  EXPECT_TRUE(function_.servesActive(next));

  next.reservedTarget = 2;
  EXPECT_FALSE(warm(next));
  addReady(next, InstanceKind::kReserved);
  addReady(next, InstanceKind::kOnDemand);
  EXPECT_FALSE(warm(next)) << "on-demand instances do not count";
  addReady(next, InstanceKind::kReserved);
  EXPECT_TRUE(warm(next));
}

TEST_F(RolloverTest, BackToTheCurrentVersionOrOnToAnotherRetiresTheNextPool) {
  deploy(1, 1);
  deploy(2, 1);
  InstancePool* two = function_.next;
  RolloverPlan plan = deploy(3, 1);
  ASSERT_EQ(plan.retire.size(), 1u);
  EXPECT_EQ(plan.retire[0], two);
  ASSERT_NE(function_.next, nullptr);
  EXPECT_EQ(function_.next->spec().version, 3);

  InstancePool* three = function_.next;
  plan = deploy(1, 1);
  ASSERT_EQ(plan.retire.size(), 1u);
  EXPECT_EQ(plan.retire[0], three);
  EXPECT_EQ(function_.next, nullptr);
  EXPECT_EQ(function_.current->spec().version, 1);
}

TEST_F(RolloverTest, LosingTheCodeRetiresCurrentAndNext) {
  deploy(1, 1);
  InstancePool* current = function_.current;
  deploy(2, 1);
  InstancePool* next = function_.next;
  RolloverPlan plan = deploy(0, 1);
  EXPECT_EQ(plan.retire, (std::vector<InstancePool*>{current, next}));
  EXPECT_EQ(function_.current, nullptr);
  EXPECT_EQ(function_.next, nullptr);
}

TEST_F(RolloverTest, OnlyWaitersForTheActiveVersionMoveAndKeepTheirOrder) {
  deploy(1, 0);
  InstancePool& from = *function_.current;
  engine::InstanceSpec spec2;
  spec2.version = 2;
  InstancePool& to = function_.poolFor(spec2, absl::Seconds(1));
  for (uint64_t id = 1; id <= 4; ++id) {
    Waiter waiter;
    waiter.id = id;
    if (id == 2) waiter.invocation.versionSpec = std::make_shared<engine::InstanceSpec>(from.spec());
    from.queue.push(std::move(waiter));
  }
  EXPECT_EQ(moveActiveWaiters(from, to), (std::vector<uint64_t>{1, 3, 4}));
  ASSERT_EQ(from.queue.size(), 1u);
  EXPECT_EQ(from.queue.begin()->id, 2u) << "a request for a named version stays with it";
  std::vector<uint64_t> moved;
  for (const Waiter& waiter : to.queue) moved.push_back(waiter.id);
  EXPECT_EQ(moved, (std::vector<uint64_t>{1, 3, 4}));
}

TEST_F(RolloverTest, ANextVersionThatCannotStartTakesOverOnlyWhenItIsTheFunctionsFault) {
  deploy(1, 1);
  deploy(2, 1);
  engine::StartOutcome functionFault{engine::StartOutcome::Kind::kFunctionFault, "ImportError", {}};
  engine::StartOutcome platformFault{engine::StartOutcome::Kind::kPlatformFault, "no cgroup", {}};
  engine::StartOutcome stopped{engine::StartOutcome::Kind::kStopped, "stopped", {}};
  EXPECT_TRUE(takesOverAfterFailedStart(function_, *function_.next, functionFault));
  EXPECT_FALSE(takesOverAfterFailedStart(function_, *function_.next, platformFault));
  EXPECT_FALSE(takesOverAfterFailedStart(function_, *function_.next, stopped));
  EXPECT_FALSE(takesOverAfterFailedStart(function_, *function_.current, functionFault));
}

TEST_F(RolloverTest, EmptyPoolsGoExceptCurrentAndNext) {
  deploy(1, 1);
  deploy(2, 1);
  engine::InstanceSpec named;
  named.version = 7;
  InstancePool& busy = function_.poolFor(named, absl::Seconds(1));
  addReady(busy, InstanceKind::kOnDemand);
  named.version = 8;
  function_.poolFor(named, absl::Seconds(1)); // empty, serves nothing
  ASSERT_EQ(function_.pools.size(), 4u);
  function_.dropEmptyPools();
  ASSERT_EQ(function_.pools.size(), 3u);
  for (const auto& pool : function_.pools) EXPECT_NE(pool->spec().version, 8);
}

TEST_F(RolloverTest, RoomIsWhatMaxInstancesLeaves) {
  deploy(1, 0);
  auto definition = std::make_shared<FunctionDefinition>(*function_.definition);
  definition->maxInstances = 3;
  function_.definition = definition;
  function_.instances = 1;
  EXPECT_EQ(function_.room(), 2u);
  function_.instances = 5; // max_instances lowered below what runs
  EXPECT_EQ(function_.room(), 0u);
}

} // namespace
} // namespace surge::scheduler
