// Crash-test failpoints, armed by the SURGE_FAILPOINT environment variable.
#include "common/failpoint.h"

#include <csignal>
#include <cstdlib>
#include <string>

namespace surge::common {

void failpoint(std::string_view name) {
  static const std::string armed = [] {
    const char* value = std::getenv("SURGE_FAILPOINT");
    return std::string(value ? value : "");
  }();
  if (!armed.empty() && armed == name) std::raise(SIGKILL);
}

} // namespace surge::common
