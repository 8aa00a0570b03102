// Who is calling: the API key behind a call, its role and the scopes it is limited to.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace surge::auth {

enum class Role { kAdmin, kDeveloper, kInvoker, kViewer };

// "admin", "developer", "invoker", "viewer".
std::string_view roleName(Role role);
std::optional<Role> parseRole(std::string_view name);

// Immutable once built; shared by every call the key makes.
struct Principal {
  std::string keyId;
  std::string keyName;
  Role role = Role::kViewer;
  // For invokers: the only functions they may invoke. Empty: every function in scope.
  std::vector<std::string> functions;
  // The namespaces the key may see. Empty: all.
  std::vector<std::string> namespaces;

  // Whether functions in `ns` exist for this key at all.
  bool seesNamespace(std::string_view ns) const;
  // Whether the function list (invokers) allows `function`.
  bool mayInvoke(std::string_view function) const;
  // Whether every namespace of `inner` lies within this key's scope (for keys this key manages).
  bool coversNamespaces(const std::vector<std::string>& inner) const;
};

} // namespace surge::auth
