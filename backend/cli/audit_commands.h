// The "surgectl audit" command: reads the audit trail of changes, over AdminService.
#pragma once

namespace CLI {
class App;
} // namespace CLI

namespace surge::cli {

class Context;

// Adds the "audit" command to `app`. Its action is stored in `context` when the command is
// parsed; `context` must outlive the parse and the action.
void registerAuditCommands(CLI::App& app, Context& context);

} // namespace surge::cli
