// What every surgectl command shares: the global flags, the output streams, the connection to
// surged, and the rules that turn results and errors into output and exit codes.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include <absl/status/status.h>

#include "cli/api_key.h"
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
// The server refused the request (UNAUTHENTICATED and PERMISSION_DENIED included), or could not
// be reached.
inline constexpr int kExitRpcError = 1;
// The command line or a local input (e.g. the --code path) is wrong; nothing was sent.
inline constexpr int kExitUsage = 2;

struct GlobalOptions {
  std::string server{kDefaultServer};
  std::string ns{common::kDefaultNamespace};
  OutputFormat output = OutputFormat::kTable;
  TlsFlags tls;
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

  // Set once the global flags are checked, before any command runs: the API key every call
  // carries (its token may be empty) and the TLS material (nullopt: plaintext).
  void setCredentials(ResolvedKey apiKey, std::optional<TlsCredentials> tls);
  const ResolvedKey& apiKey() const { return apiKey_; }

  // The channel to options().server, created on first use so that --help and usage errors
  // never touch the network.
  std::shared_ptr<grpc::Channel> channel();
  // A context for one RPC with the given deadline, carrying the API key. Every call goes
  // through here.
  std::unique_ptr<grpc::ClientContext> newCall(std::chrono::seconds deadline = kRpcDeadline);
  // As newCall() without a deadline, for a stream that runs until the user stops it (Ctrl-C).
  std::unique_ptr<grpc::ClientContext> newStreamCall();

  // Prints "error: CODE_NAME: message" and a hint for what the user can check: the address
  // (and TLS) when the server could not be reached, where the key came from or was looked for
  // on UNAUTHENTICATED. Returns kExitRpcError.
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
  ResolvedKey apiKey_;
  std::optional<TlsCredentials> tls_;
  std::shared_ptr<grpc::Channel> channel_;
  Action action_;
};

// "NOT_FOUND", "INVALID_ARGUMENT", ... as gRPC names its status codes.
std::string_view statusCodeName(int code);

} // namespace surge::cli
