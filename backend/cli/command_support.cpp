// Helpers shared by the surgectl command groups.
#include "cli/command_support.h"

#include <algorithm>

#include <absl/strings/str_cat.h>

namespace surge::cli {

std::string commandFooter(const std::string& examples) {
  return absl::StrCat(examples.find('\n') == std::string::npos ? "Example:\n  " : "Examples:\n  ", examples,
                      "\n\nGlobal flags (--server, --key, -o, ...) may come before or after the "
                      "command; see 'surgectl --help'.");
}

CLI::Validator wholeNumberValidator(uint64_t min, uint64_t max) {
  return CLI::Validator(
      [min, max](std::string& value) -> std::string {
        uint64_t number = 0;
        const bool digits = !value.empty() && value.size() <= 19 &&
                            std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (digits) number = std::stoull(value);
        if (digits && number >= min && number <= max) return {};
        return absl::StrCat("'", value, "' is not a whole number from ", min, " to ", max);
      },
      "", "whole-number");
}

} // namespace surge::cli
