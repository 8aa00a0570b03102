// The naming rule shared by functions, namespaces and keys: ^[a-z][a-z0-9-]{0,62}$.
#pragma once

#include <absl/status/status.h>

#include <string_view>

namespace surge::common {

inline constexpr std::string_view kDefaultNamespace = "default";

bool isValidName(std::string_view name);

// INVALID_ARGUMENT naming `what` (e.g. "function name") and the rule, or OK.
absl::Status validateName(std::string_view what, std::string_view name);

} // namespace surge::common
