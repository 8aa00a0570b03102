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

// Fetches every page of a paged list call into `all`, one response whose repeated fields hold
// every item and whose next_page_token is empty, so that JSON output is a single object.
// `call(context, request, page)` makes one RPC. Returns kExitOk, or the exit code after reporting
// the failure (an RPC error, or a server that hands back the same page token twice).
template <typename Request, typename Response, typename Call>
int fetchAllPages(Context& context, Request request, Response& all, Call call) {
  for (;;) {
    Response page;
    auto rpc = context.newCall();
    if (auto status = call(rpc.get(), request, &page); !status.ok()) return context.rpcError(status);
    const std::string token = page.next_page_token();
    all.MergeFrom(page); // appends the repeated fields
    if (token.empty()) break;
    // A token that does not move would page forever.
    if (token == request.page_token()) {
      context.err() << "error: the server returned the same page token twice; giving up\n";
      return kExitRpcError;
    }
    request.set_page_token(token);
  }
  all.clear_next_page_token();
  return kExitOk;
}

} // namespace surge::cli
