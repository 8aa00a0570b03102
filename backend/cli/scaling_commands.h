// The "surgectl reserve" and "surgectl status" commands, over ScalingService.
#pragma once

namespace CLI {
class App;
} // namespace CLI

namespace surge::cli {

class Context;

// Adds "reserve" (set, add, list, remove) and "status" to `app`; `context` must outlive the parse and the action.
void registerScalingCommands(CLI::App& app, Context& context);

} // namespace surge::cli
