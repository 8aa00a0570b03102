// FunctionDirectory against a real store (SQLite in a temp dir) and a real Scheduler driving the
// FakeEngine: what reaches the scheduler's loop, in which order.
#include "api/function_directory.h"

#include "scheduler/scheduler.h"
#include "store/database.h"
#include "store/function_store.h"
#include "support/fake_clock.h"
#include "support/fake_engine.h"
#include "support/temp_dir.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>

namespace surge::api {
namespace {

using namespace std::chrono_literals;

class FunctionDirectoryTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto db = store::Database::open(dir_.path() / "surge.db");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    store::StoreOptions options;
    options.dataDir = dir_.path();
    auto store = store::FunctionStore::open(options, *db_, clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto scheduler = scheduler::Scheduler::create(
        [](engine::Executor executor, engine::InstanceObserver& observer) -> absl::StatusOr<scheduler::EngineOnLoop> {
          return scheduler::EngineOnLoop{std::make_unique<testing::FakeEngine>(std::move(executor), observer)};
        },
        clock_, scheduler::SchedulerOptions{.memoryBudgetMb = 1024});
    ASSERT_TRUE(scheduler.ok()) << scheduler.status();
    scheduler_ = std::move(*scheduler);
    directory_ = std::make_unique<FunctionDirectory>(*store_, *scheduler_);
  }

  // The reserved target the scheduler holds for the function, after everything posted so far.
  uint32_t scheduledTarget(const std::string& key) {
    std::promise<scheduler::FunctionStatus> status;
    auto answer = status.get_future();
    scheduler_->status(key, [&status](scheduler::FunctionStatus s) { status.set_value(std::move(s)); });
    EXPECT_EQ(answer.wait_for(10s), std::future_status::ready);
    return answer.get().reservedTarget;
  }

  store::FunctionConfig reserving(uint32_t target) {
    store::FunctionConfig config;
    config.runtime = store::Runtime::kPython3;
    config.handler = "index.handler";
    config.reservedTarget = target;
    return config;
  }

  surge::testing::TempDir dir_;
  surge::testing::FakeClock clock_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<store::FunctionStore> store_;
  std::unique_ptr<scheduler::Scheduler> scheduler_;
  std::unique_ptr<FunctionDirectory> directory_;
};

TEST_F(FunctionDirectoryTest, AChangeThatReadTheStoreBeforeADeleteDoesNotBringTheFunctionBack) {
  auto created = store_->createFunction("default", "promo", reserving(2));
  ASSERT_TRUE(created.ok()) << created.status();
  directory_->changed(*created);
  ASSERT_EQ(scheduledTarget("default/promo"), 2u);

  // A reservation change read the record, then the function was deleted before it went on.
  auto deleted = store_->deleteFunction("default", "promo", 0);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, created->id);
  directory_->deleted("default", "promo", *deleted);
  directory_->changed(*created);

  EXPECT_EQ(directory_->cached("default", "promo"), nullptr);
  EXPECT_EQ(scheduledTarget("default/promo"), 0u) << "no reserved instances warm for a deleted function";
  const absl::Status fits = [&] {
    auto lock = directory_->lockReservationChanges();
    return directory_->reservationFits(lock, "default", "other", store::FunctionConfig{}, reserving(8));
  }();
  EXPECT_TRUE(fits.ok()) << "its 256 MiB are free again: " << fits;

  // A new function of the same name is a new id, and is not ignored.
  auto again = store_->createFunction("default", "promo", reserving(1));
  ASSERT_TRUE(again.ok()) << again.status();
  directory_->changed(*again);
  EXPECT_EQ(scheduledTarget("default/promo"), 1u);
}

TEST_F(FunctionDirectoryTest, ReservationFitsRefusesACallerThatDoesNotHoldTheLock) {
  std::mutex other;
  std::unique_lock<std::mutex> wrong(other);
  const absl::Status fits =
      directory_->reservationFits(wrong, "default", "promo", store::FunctionConfig{}, reserving(1));
  EXPECT_EQ(fits.code(), absl::StatusCode::kInternal);
}

} // namespace
} // namespace surge::api
