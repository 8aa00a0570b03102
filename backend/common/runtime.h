// The language runtimes a function may use. Shared by the store, the Engine interface and the
// API, none of which needs the others for it.
#pragma once

#include <optional>
#include <string_view>

namespace surge::common {

enum class Runtime { kPython3, kNodejs, kCustom };

// "python3", "nodejs", "custom".
std::string_view runtimeName(Runtime runtime);
std::optional<Runtime> parseRuntime(std::string_view name);

} // namespace surge::common
