// ReflectionService: one reactor per stream answers each request, in order, from the generated
// descriptor pool.
#include "api/reflection_service.h"

#include <absl/strings/str_cat.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <cstdlib>
#include <unordered_set>
#include <utility>

namespace surge::api {
namespace {

namespace reflection = grpc::reflection::v1alpha;
using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptor;

using SentFiles = std::unordered_set<std::string>;

void addFile(const FileDescriptor& file, reflection::FileDescriptorResponse& out) {
  google::protobuf::FileDescriptorProto proto;
  file.CopyTo(&proto);
  proto.SerializeToString(out.add_file_descriptor_proto());
}

// Depth first, so each file comes before its own dependencies, as gRPC's implementation sends them.
void addUnsentDependencies(const FileDescriptor& file, SentFiles& sent, reflection::FileDescriptorResponse& out) {
  for (int i = 0; i < file.dependency_count(); ++i) {
    // The generated pool builds dependencies lazily and yields null for one it cannot find; the
    // client then learns of the gap when it asks for that file by name.
    const FileDescriptor* dependency = file.dependency(i);
    if (dependency == nullptr || !sent.insert(dependency->name()).second) continue;
    addFile(*dependency, out);
    addUnsentDependencies(*dependency, sent, out);
  }
}

// The file asked for is always sent, even if this stream carried it before: clients such as
// grpcurl reject an answer that lacks it. Only its dependencies are skipped once sent.
void answerWithFile(const FileDescriptor& file, SentFiles& sent, reflection::ServerReflectionResponse& response) {
  sent.insert(file.name());
  auto& files = *response.mutable_file_descriptor_response();
  addFile(file, files);
  addUnsentDependencies(file, sent, files);
}

void answerWithError(grpc::StatusCode code, std::string message, reflection::ServerReflectionResponse& response) {
  auto& error = *response.mutable_error_response();
  error.set_error_code(static_cast<int32_t>(code));
  error.set_error_message(std::move(message));
}

// Fills `response` for `request`. Every lookup is in memory, so this is safe on a reactor thread.
void answer(const reflection::ServerReflectionRequest& request, const std::vector<std::string>& serviceNames,
            SentFiles& sent, reflection::ServerReflectionResponse& response) {
  const DescriptorPool& pool = *DescriptorPool::generated_pool();
  response.set_valid_host(request.host());
  *response.mutable_original_request() = request;

  using Request = reflection::ServerReflectionRequest;
  switch (request.message_request_case()) {
  case Request::kFileByFilename: {
    const FileDescriptor* file = pool.FindFileByName(request.file_by_filename());
    if (file == nullptr) {
      return answerWithError(
          grpc::StatusCode::NOT_FOUND,
          absl::StrCat("no proto file named '", request.file_by_filename(), "' is known to this server"), response);
    }
    return answerWithFile(*file, sent, response);
  }
  case Request::kFileContainingSymbol: {
    const FileDescriptor* file = pool.FindFileContainingSymbol(request.file_containing_symbol());
    if (file == nullptr) {
      return answerWithError(grpc::StatusCode::NOT_FOUND,
                             absl::StrCat("no symbol named '", request.file_containing_symbol(),
                                          "' is known to this server; give a fully-qualified name such as "
                                          "'surge.v1.InvokeService'"),
                             response);
    }
    return answerWithFile(*file, sent, response);
  }
  case Request::kFileContainingExtension: {
    const auto& extension = request.file_containing_extension();
    const auto* type = pool.FindMessageTypeByName(extension.containing_type());
    if (type == nullptr) {
      return answerWithError(
          grpc::StatusCode::NOT_FOUND,
          absl::StrCat("no message type named '", extension.containing_type(), "' is known to this server"), response);
    }
    const auto* field = pool.FindExtensionByNumber(type, extension.extension_number());
    if (field == nullptr) {
      return answerWithError(grpc::StatusCode::NOT_FOUND,
                             absl::StrCat("message type '", extension.containing_type(), "' has no extension number ",
                                          extension.extension_number(), " known to this server"),
                             response);
    }
    return answerWithFile(*field->file(), sent, response);
  }
  case Request::kAllExtensionNumbersOfType: {
    const auto* type = pool.FindMessageTypeByName(request.all_extension_numbers_of_type());
    if (type == nullptr) {
      return answerWithError(
          grpc::StatusCode::NOT_FOUND,
          absl::StrCat("no message type named '", request.all_extension_numbers_of_type(), "' is known to this server"),
          response);
    }
    std::vector<const google::protobuf::FieldDescriptor*> extensions;
    pool.FindAllExtensions(type, &extensions);
    auto& numbers = *response.mutable_all_extension_numbers_response();
    numbers.set_base_type_name(request.all_extension_numbers_of_type());
    for (const auto* field : extensions) numbers.add_extension_number(field->number());
    return;
  }
  case Request::kListServices: {
    auto& services = *response.mutable_list_services_response();
    for (const auto& name : serviceNames) services.add_service()->set_name(name);
    return;
  }
  case Request::MESSAGE_REQUEST_NOT_SET: break;
  }
  answerWithError(grpc::StatusCode::INVALID_ARGUMENT,
                  "the request asks nothing: set one of file_by_filename, file_containing_symbol, "
                  "file_containing_extension, all_extension_numbers_of_type or list_services",
                  response);
}

// Exactly one read or write is outstanding from the start until Finish, so the callbacks never
// overlap and need no lock. Cancellation needs no OnCancel: it fails the outstanding operation,
// whose callback then finishes the call.
class ReflectionStream final
    : public grpc::ServerBidiReactor<reflection::ServerReflectionRequest, reflection::ServerReflectionResponse> {
public:
  ReflectionStream(const std::vector<std::string>& serviceNames, const grpc::Status& authenticated)
      : serviceNames_(serviceNames) {
    if (!authenticated.ok()) {
      Finish(authenticated);
      return;
    }
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    // Not ok: the client half-closed, or the call is cancelled and the status is never seen.
    if (!ok) {
      Finish(grpc::Status::OK);
      return;
    }
    response_.Clear();
    answer(request_, serviceNames_, sent_, response_);
    StartWrite(&response_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the reflection client went away before its answer"));
      return;
    }
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

private:
  const std::vector<std::string>& serviceNames_;
  reflection::ServerReflectionRequest request_;
  reflection::ServerReflectionResponse response_;
  SentFiles sent_;
};

} // namespace

ReflectionService::ReflectionService(std::vector<std::string> serviceNames, CallAuthenticator authenticate)
    : serviceNames_(std::move(serviceNames)), authenticate_(std::move(authenticate)) {
  // Without an authenticator every stream would throw on a reactor thread; refuse to start instead.
  if (!authenticate_) std::abort();
}

grpc::ServerBidiReactor<reflection::ServerReflectionRequest, reflection::ServerReflectionResponse>*
ReflectionService::ServerReflectionInfo(grpc::CallbackServerContext* context) {
  return new ReflectionStream(serviceNames_, authenticate_(*context));
}

} // namespace surge::api
