// FunctionControl and its FunctionDirectory against a real store (SQLite in a temp dir) and a real Scheduler driving
// the FakeEngine: what reaches the scheduler's loop, in which order.
#include "control/function_control.h"

#include "auth/audit_log.h"
#include "auth/principal.h"

#include "common/sha256.h"
#include "scheduler/scheduler.h"
#include "store/database.h"
#include "store/function_store.h"
#include "support/fake_clock.h"
#include "support/fake_engine.h"
#include "support/temp_dir.h"
#include "support/zip_builder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>

namespace surge::control {
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
        [this](engine::Executor executor,
               engine::InstanceObserver& observer) -> absl::StatusOr<scheduler::EngineOnLoop> {
          auto engine = std::make_unique<testing::FakeEngine>(std::move(executor), observer);
          engine_ = engine.get();
          return scheduler::EngineOnLoop{std::move(engine)};
        },
        clock_, scheduler::SchedulerOptions{.memoryBudgetMb = 1024});
    ASSERT_TRUE(scheduler.ok()) << scheduler.status();
    scheduler_ = std::move(*scheduler);
    audit_ = std::make_unique<auth::AuditLog>(*db_, clock_);
    control_ = std::make_unique<FunctionControl>(*store_, *scheduler_, *audit_);
    directory_ = &control_->directory();
    who_.keyName = "test-admin";
    who_.role = auth::Role::kAdmin;
  }

  // The reserved target the scheduler holds for the function, after everything posted so far.
  uint32_t scheduledTarget(const std::string& key) {
    std::promise<scheduler::FunctionStatus> status;
    auto answer = status.get_future();
    scheduler_->status(key, [&status](scheduler::FunctionStatus s) { status.set_value(std::move(s)); });
    EXPECT_EQ(answer.wait_for(10s), std::future_status::ready);
    return answer.get().reservedTarget;
  }

  // What the engine was last told about network-on kinds, after everything posted so far.
  std::set<engine::NetworkSandboxKind> networkKinds() {
    scheduledTarget("default/any"); // a round trip through the loop
    return engine_->networkKinds();
  }

  absl::Status uploadCode(const std::string& name) {
    const std::string archive =
        surge::testing::ZipBuilder().addFile("index.py", "def handler(e, c):\n    return e\n").bytes();
    auto upload = store_->beginUpload("default", name);
    if (!upload.ok()) return upload.status();
    if (auto status = (*upload)->append(archive); !status.ok()) return status;
    auto result = store_->commitUpload(std::move(*upload), common::Sha256::of(archive), 0);
    if (!result.ok()) return result.status();
    directory_->changed(result->function);
    return absl::OkStatus();
  }

  store::FunctionConfig reserving(uint32_t target) {
    store::FunctionConfig config;
    config.runtime = common::Runtime::kPython3;
    config.handler = "index.handler";
    config.reservedTarget = target;
    return config;
  }

  surge::testing::TempDir dir_;
  surge::testing::FakeClock clock_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<store::FunctionStore> store_;
  std::unique_ptr<scheduler::Scheduler> scheduler_;
  std::unique_ptr<auth::AuditLog> audit_;
  std::unique_ptr<FunctionControl> control_;
  FunctionDirectory* directory_ = nullptr; // owned by control_
  auth::Principal who_;
  surge::testing::FakeEngine* engine_ = nullptr; // owned by scheduler_
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
  auto other = control_->create(who_, {"default", "other"}, reserving(8));
  EXPECT_TRUE(other.ok()) << "its 256 MiB are free again: " << other.status();

  // A new function of the same name is a new id, and is not ignored.
  auto again = store_->createFunction("default", "promo", reserving(1));
  ASSERT_TRUE(again.ok()) << again.status();
  directory_->changed(*again);
  EXPECT_EQ(scheduledTarget("default/promo"), 1u);
}

TEST_F(FunctionDirectoryTest, AStoreWriteElsewhereCompletesWhileAReservationChangeWaitsForTheScheduler) {
  auto shop = control_->create(who_, {"default", "shop"}, reserving(1));
  ASSERT_TRUE(shop.ok()) << shop.status();

  // Stall the scheduler's loop, so that the raise below waits for its budget check.
  std::promise<void> release;
  std::promise<void> stalled;
  scheduler_->status("default/shop", [&](scheduler::FunctionStatus) {
    stalled.set_value();
    release.get_future().wait();
  });
  ASSERT_EQ(stalled.get_future().wait_for(10s), std::future_status::ready);
  auto raise = std::async(std::launch::async, [&] {
    return control_->updateConfig(
        who_, {"default", "shop"}, 0,
        [](store::FunctionConfig& config) {
          config.reservedTarget = 4;
          return absl::OkStatus();
        },
        "fields=test");
  });
  ASSERT_EQ(raise.wait_for(100ms), std::future_status::timeout) << "the raise must be waiting for the scheduler";

  // A write in another namespace goes through meanwhile: no store lock is held by the raise.
  auto write = std::async(std::launch::async, [&] { return store_->createFunction("team-b", "api", reserving(0)); });
  const auto writeState = write.wait_for(5s);
  release.set_value();
  ASSERT_EQ(writeState, std::future_status::ready) << "the store write waited for the reservation change";
  EXPECT_TRUE(write.get().ok());

  ASSERT_EQ(raise.wait_for(10s), std::future_status::ready);
  auto raised = raise.get();
  ASSERT_TRUE(raised.ok()) << raised.status();
  EXPECT_EQ(raised->config.reservedTarget, 4u);
  EXPECT_EQ(scheduledTarget("default/shop"), 4u);
}

TEST_F(FunctionDirectoryTest, AReservationRaiseIsCheckedAgainWhenAnotherChangeCommitsFirst) {
  auto shop = control_->create(who_, {"default", "shop"}, reserving(1));
  ASSERT_TRUE(shop.ok()) << shop.status();
  // The raise's mutation runs once for the check and once in the write; between the two a
  // concurrent change (a description, here) commits, and the raise must retry, not fail.
  int calls = 0;
  auto raised = control_->updateConfig(
      who_, {"default", "shop"}, 0,
      [&](store::FunctionConfig& config) {
        if (++calls == 1) {
          auto other = store_->updateConfig("default", "shop", 0, [](store::FunctionConfig& c) {
            c.description = "flash sale";
            return absl::OkStatus();
          });
          EXPECT_TRUE(other.ok()) << other.status();
        }
        config.reservedTarget = 2;
        return absl::OkStatus();
      },
      "fields=test");
  ASSERT_TRUE(raised.ok()) << raised.status();
  EXPECT_EQ(raised->config.reservedTarget, 2u);
  EXPECT_EQ(raised->config.description, "flash sale") << "the concurrent change is kept";
  EXPECT_GE(calls, 3) << "checked again after the conflict";
}

TEST_F(FunctionDirectoryTest, ARaiseBeyondTheBudgetIsRefusedWithTheFigures) {
  ASSERT_TRUE(control_->create(who_, {"default", "shop"}, reserving(4)).ok()); // 512 of 1024 MiB
  auto tooMuch = control_->updateConfig(
      who_, {"default", "shop"}, 0,
      [](store::FunctionConfig& config) {
        config.reservedTarget = 9;
        return absl::OkStatus();
      },
      "fields=test");
  EXPECT_EQ(tooMuch.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(tooMuch.status().message()), ::testing::HasSubstr("budget is 1024 MiB"));
  auto stored = store_->getFunction("default", "shop");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->config.reservedTarget, 4u) << "nothing stored";
}

// Network-on stems cost a namespace and a helper each: the engine is told to keep them for the
// kinds that stored functions with code use, and for none once the last one goes.
TEST_F(FunctionDirectoryTest, TheEngineKeepsNetworkStemsOnlyForKindsThatStoredFunctionsUse) {
  store::FunctionConfig online = reserving(0);
  online.networkAccess = true;
  ASSERT_TRUE(control_->create(who_, {"default", "fetch"}, online).ok());
  EXPECT_TRUE(networkKinds().empty()) << "a function without code starts nothing";

  ASSERT_TRUE(uploadCode("fetch").ok());
  using Kinds = std::set<engine::NetworkSandboxKind>;
  EXPECT_EQ(networkKinds(), (Kinds{{common::Runtime::kPython3, 128}}));

  auto bigger = control_->updateConfig(
      who_, {"default", "fetch"}, 0,
      [](store::FunctionConfig& config) {
        config.memoryMb = 256;
        return absl::OkStatus();
      },
      "fields=test");
  ASSERT_TRUE(bigger.ok()) << bigger.status();
  EXPECT_EQ(networkKinds(), (Kinds{{common::Runtime::kPython3, 256}}));

  ASSERT_TRUE(control_->create(who_, {"default", "offline"}, reserving(0)).ok());
  ASSERT_TRUE(uploadCode("offline").ok());
  EXPECT_EQ(networkKinds(), (Kinds{{common::Runtime::kPython3, 256}})) << "network off adds no kind";

  auto deleted = store_->deleteFunction("default", "fetch", 0);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  directory_->deleted("default", "fetch", *deleted);
  EXPECT_TRUE(networkKinds().empty());
}

} // namespace
} // namespace surge::control
