// What every surgectl command shares: the global flags, the output streams, the connection to
// surged, and the rules that turn results and errors into output and exit codes.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include <absl/status/status.h>

#include "cli/connection.h"
#include "cli/output.h"
#include "common/names.h"

namespace grpc {
class Channel;
class ClientContext;
class Status;
} // namespace grpc

namespace surge::cli {

inline constexpr int kExitOk = 0;
// The server refused the request, or could not be reached.
inline constexpr int kExitRpcError = 1;
// The command line or a local input (e.g. the --code path) is wrong; nothing was sent.
inline constexpr int kExitUsage = 2;

struct GlobalOptions {
  std::string server{kDefaultServer};
  std::string ns{common::kDefaultNamespace};
  OutputFormat output = OutputFormat::kTable;
};

// A command's work, chosen while parsing and run once the whole command line is known; it
// returns the process exit code.
using Action = std::function<int()>;

// One per run of surgectl. Not thread-safe.
class Context {
public:
  Context(std::ostream& out, std::ostream& err);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  GlobalOptions& options() { return options_; }
  const GlobalOptions& options() const { return options_; }
  std::ostream& out() const { return out_; }
  std::ostream& err() const { return err_; }

  // The channel to options().server, created on first use so that --help and usage errors
  // never touch the network.
  std::shared_ptr<grpc::Channel> channel();
  // A context for one RPC with the given deadline. Every call goes through here, so that
  // per-call credentials have one place to be added.
  std::unique_ptr<grpc::ClientContext> newCall(std::chrono::seconds deadline = kRpcDeadline);

  // Prints "error: CODE_NAME: message" and, when the server could not be reached, a hint naming
  // the address. Returns kExitRpcError.
  int rpcError(const grpc::Status& status);
  // Prints "error: message". Returns kExitUsage.
  int usageError(std::string_view message);
  // As usageError() for a local failure such as an unreadable --code path.
  int usageError(const absl::Status& status);
  // Prints `message` as JSON in JSON mode, or calls `printTable` otherwise. Returns the exit
  // code: kExitOk, or kExitRpcError if the response cannot be shown as JSON.
  int print(const google::protobuf::Message& message, const std::function<void(std::ostream&)>& printTable);

  void setAction(Action action) { action_ = std::move(action); }
  const Action& action() const { return action_; }

private:
  std::ostream& out_;
  std::ostream& err_;
  GlobalOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  Action action_;
};

// "NOT_FOUND", "INVALID_ARGUMENT", ... as gRPC names its status codes.
std::string_view statusCodeName(int code);

} // namespace surge::cli
