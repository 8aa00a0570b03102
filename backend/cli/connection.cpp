// Channel and call-context creation for surgectl: plaintext or TLS, and the bearer token.
#include "cli/connection.h"

#include <cstdlib>
#include <iostream>

#include <absl/status/status.h>
#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "cli/local_file.h"
#include "common/absl_compat.h"

namespace surge::cli {
namespace {

using common::toAbsl;

// Certificate bundles can be large (a system CA bundle is ~200 KiB); anything beyond this is
// the wrong file.
constexpr size_t kMaxPemBytes = 4 << 20;

// Reads a PEM file and checks that it holds a block whose BEGIN line contains `kind`, so that a
// wrong file is reported here and not as an opaque handshake failure later. `expected` is that
// line for the message.
absl::StatusOr<std::string> readPem(const std::string& path, std::string_view flag, std::string_view kind,
                                    std::string_view expected) {
  auto content = readSmallFile(path, flag, kMaxPemBytes);
  if (!content.ok()) return absl::InvalidArgumentError(content.status().message());
  size_t begin = 0;
  while ((begin = content->find("-----BEGIN ", begin)) != std::string::npos) {
    const size_t end = content->find("-----", begin + 11);
    if (end == std::string::npos) break;
    if (absl::StrContains(toAbsl(std::string_view(*content).substr(begin, end - begin)), toAbsl(kind))) {
      return content;
    }
    begin = end;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(toAbsl(flag), " '", path, "' is not what it should be: found no '", toAbsl(expected), "' line"));
}

} // namespace

absl::StatusOr<std::optional<TlsCredentials>> loadTlsCredentials(const TlsFlags& flags) {
  if (flags.certPath.empty() != flags.keyPath.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert and --tls-key (or SURGE_TLS_CERT and SURGE_TLS_KEY) go together: give both for a client "
        "certificate, or neither");
  }
  if (flags.caPath.empty() && flags.certPath.empty()) {
    if (!flags.serverName.empty()) {
      return absl::InvalidArgumentError("--tls-server-name needs TLS: give --tls-ca (or SURGE_TLS_CA) too");
    }
    return std::nullopt;
  }
  TlsCredentials tls;
  tls.serverName = flags.serverName;
  if (!flags.caPath.empty()) {
    auto roots = readPem(flags.caPath, "--tls-ca", "CERTIFICATE", "-----BEGIN CERTIFICATE-----");
    if (!roots.ok()) return roots.status();
    tls.rootCerts = *std::move(roots);
  }
  if (!flags.certPath.empty()) {
    auto chain = readPem(flags.certPath, "--tls-cert", "CERTIFICATE", "-----BEGIN CERTIFICATE-----");
    if (!chain.ok()) return chain.status();
    // "PRIVATE KEY" matches PKCS#8 as well as the older "RSA PRIVATE KEY" and "EC PRIVATE KEY".
    auto key = readPem(flags.keyPath, "--tls-key", "PRIVATE KEY", "-----BEGIN PRIVATE KEY-----");
    if (!key.ok()) return key.status();
    // PKCS#8 "ENCRYPTED PRIVATE KEY" and OpenSSL's "Proc-Type: 4,ENCRYPTED" both say it.
    if (absl::StrContains(*key, "ENCRYPTED")) {
      return absl::InvalidArgumentError(absl::StrCat("--tls-key '", flags.keyPath,
                                                     "' is encrypted; gRPC needs the key unencrypted (e.g. "
                                                     "'openssl pkey -in KEY -out plain.key')"));
    }
    tls.certChain = *std::move(chain);
    tls.privateKey = *std::move(key);
  }
  return tls;
}

std::shared_ptr<grpc::Channel> createChannel(const ConnectionOptions& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  if (!options.tls) {
    return grpc::CreateCustomChannel(options.server, grpc::InsecureChannelCredentials(), args);
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = options.tls->rootCerts;
  ssl.pem_cert_chain = options.tls->certChain;
  ssl.pem_private_key = options.tls->privateKey;
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::SslCredentials(ssl);
  // gRPC documents that this may fail; falling back to plaintext would leak the API key.
  if (!credentials) {
    std::cerr << "surgectl: gRPC could not create TLS credentials\n";
    std::abort();
  }
  // GRPC_SSL_TARGET_NAME_OVERRIDE_ARG: check this name in the certificate, e.g. when connecting
  // by IP address to a server whose certificate names its DNS name.
  if (!options.tls->serverName.empty()) args.SetSslTargetNameOverride(options.tls->serverName);
  return grpc::CreateCustomChannel(options.server, credentials, args);
}

std::unique_ptr<grpc::ClientContext> newCallContext(std::chrono::seconds deadline, std::string_view apiKey) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + deadline);
  if (!apiKey.empty()) context->AddMetadata("authorization", absl::StrCat("Bearer ", toAbsl(apiKey)));
  return context;
}

} // namespace surge::cli
