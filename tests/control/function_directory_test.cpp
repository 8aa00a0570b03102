// FunctionControl and its FunctionDirectory against a real store (SQLite in a temp dir) and a real Scheduler driving
// the FakeEngine: what reaches the scheduler's loop, in which order.
#include "control/function_control.h"

#include "control/control_fixture.h"
#include "store/function_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>

namespace surge::control {
namespace {

class FunctionDirectoryTest : public ControlFixture {};

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
