// Pieces every surgectl command group shares: registering an action, help footers, and the
// validators whose messages say what is allowed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <absl/status/statusor.h>
#include <absl/time/time.h>
#include <google/protobuf/message.h>

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

// The time a flag such as --since or --until names: RFC 3339 (e.g. "2026-11-28T08:00:00Z", any
// offset, optional fraction) or a whole number of seconds, minutes, hours or days back from `now`
// ("90s", "15m", "2h", "7d"). INVALID_ARGUMENT, with an example of each form, for anything else.
absl::StatusOr<absl::Time> parseTimeFlag(std::string_view text, absl::Time now);
// A time flag's help: `what` it selects, then the forms parseTimeFlag() reads.
std::string timeFlagHelp(const char* what);
// Accepts what parseTimeFlag() accepts, so that a bad time is a usage error while parsing.
CLI::Validator timeFlagValidator();

// Fetches the pages of a paged list call in order and hands each to `onPage`, which returns
// whether to fetch the next one. `call(context, request, page)` makes one RPC. Returns kExitOk
// after the last page or when `onPage` says stop, or the exit code after reporting the failure
// (an RPC error, or a server that hands back the same page token twice).
template <typename Response, typename Request, typename Call, typename OnPage>
int fetchPages(Context& context, Request request, Call call, OnPage onPage) {
  for (;;) {
    Response page;
    auto rpc = context.newCall();
    if (auto status = call(rpc.get(), request, &page); !status.ok()) return context.rpcError(status);
    const std::string token = page.next_page_token();
    if (!onPage(page) || token.empty()) return kExitOk;
    // A token that does not move would page forever.
    if (token == request.page_token()) {
      context.err() << "error: the server returned the same page token twice; giving up\n";
      return kExitRpcError;
    }
    request.set_page_token(token);
  }
}

// Fetches every page of a paged list call into `all`, one response whose repeated fields hold
// every item and whose next_page_token is empty, so that JSON output is a single object.
// Returns as fetchPages() does.
template <typename Request, typename Response, typename Call>
int fetchAllPages(Context& context, Request request, Response& all, Call call) {
  const int fetched = fetchPages<Response>(context, std::move(request), call, [&all](const Response& page) {
    all.MergeFrom(page); // appends the repeated fields
    return true;
  });
  all.clear_next_page_token();
  return fetched;
}

// printJsonLine() to the context's stdout, for commands that print a stream of objects. Returns
// kExitOk, or kExitRpcError after reporting a message that JSON cannot show.
int printJsonLineOrFail(Context& context, const google::protobuf::Message& message);

} // namespace surge::cli
