// "surgectl invoke NAME": sends the payload, prints the function's result bytes on stdout as
// they are, and the function's error (with its trace) on stderr. -v adds where and how long,
// --log what the invocation printed.
#include "cli/invoke_command.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "cli/command_support.h"
#include "cli/context.h"
#include "cli/local_file.h"
#include "cli/output.h"
#include "common/absl_compat.h"
#include "common/names.h"
#include "surge/v1/invoke.grpc.pb.h"

namespace surge::cli {
namespace {

namespace v1 = surge::v1;

// The API's payload limit, so that a file that is too big fails before it is sent.
constexpr size_t kMaxPayloadBytes = 6u << 20;

struct InvokeState {
  std::string name;
  std::optional<std::string> data;
  std::optional<std::string> dataFile;
  int64_t version = 0;
  uint64_t timeoutSeconds = 960;
  bool verbose = false;
  bool logTail = false;
};

std::string millis(int64_t micros) { return absl::StrFormat("%.3f ms", static_cast<double>(micros) / 1000.0); }

void printTimings(std::ostream& out, const v1::InvokeResponse& response) {
  KeyValueBlock block;
  block.add("request", response.request_id());
  block.add("instance", absl::StrCat(response.instance_id(), " (",
                                     common::toAbsl(instanceKindName(response.instance_kind())), ")"));
  block.add("version", absl::StrCat(response.version()));
  block.add("cold start", response.cold_start() ? "yes" : "no");
  block.add("queue wait", millis(response.queue_wait_us()));
  block.add("execution", millis(response.execution_us()));
  block.add("billed", absl::StrCat(response.billed_ms(), " ms"));
  block.print(out);
}

int runInvoke(Context& context, const InvokeState& state) {
  if (auto status = common::validateName("function name", state.name); !status.ok()) {
    return context.usageError(status);
  }
  v1::InvokeRequest request;
  request.set_namespace_(context.options().ns);
  request.set_function(state.name);
  request.set_version(state.version);
  request.set_log_tail(state.logTail);
  if (state.dataFile) {
    auto payload = readSmallFile(*state.dataFile, "--data-file", kMaxPayloadBytes);
    if (!payload.ok()) return context.usageError(payload.status());
    request.set_payload(std::move(*payload));
  } else if (state.data) {
    request.set_payload(*state.data);
  }
  auto stub = v1::InvokeService::NewStub(context.channel());
  v1::InvokeResponse response;
  auto call = context.newCall(std::chrono::seconds(state.timeoutSeconds));
  if (auto status = stub->Invoke(call.get(), request, &response); !status.ok()) return context.rpcError(status);

  if (context.options().output == OutputFormat::kJson) {
    const int printed = context.print(response, {});
    return printed != kExitOk ? printed : (response.has_error() ? kExitRpcError : kExitOk);
  }
  // What the function printed comes before its result or error, as it did when it ran; on
  // stderr, so that stdout stays exactly the function's result.
  const std::string& logTail = response.log_tail();
  context.err() << logTail << (logTail.empty() || logTail.back() == '\n' ? "" : "\n");
  if (response.has_error()) {
    context.err() << "error: the function failed: " << response.error().type() << ": " << response.error().message()
                  << '\n';
    if (!response.error().trace().empty()) {
      context.err() << response.error().trace() << (response.error().trace().back() == '\n' ? "" : "\n");
    }
  } else {
    context.out() << response.result();
    context.out().flush();
  }
  // Timings go to stderr, so that stdout stays exactly the function's result.
  if (state.verbose) printTimings(context.err(), response);
  return response.has_error() ? kExitRpcError : kExitOk;
}

} // namespace

void registerInvokeCommand(CLI::App& app, Context& context) {
  CLI::App* command = app.add_subcommand("invoke", "Run a function once and print its result");
  auto state = std::make_shared<InvokeState>();
  command->add_option("name", state->name, "The function's name")->required()->type_name("NAME");
  auto* data = command->add_option("-d,--data", state->data, "The payload, as given")->type_name("TEXT");
  command
      ->add_option("--data-file", state->dataFile,
                   "Read the payload from this file (at most 6 MiB; /dev/stdin reads standard input)")
      ->type_name("FILE")
      ->excludes(data);
  command->add_option("--version", state->version, "Run this retained version instead of the active one")
      ->type_name("N")
      ->check(wholeNumberValidator(1, INT64_MAX));
  command->add_option("--timeout", state->timeoutSeconds, "Give up after this many seconds (queue wait included)")
      ->type_name("SECONDS")
      ->check(wholeNumberValidator(1, 86400));
  command->add_flag("-v,--verbose", state->verbose,
                    "Also print the request id, the instance, cold start and timings (on stderr)");
  command->add_flag("--log", state->logTail,
                    "Also print the last 4 KiB of what the invocation printed (on stderr; -o json: logTail)");
  command->footer(commandFooter("surgectl invoke hello\n"
                                "  surgectl invoke hello --data '{\"name\": \"Ada\"}' -v\n"
                                "  surgectl invoke hello --log\n"
                                "  surgectl invoke resize --data-file photo.jpg > small.jpg\n"
                                "  surgectl -o json invoke hello"));
  setAction(*command, context, state, &runInvoke);
}

} // namespace surge::cli
