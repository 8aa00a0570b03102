// Shared state of one surgectl run and its error reporting.
#include "cli/context.h"

#include <google/protobuf/message.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

namespace surge::cli {

Context::Context(std::ostream& out, std::ostream& err) : out_(out), err_(err) {}

Context::~Context() = default;

void Context::setCredentials(ResolvedKey apiKey, std::optional<TlsCredentials> tls) {
  apiKey_ = std::move(apiKey);
  tls_ = std::move(tls);
}

std::shared_ptr<grpc::Channel> Context::channel() {
  if (!channel_) channel_ = createChannel(ConnectionOptions{options_.server, tls_});
  return channel_;
}

std::unique_ptr<grpc::ClientContext> Context::newCall(std::chrono::seconds deadline) {
  return newCallContext(deadline, apiKey_.token);
}

std::unique_ptr<grpc::ClientContext> Context::newStreamCall() {
  auto call = newCall();
  // gRPC reads the time_point's maximum as "no deadline".
  call->set_deadline(std::chrono::system_clock::time_point::max());
  return call;
}

int Context::rpcError(const grpc::Status& status) {
  err_ << "error: " << statusCodeName(status.error_code()) << ": " << status.error_message() << '\n';
  // UNAVAILABLE also comes from a reachable server that is, say, shutting down; only a channel
  // that never got ready means the address is wrong or surged is not running.
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
      (!channel_ || channel_->GetState(false) != GRPC_CHANNEL_READY)) {
    if (tls_) {
      err_ << "hint: could not reach surged at " << options_.server
           << " over TLS. Is it running (choose the address with --server HOST:PORT or SURGE_SERVER)? Does "
              "--tls-ca sign its certificate, and does that name the host you connect to (else give "
              "--tls-server-name)? Does it want a client certificate (--tls-cert, --tls-key)?\n";
    } else {
      err_ << "hint: could not reach surged at " << options_.server
           << "; is it running? Choose the address with --server HOST:PORT or SURGE_SERVER. If surged "
              "serves TLS, give --tls-ca.\n";
    }
  }
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    if (apiKey_.token.empty()) {
      err_ << "hint: no API key was found; surgectl looked at " << apiKey_.searched
           << ". Give one with --key-file PATH or SURGE_API_KEY, or point SURGE_DATA_DIR at surged's data dir.\n";
    } else {
      err_ << "hint: the server refused the API key from " << apiKey_.source << "; it may be revoked or mistyped.\n";
    }
  }
  return kExitRpcError;
}

int Context::usageError(std::string_view message) {
  err_ << "error: " << message << '\n';
  return kExitUsage;
}

int Context::usageError(const absl::Status& status) { return usageError(std::string(status.message())); }

int Context::print(const google::protobuf::Message& message, const std::function<void(std::ostream&)>& printTable) {
  if (options_.output == OutputFormat::kJson) {
    if (auto status = printJson(out_, message); !status.ok()) {
      err_ << "error: " << status.message() << '\n';
      return kExitRpcError;
    }
  } else {
    printTable(out_);
  }
  return kExitOk;
}

std::string_view statusCodeName(int code) {
  switch (static_cast<grpc::StatusCode>(code)) {
  case grpc::StatusCode::OK: return "OK";
  case grpc::StatusCode::CANCELLED: return "CANCELLED";
  case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
  case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
  case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
  case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
  case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
  case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
  case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
  case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
  case grpc::StatusCode::ABORTED: return "ABORTED";
  case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
  case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
  case grpc::StatusCode::INTERNAL: return "INTERNAL";
  case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
  case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
  case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
  default: return "UNKNOWN";
  }
}

} // namespace surge::cli
