// InstancePool on its own, with instances and time made by the test: which instance takes the
// next request, what the pool wants started, how reserved kinds follow the target, the queue's
// drain time and the backoff of failed starts.
#include "scheduler/instance_pool.h"
#include "scheduler/rollover.h"

#include <gtest/gtest.h>

#include <map>

namespace surge::scheduler {
namespace {

using namespace std::chrono_literals;

const SteadyTime kStart = SteadyTime() + 1000s;

class InstancePoolTest : public ::testing::Test {
protected:
  InstancePool& makePool(uint32_t concurrency) {
    engine::InstanceSpec spec;
    spec.version = 1;
    spec.concurrency = concurrency;
    return function_.poolFor(spec, absl::Seconds(1));
  }
  // An instance as SchedulerCore makes one: asked to start, then moved along by the test.
  PoolInstance& add(InstancePool& pool, InstanceKind kind, Phase phase = Phase::kReady, uint32_t inFlight = 0) {
    PoolInstance& instance = instances_[nextId_];
    instance.id = nextId_++;
    instance.kind = kind;
    pool.adopt(instance);
    instance.inFlight = inFlight;
    if (phase != Phase::kStarting) pool.setPhase(instance, phase);
    return instance;
  }
  void queue(InstancePool& pool, int count, bool namedVersion = false) {
    for (int i = 0; i < count; ++i) {
      Waiter waiter;
      waiter.id = nextWaiter_++;
      if (namedVersion) waiter.invocation.versionSpec = std::make_shared<engine::InstanceSpec>();
      pool.queue.push(std::move(waiter));
    }
  }

  FunctionPools function_;
  std::map<engine::InstanceId, PoolInstance> instances_;
  engine::InstanceId nextId_ = 1;
  uint64_t nextWaiter_ = 1;
};

TEST_F(InstancePoolTest, TheNextRequestGoesToTheOldestFreeReservedInstanceThenToOnDemand) {
  InstancePool& pool = makePool(1);
  PoolInstance& onDemand = add(pool, InstanceKind::kOnDemand);
  PoolInstance& reservedOld = add(pool, InstanceKind::kReserved);
  PoolInstance& reservedNew = add(pool, InstanceKind::kReserved);
  ASSERT_EQ(pool.freeInstance(), &reservedOld);

  reservedOld.inFlight = 1; // its only slot taken
  pool.clearFree(reservedOld);
  EXPECT_EQ(pool.freeInstance(), &reservedNew);
  pool.setPhase(reservedNew, Phase::kDraining);
  EXPECT_EQ(pool.freeInstance(), &onDemand) << "a draining instance takes no request";
  onDemand.inFlight = 1;
  pool.clearFree(onDemand);
  pool.setFree(onDemand); // no free slot: not listed again
  EXPECT_EQ(pool.freeInstance(), nullptr);
}

TEST_F(InstancePoolTest, AnInstanceWithSeveralSlotsStaysFreeUntilAllAreTaken) {
  InstancePool& pool = makePool(3);
  PoolInstance& instance = add(pool, InstanceKind::kOnDemand, Phase::kReady, 2);
  EXPECT_TRUE(pool.hasFreeSlot(instance));
  EXPECT_EQ(pool.freeInstance(), &instance);
  instance.inFlight = 3;
  EXPECT_FALSE(pool.hasFreeSlot(instance));
}

TEST_F(InstancePoolTest, StartingCountFollowsPhasesAndRelease) {
  InstancePool& pool = makePool(1);
  PoolInstance& a = add(pool, InstanceKind::kOnDemand, Phase::kStarting);
  PoolInstance& b = add(pool, InstanceKind::kOnDemand, Phase::kStarting);
  EXPECT_EQ(pool.starting(), 2u);
  EXPECT_EQ(pool.freeInstance(), nullptr) << "a starting instance takes no request";
  pool.setPhase(a, Phase::kReady);
  EXPECT_EQ(pool.starting(), 1u);
  EXPECT_EQ(pool.freeInstance(), &a);
  pool.release(b); // failed to start
  EXPECT_EQ(pool.starting(), 0u);
  pool.release(a);
  EXPECT_TRUE(pool.empty());
  EXPECT_EQ(pool.freeInstance(), nullptr);
}

TEST_F(InstancePoolTest, ABurstStartsOneInstancePerConcurrencyWorthOfWaiters) {
  InstancePool& pool = makePool(10);
  queue(pool, 50);
  EXPECT_EQ(pool.demand(true, 100, 100).onDemand, 5u);
  add(pool, InstanceKind::kOnDemand, Phase::kStarting);
  add(pool, InstanceKind::kOnDemand, Phase::kStarting);
  EXPECT_EQ(pool.demand(true, 100, 100).onDemand, 3u) << "slots of starting instances are on their way";
  queue(pool, 1);
  EXPECT_EQ(pool.demand(true, 100, 100).onDemand, 4u) << "one more waiter needs a whole instance";
}

TEST_F(InstancePoolTest, BusySlotsThatFreeBeforeAStartCouldFinishCountAsComing) {
  InstancePool& pool = makePool(1);
  for (int i = 0; i < 4; ++i) add(pool, InstanceKind::kOnDemand, Phase::kReady, 1);
  queue(pool, 10);
  EXPECT_EQ(pool.demand(true, 100, 100).onDemand, 10u) << "without measures, busy slots are not counted";
  // A start takes as long as two requests: each busy slot frees twice meanwhile.
  pool.recordStart(absl::Milliseconds(20));
  pool.recordCompletion(kStart, absl::Milliseconds(10));
  EXPECT_EQ(pool.demand(true, 100, 100).onDemand, 2u);
}

TEST_F(InstancePoolTest, DemandStopsAtTheRoomLeftAndSaysSo) {
  InstancePool& pool = makePool(1);
  pool.reservedTarget = 3;
  queue(pool, 5);
  Demand wanted = pool.demand(true, 100, 100);
  EXPECT_EQ(wanted.reserved, 3u);
  EXPECT_EQ(wanted.onDemand, 5u);
  EXPECT_TRUE(pool.heldBy.empty());
  EXPECT_FALSE(wanted.capped);

  wanted = pool.demand(true, 4, 10);
  EXPECT_EQ(wanted.reserved, 3u) << "reserved instances come first";
  EXPECT_EQ(wanted.onDemand, 1u);
  EXPECT_EQ(pool.heldBy, "max_instances 10 was reached");
  EXPECT_TRUE(wanted.capped);

  wanted = pool.demand(false, 100, 100);
  EXPECT_EQ(wanted.reserved, 0u) << "no reserved start while it may not (backoff, not the active pool)";
  EXPECT_EQ(wanted.onDemand, 5u);
}

TEST_F(InstancePoolTest, AShortfallPromotesWarmOnDemandInstancesOldestFirst) {
  InstancePool& pool = makePool(1);
  PoolInstance& draining = add(pool, InstanceKind::kOnDemand, Phase::kDraining);
  PoolInstance& first = add(pool, InstanceKind::kOnDemand);
  PoolInstance& second = add(pool, InstanceKind::kOnDemand, Phase::kStarting);
  PoolInstance& third = add(pool, InstanceKind::kOnDemand);
  pool.reservedTarget = 2;
  pool.reconcileReserved(kStart);
  EXPECT_EQ(draining.kind, InstanceKind::kOnDemand) << "a draining instance is never reserved";
  EXPECT_EQ(first.kind, InstanceKind::kReserved);
  EXPECT_EQ(second.kind, InstanceKind::kReserved);
  EXPECT_EQ(third.kind, InstanceKind::kOnDemand);
  EXPECT_EQ(pool.reservedLive(), 2u);
  EXPECT_EQ(pool.reservedReady(), 1u);
  EXPECT_EQ(pool.freeInstance(), &first) << "the free sets follow the kinds";
}

TEST_F(InstancePoolTest, ASurplusBecomesOnDemandStartingFirstThenIdleThenBusyNewestFirst) {
  InstancePool& pool = makePool(1);
  PoolInstance& busyOld = add(pool, InstanceKind::kReserved, Phase::kReady, 1);
  PoolInstance& idleOld = add(pool, InstanceKind::kReserved);
  PoolInstance& idleNew = add(pool, InstanceKind::kReserved);
  PoolInstance& starting = add(pool, InstanceKind::kReserved, Phase::kStarting);
  PoolInstance& busyNew = add(pool, InstanceKind::kReserved, Phase::kReady, 1);

  pool.reservedTarget = 3;
  pool.reconcileReserved(kStart);
  EXPECT_EQ(starting.kind, InstanceKind::kOnDemand);
  EXPECT_EQ(idleNew.kind, InstanceKind::kOnDemand);
  EXPECT_EQ(idleNew.idleSince, kStart) << "an idle demoted instance starts its idle time now";
  EXPECT_EQ(idleOld.kind, InstanceKind::kReserved);

  pool.reservedTarget = 0;
  pool.reconcileReserved(kStart + 1s);
  EXPECT_EQ(idleOld.kind, InstanceKind::kOnDemand);
  EXPECT_EQ(busyNew.kind, InstanceKind::kOnDemand);
  EXPECT_EQ(busyOld.kind, InstanceKind::kOnDemand);
  EXPECT_EQ(busyOld.idleSince, SteadyTime()) << "a busy instance's idle time starts when its request ends";
  EXPECT_EQ(pool.reservedLive(), 0u);
}

TEST_F(InstancePoolTest, DrainTimeComesFromTheRateRequestsFinishedAt) {
  InstancePool& pool = makePool(1);
  EXPECT_EQ(pool.drainTime(absl::Seconds(60)), absl::Seconds(60)) << "no rate yet: the queue timeout";
  for (int i = 0; i <= 10; ++i) pool.recordCompletion(kStart + i * 100ms, std::nullopt); // 10 per second
  queue(pool, 4);
  EXPECT_EQ(pool.drainTime(absl::Seconds(60)), absl::Milliseconds(500)) << "the queue and this request, at 10/s";
  EXPECT_EQ(pool.drainTime(absl::Milliseconds(200)), absl::Milliseconds(200)) << "never beyond the timeout";
}

TEST_F(InstancePoolTest, FailedStartsBackOffDoublingUpToTheMaximum) {
  InstancePool& pool = makePool(1);
  pool.backOff(kStart, absl::Seconds(3));
  EXPECT_EQ(pool.retryAt(), kStart + 1s);
  EXPECT_EQ(pool.retryBackoff(), absl::Seconds(2));
  pool.backOff(kStart + 1s, absl::Seconds(3));
  EXPECT_EQ(pool.retryAt(), kStart + 3s);
  EXPECT_EQ(pool.retryBackoff(), absl::Seconds(3));
  pool.backOff(kStart + 3s, absl::Seconds(3));
  EXPECT_EQ(pool.retryBackoff(), absl::Seconds(3));
  pool.resetBackoff(absl::Seconds(1));
  EXPECT_EQ(pool.retryBackoff(), absl::Seconds(1));
}

} // namespace
} // namespace surge::scheduler
