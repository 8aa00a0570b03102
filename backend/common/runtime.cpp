#include "common/runtime.h"

namespace surge::common {

std::string_view runtimeName(Runtime runtime) {
  switch (runtime) {
  case Runtime::kPython3: return "python3";
  case Runtime::kNodejs: return "nodejs";
  case Runtime::kCustom: return "custom";
  }
  return "unknown";
}

std::optional<Runtime> parseRuntime(std::string_view name) {
  if (name == "python3") return Runtime::kPython3;
  if (name == "nodejs") return Runtime::kNodejs;
  if (name == "custom") return Runtime::kCustom;
  return std::nullopt;
}

} // namespace surge::common
