// A function's name within its namespace, and its one written form "namespace/name", which the
// scheduler, the audit trail and messages use as the function's key.
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>

namespace surge::common {

struct FunctionRef {
  std::string ns;
  std::string name;

  // "namespace/name".
  std::string key() const;
  // The reference a key() names; nullopt when `key` has no '/' or an empty part.
  static std::optional<FunctionRef> parse(std::string_view key);

  auto operator<=>(const FunctionRef&) const = default;
};

} // namespace surge::common
