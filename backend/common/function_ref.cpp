#include "common/function_ref.h"

namespace surge::common {

std::string FunctionRef::key() const {
  std::string key;
  key.reserve(ns.size() + 1 + name.size());
  key.append(ns).append("/").append(name);
  return key;
}

std::optional<FunctionRef> FunctionRef::parse(std::string_view key) {
  const size_t slash = key.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == key.size()) return std::nullopt;
  if (key.find('/', slash + 1) != std::string_view::npos) return std::nullopt;
  return FunctionRef{std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

} // namespace surge::common
