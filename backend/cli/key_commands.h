// The "surgectl key ..." command group: create, list and revoke API keys, over AdminService.
#pragma once

namespace CLI {
class App;
} // namespace CLI

namespace surge::cli {

class Context;

// Adds the "key" group to `app`. Each command's action is stored in `context` when the command
// is parsed; `context` must outlive the parse and the action.
void registerKeyCommands(CLI::App& app, Context& context);

} // namespace surge::cli
