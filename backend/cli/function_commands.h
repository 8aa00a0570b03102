// The "surgectl function ..." command group: create, update, deploy, get, list, versions,
// rollback and delete, over FunctionService.
#pragma once

namespace CLI {
class App;
} // namespace CLI

namespace surge::cli {

class Context;

// Adds the "function" group to `app`. Each command's action is stored in `context` when the
// command is parsed and reads the global options from it when run; `context` must outlive
// the parse and the action.
void registerFunctionCommands(CLI::App& app, Context& context);

} // namespace surge::cli
