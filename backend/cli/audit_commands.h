// The "surgectl audit" command: reads the audit trail of changes, over AdminService.
#pragma once

#include <string_view>

#include <absl/status/statusor.h>
#include <absl/time/time.h>

namespace CLI {
class App;
} // namespace CLI

namespace surge::cli {

class Context;

// Adds the "audit" command to `app`. Its action is stored in `context` when the command is
// parsed; `context` must outlive the parse and the action.
void registerAuditCommands(CLI::App& app, Context& context);

// The time --since names: RFC 3339 (e.g. "2026-11-28T08:00:00Z", any offset, optional fraction)
// or a whole number of seconds, minutes, hours or days back from `now` ("90s", "15m", "2h",
// "7d"). INVALID_ARGUMENT, with an example of each form, for anything else.
absl::StatusOr<absl::Time> parseSince(std::string_view text, absl::Time now);

} // namespace surge::cli
