// ReflectionService: the standard gRPC server reflection protocol, behind an authentication hook.
#pragma once

#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

#include <functional>
#include <string>
#include <vector>

namespace surge::api {

// Decides whether a call may go on: OK lets it, any other status ends the call with that status.
// It runs on a gRPC reactor thread, possibly on several at once, so it must be thread-safe and
// must not block.
using CallAuthenticator = std::function<grpc::Status(grpc::CallbackServerContext&)>;

// Serves grpc.reflection.v1alpha.ServerReflection from the generated descriptor pool. gRPC's own
// reflection plugin cannot be gated (server interceptors cannot reject a call, and an
// AuthMetadataProcessor needs secure credentials), so this one asks `authenticate` first.
//
// Each stream is first authenticated; a refused stream ends with the authenticator's status
// before any request is read. After that every request gets one response, in order:
// - list_services: the names given to the constructor;
// - file_by_filename, file_containing_symbol, file_containing_extension: the file asked for,
//   followed by those of its transitive dependencies not yet sent on this stream;
// - all_extension_numbers_of_type: the extension numbers the pool knows for that type;
// - otherwise an error_response: NOT_FOUND for an unknown file, symbol or type, INVALID_ARGUMENT
//   for a request that asks nothing.
// The stream ends OK when the client half-closes. Lookups are in memory, so reactor threads
// never wait. Immutable after construction; the service must outlive the gRPC server.
class ReflectionService final : public grpc::reflection::v1alpha::ServerReflection::CallbackService {
public:
  // `serviceNames` are the fully-qualified names list_services answers with. `authenticate`
  // must not be empty.
  ReflectionService(std::vector<std::string> serviceNames, CallAuthenticator authenticate);

  grpc::ServerBidiReactor<grpc::reflection::v1alpha::ServerReflectionRequest,
                          grpc::reflection::v1alpha::ServerReflectionResponse>*
  ServerReflectionInfo(grpc::CallbackServerContext* context) override;

private:
  const std::vector<std::string> serviceNames_;
  const CallAuthenticator authenticate_;
};

} // namespace surge::api
