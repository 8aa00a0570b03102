// Debian's Abseil is built with its own absl::string_view (ABSL_OPTION_USE_STD_STRING_VIEW 0),
// which std::string_view does not convert to; absl::StrCat and friends need this bridge.
#pragma once

#include <absl/strings/string_view.h>

#include <string_view>

namespace surge::common {

inline absl::string_view toAbsl(std::string_view view) { return {view.data(), view.size()}; }

} // namespace surge::common
