// The naming rule shared by functions, namespaces and keys.
#include "common/names.h"

#include "common/absl_compat.h"

#include <absl/strings/str_cat.h>

namespace surge::common {

bool isValidName(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (name[0] < 'a' || name[0] > 'z') return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

absl::Status validateName(std::string_view what, std::string_view name) {
  if (isValidName(name)) return absl::OkStatus();
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat(toAbsl(what), " is required"));
  return absl::InvalidArgumentError(
      absl::StrCat(toAbsl(what), " '", toAbsl(name),
                   "' is not allowed: use 1-63 characters, lowercase letters, digits and '-', "
                   "starting with a letter"));
}

} // namespace surge::common
