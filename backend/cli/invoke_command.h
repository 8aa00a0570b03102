// The "surgectl invoke" command: runs a function once over InvokeService.
#pragma once

namespace CLI {
class App;
} // namespace CLI

namespace surge::cli {

class Context;

// Adds "invoke" to `app`; `context` must outlive the parse and the action.
void registerInvokeCommand(CLI::App& app, Context& context);

} // namespace surge::cli
