// The role table and the scope rules of a principal, as pure logic.
#include "auth/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace surge::auth {
namespace {

Principal principal(Role role, std::vector<std::string> namespaces = {}, std::vector<std::string> functions = {}) {
  return Principal{"id", std::string("key-") + std::string(roleName(role)), role, std::move(functions),
                   std::move(namespaces)};
}

TEST(Policy, RolesAllowExactlyTheirOperations) {
  using O = Operation;
  const std::vector<O> all = {O::kReadFunctions, O::kWriteFunctions, O::kInvoke,     O::kReadScaling, O::kWriteScaling,
                              O::kReadMetrics,   O::kReadLogs,       O::kManageKeys, O::kReadAudit,   O::kReflect};
  const std::map<Role, std::set<O>> allowed = {
      {Role::kAdmin, {all.begin(), all.end()}},
      {Role::kDeveloper,
       {O::kReadFunctions, O::kWriteFunctions, O::kInvoke, O::kReadScaling, O::kWriteScaling, O::kReadMetrics,
        O::kReadLogs, O::kReflect}},
      {Role::kInvoker, {O::kInvoke, O::kReflect}},
      {Role::kViewer, {O::kReadFunctions, O::kReadScaling, O::kReadMetrics, O::kReadLogs, O::kReflect}},
  };
  for (const auto& [role, operations] : allowed) {
    for (O operation : all) {
      const absl::Status status = checkRole(principal(role), operation);
      if (operations.contains(operation)) {
        EXPECT_TRUE(status.ok()) << roleName(role) << " " << operationDescription(operation);
      } else {
        EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << roleName(role);
      }
    }
  }
}

TEST(Policy, RefusalNamesTheKeyTheRoleAndTheOperation) {
  const absl::Status status = checkRole(principal(Role::kViewer), Operation::kWriteFunctions);
  EXPECT_EQ(status.message(), "key 'key-viewer' has role viewer, which may not change functions or their code");
}

TEST(Principal, NamespaceScopes) {
  const Principal unscoped = principal(Role::kDeveloper);
  EXPECT_TRUE(unscoped.seesNamespace("anything"));
  EXPECT_TRUE(unscoped.coversNamespaces({}));
  const Principal shop = principal(Role::kAdmin, {"shop", "shop-eu"});
  EXPECT_TRUE(shop.seesNamespace("shop-eu"));
  EXPECT_FALSE(shop.seesNamespace("bank"));
  EXPECT_TRUE(shop.coversNamespaces({"shop"}));
  EXPECT_FALSE(shop.coversNamespaces({"shop", "bank"}));
  EXPECT_FALSE(shop.coversNamespaces({})) << "an unscoped key reaches beyond a scoped admin";
}

TEST(Principal, InvokerFunctionList) {
  EXPECT_TRUE(principal(Role::kInvoker).mayInvoke("any"));
  const Principal cart = principal(Role::kInvoker, {}, {"cart", "checkout"});
  EXPECT_TRUE(cart.mayInvoke("checkout"));
  EXPECT_FALSE(cart.mayInvoke("ledger"));
}

TEST(Roles, NamesRoundTrip) {
  for (Role role : {Role::kAdmin, Role::kDeveloper, Role::kInvoker, Role::kViewer}) {
    EXPECT_EQ(parseRole(roleName(role)), role);
  }
  EXPECT_EQ(parseRole("root"), std::nullopt);
}

} // namespace
} // namespace surge::auth
