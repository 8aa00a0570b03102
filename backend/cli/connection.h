// How surgectl reaches surged: the one place that builds channels and per-call deadlines, so
// that TLS and API keys can be added here without touching the commands.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace grpc {
class Channel;
class ClientContext;
} // namespace grpc

namespace surge::cli {

inline constexpr std::string_view kDefaultServer = "127.0.0.1:50051";
// Large enough for a full page of functions; code uploads are streamed in smaller chunks.
inline constexpr int kMaxMessageBytes = 8 << 20;
// Deadline of an ordinary RPC, and of a code upload, which streams up to hundreds of MiB.
inline constexpr std::chrono::seconds kRpcDeadline{30};
inline constexpr std::chrono::seconds kUploadDeadline{300};

struct ConnectionOptions {
  // A gRPC target, normally "HOST:PORT".
  std::string server;
};

// A channel to options.server. It connects lazily, on the first RPC, so creating one never
// fails or blocks. Plaintext for now.
std::shared_ptr<grpc::Channel> createChannel(const ConnectionOptions& options);

// A context for one RPC that must finish within `deadline` from now.
std::unique_ptr<grpc::ClientContext> newCallContext(std::chrono::seconds deadline);

} // namespace surge::cli
