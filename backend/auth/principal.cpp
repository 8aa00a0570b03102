// Who is calling, and which namespaces and functions their key reaches.
#include "auth/principal.h"

#include <algorithm>

namespace surge::auth {
namespace {

bool contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

} // namespace

std::string_view roleName(Role role) {
  switch (role) {
  case Role::kAdmin: return "admin";
  case Role::kDeveloper: return "developer";
  case Role::kInvoker: return "invoker";
  case Role::kViewer: return "viewer";
  }
  return "unknown";
}

std::optional<Role> parseRole(std::string_view name) {
  if (name == "admin") return Role::kAdmin;
  if (name == "developer") return Role::kDeveloper;
  if (name == "invoker") return Role::kInvoker;
  if (name == "viewer") return Role::kViewer;
  return std::nullopt;
}

bool Principal::seesNamespace(std::string_view ns) const { return namespaces.empty() || contains(namespaces, ns); }

bool Principal::mayInvoke(std::string_view function) const {
  return functions.empty() || contains(functions, function);
}

bool Principal::coversNamespaces(const std::vector<std::string>& inner) const {
  if (namespaces.empty()) return true;
  if (inner.empty()) return false; // an unscoped key would reach beyond this key's scope
  return std::all_of(inner.begin(), inner.end(), [&](const std::string& ns) { return contains(namespaces, ns); });
}

} // namespace surge::auth
