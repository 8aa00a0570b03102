// How surgectl reaches surged: the one place that builds channels and call contexts, so that
// TLS and the API key are handled here and never by the commands.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <absl/status/statusor.h>

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

// The TLS flags as given (--tls-ca, --tls-cert, --tls-key, --tls-server-name, or their
// SURGE_TLS_* variables); empty strings for those not given.
struct TlsFlags {
  std::string caPath;
  std::string certPath;
  std::string keyPath;
  std::string serverName;
};

// What a TLS channel needs, read from the files named by TlsFlags.
struct TlsCredentials {
  // PEM root certificates to verify the server with; empty: the system's default roots.
  std::string rootCerts;
  // PEM client certificate chain and its private key, for mutual TLS; both empty or both set.
  std::string certChain;
  std::string privateKey;
  // The name the server certificate must carry instead of the target's host; empty: the host.
  std::string serverName;
};

struct ConnectionOptions {
  // A gRPC target, normally "HOST:PORT".
  std::string server;
  // nullopt: plaintext.
  std::optional<TlsCredentials> tls;
};

// Reads the PEM files named in `flags`. nullopt if neither --tls-ca nor a client certificate is
// given, i.e. plaintext. INVALID_ARGUMENT, naming the flag and the path, for a file that cannot
// be read or holds no PEM block of the expected kind, for --tls-cert without --tls-key or the
// reverse, and for --tls-server-name without TLS. Every error is a usage error.
absl::StatusOr<std::optional<TlsCredentials>> loadTlsCredentials(const TlsFlags& flags);

// A channel to options.server, over TLS if options.tls is set. It connects lazily, on the first
// RPC, so creating one never fails or blocks; a TLS handshake failure shows as UNAVAILABLE.
std::shared_ptr<grpc::Channel> createChannel(const ConnectionOptions& options);

// A context for one RPC that must finish within `deadline` from now, carrying the metadata
// "authorization: Bearer <apiKey>" unless `apiKey` is empty.
std::unique_ptr<grpc::ClientContext> newCallContext(std::chrono::seconds deadline, std::string_view apiKey);

} // namespace surge::cli
