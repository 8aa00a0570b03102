// Crash-test failpoints: named places where surged can be made to die on purpose.
//
// Crash-safety tests start surged with SURGE_FAILPOINT=<name>; when execution reaches the
// failpoint of that name the process kills itself with SIGKILL, exactly as a power cut or the
// OOM killer would. With the variable unset a failpoint costs one cached comparison.
#pragma once

#include <string_view>

namespace surge::common {

void failpoint(std::string_view name);

} // namespace surge::common
