// Pieces every surgectl command group shares: registering an action, help footers, and the
// validators whose messages say what is allowed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/context.h"

namespace surge::cli {

// Registers `command`'s action: `run` is called with the context and the command's parsed
// state once the whole command line parsed. `state` holds the values the flags are bound to.
template <typename State>
void setAction(CLI::App& command, Context& context, std::shared_ptr<State> state, int (*run)(Context&, const State&)) {
  command.callback(
      [&context, state, run] { context.setAction([&context, state, run] { return run(context, *state); }); });
}

// A command's help footer: its examples (one per line), and where the global flags are
// described.
std::string commandFooter(const std::string& examples);

// Accepts decimal digits only, from `min` to `max`. CLI11's own conversion errors ("Could not
// convert") do not say what is allowed. Runs while parsing, so a failure is a usage error.
CLI::Validator wholeNumberValidator(uint64_t min, uint64_t max);

} // namespace surge::cli
