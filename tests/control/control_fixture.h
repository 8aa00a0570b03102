// A real store (SQLite in a temp dir), a real Scheduler driving the FakeEngine, and the control
// layer over them as surged wires it: FunctionControl, its directory, and the reservation windows.
#pragma once

#include "auth/audit_log.h"
#include "auth/principal.h"
#include "common/function_ref.h"
#include "common/sha256.h"
#include "control/function_control.h"
#include "control/reservation_admission.h"
#include "control/reservation_control.h"
#include "control/window_driver.h"
#include "scheduler/scheduler.h"
#include "store/database.h"
#include "store/function_store.h"
#include "store/reservation_windows.h"
#include "support/fake_clock.h"
#include "support/fake_engine.h"
#include "support/temp_dir.h"
#include "support/zip_builder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>

namespace surge::control {

using namespace std::chrono_literals;

class ControlFixture : public ::testing::Test {
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
        clock_, scheduler::SchedulerOptions{.memoryBudgetMb = limits_.memoryBudgetMb});
    ASSERT_TRUE(scheduler.ok()) << scheduler.status();
    scheduler_ = std::move(*scheduler);
    audit_ = std::make_unique<auth::AuditLog>(*db_, clock_);
    windowStore_ = std::make_unique<store::ReservationWindows>(*db_);
    admission_ = std::make_unique<ReservationAdmission>(*store_, *windowStore_, limits_);
    // As in surged: the driver hands targets to the scheduler with the directory's definition.
    driver_ = std::make_unique<WindowDriver>(clock_, [this](const std::string& key, scheduler::ScheduledTarget target) {
      auto ref = common::FunctionRef::parse(key);
      auto definition = directory_->load(ref->ns, ref->name);
      if (definition.ok()) scheduler_->setScheduledTarget(*definition, target);
    });
    control_ = std::make_unique<FunctionControl>(*store_, *scheduler_, *audit_, *admission_, *driver_, clock_);
    directory_ = &control_->directory();
    reservations_ = std::make_unique<ReservationControl>(*store_, *windowStore_, *admission_, *driver_, *scheduler_,
                                                         *audit_, clock_);
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
  ReservationLimits limits_{.memoryBudgetMb = 1024, .warmUp = {}};
  std::unique_ptr<store::ReservationWindows> windowStore_;
  std::unique_ptr<ReservationAdmission> admission_;
  std::unique_ptr<WindowDriver> driver_; // driven by hand (applyAt): no thread in these tests
  std::unique_ptr<FunctionControl> control_;
  std::unique_ptr<ReservationControl> reservations_;
  FunctionDirectory* directory_ = nullptr; // owned by control_
  auth::Principal who_;
  surge::testing::FakeEngine* engine_ = nullptr; // owned by scheduler_
};

} // namespace surge::control
