// Helpers shared by the surgectl command groups.
#include "cli/command_support.h"

#include <algorithm>

#include <absl/status/status.h>
#include <absl/strings/str_cat.h>

#include "cli/output.h"
#include "common/absl_compat.h"

namespace surge::cli {
namespace {

// Nine digits of days is already far before 1970; more can only be a typo.
constexpr size_t kMaxRelativeDigits = 9;

} // namespace

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

absl::StatusOr<absl::Time> parseTimeFlag(std::string_view text, absl::Time now) {
  const size_t digits = std::min(text.find_first_not_of("0123456789"), text.size());
  if (digits > 0 && digits <= kMaxRelativeDigits && digits + 1 == text.size()) {
    const int64_t count = std::stoll(std::string(text.substr(0, digits)));
    switch (text.back()) {
    case 's': return now - absl::Seconds(count);
    case 'm': return now - absl::Minutes(count);
    case 'h': return now - absl::Hours(count);
    case 'd': return now - absl::Hours(24 * count);
    default: break;
    }
  }
  absl::Time time;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, common::toAbsl(text), &time, &error)) return time;
  return absl::InvalidArgumentError(absl::StrCat("'", common::toAbsl(text),
                                                 "' is not a time: give RFC 3339, e.g. 2026-11-28T08:00:00Z, or a "
                                                 "duration back from now: 90s, 15m, 2h or 7d"));
}

std::string timeFlagHelp(const char* what) {
  return absl::StrCat(what, ": RFC 3339 (2026-11-28T08:00:00Z) or a duration back from now (90s, 15m, 2h, 7d)");
}

CLI::Validator timeFlagValidator() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        auto time = parseTimeFlag(value, absl::Now());
        return time.ok() ? std::string() : std::string(time.status().message());
      },
      "", "time");
}

int printJsonLineOrFail(Context& context, const google::protobuf::Message& message) {
  if (auto status = printJsonLine(context.out(), message); !status.ok()) {
    context.err() << "error: " << status.message() << '\n';
    return kExitRpcError;
  }
  return kExitOk;
}

} // namespace surge::cli
