// ReflectionService through the generated client against an in-process gRPC server on a free
// loopback port, with a test authenticator that accepts only "authorization: Bearer good".
#include "api/reflection_service.h"

#include "support/client.h"

#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "surge/v1/invoke.grpc.pb.h"
#include "surge/v1/logs.grpc.pb.h"

#include <gmock/gmock.h>
#include <google/protobuf/descriptor.pb.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace surge::api {
namespace {

namespace reflection = grpc::reflection::v1alpha;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Stream = grpc::ClientReaderWriter<reflection::ServerReflectionRequest, reflection::ServerReflectionResponse>;

constexpr const char* kMissingKey = "reflection needs an API key: send 'authorization: Bearer <key>'";
constexpr const char* kWrongKey = "the API key is not valid";

// Services with no overrides: registering them is enough to make their descriptors real.
class IdleInvokeService final : public v1::InvokeService::CallbackService {};
class IdleLogService final : public v1::LogService::CallbackService {};

grpc::Status acceptBearerGood(grpc::CallbackServerContext& context) {
  const auto& metadata = context.client_metadata();
  const auto key = metadata.find("authorization");
  if (key == metadata.end()) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, kMissingKey);
  if (std::string_view(key->second.data(), key->second.size()) != "Bearer good") {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, kWrongKey);
  }
  return grpc::Status::OK;
}

reflection::ServerReflectionRequest listServices() {
  reflection::ServerReflectionRequest request;
  request.set_list_services("*");
  return request;
}

reflection::ServerReflectionRequest fileContainingSymbol(const std::string& symbol) {
  reflection::ServerReflectionRequest request;
  request.set_file_containing_symbol(symbol);
  return request;
}

reflection::ServerReflectionRequest fileByFilename(const std::string& name) {
  reflection::ServerReflectionRequest request;
  request.set_file_by_filename(name);
  return request;
}

std::vector<google::protobuf::FileDescriptorProto> files(const reflection::ServerReflectionResponse& response) {
  EXPECT_TRUE(response.has_file_descriptor_response()) << response.DebugString();
  std::vector<google::protobuf::FileDescriptorProto> result;
  for (const auto& bytes : response.file_descriptor_response().file_descriptor_proto()) {
    EXPECT_TRUE(result.emplace_back().ParseFromString(bytes));
  }
  return result;
}

std::vector<std::string> fileNames(const reflection::ServerReflectionResponse& response) {
  std::vector<std::string> names;
  for (const auto& file : files(response)) names.push_back(file.name());
  return names;
}

class ReflectionServiceTest : public ::testing::Test {
protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&reflection_);
    builder.RegisterService(&invoke_);
    builder.RegisterService(&logs_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    stub_ = reflection::ServerReflection::NewStub(testing::makeChannel("127.0.0.1:" + std::to_string(port)));
  }

  // Shutdown waits for every stream's reactor to finish, so a stream that never finishes hangs
  // here and the test times out.
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
  }

  // Opens a stream that sends `authorization` unless it is empty.
  std::unique_ptr<Stream> open(grpc::ClientContext& context, const std::string& authorization = "Bearer good") {
    if (!authorization.empty()) context.AddMetadata("authorization", authorization);
    return stub_->ServerReflectionInfo(&context);
  }

  static reflection::ServerReflectionResponse ask(Stream& stream, const reflection::ServerReflectionRequest& request) {
    reflection::ServerReflectionResponse response;
    EXPECT_TRUE(stream.Write(request));
    EXPECT_TRUE(stream.Read(&response));
    return response;
  }

  // Asks one question on a fresh stream and closes it cleanly.
  reflection::ServerReflectionResponse askOnce(const reflection::ServerReflectionRequest& request) {
    auto context = testing::contextWithDeadline();
    auto stream = open(*context);
    auto response = ask(*stream, request);
    stream->WritesDone();
    const grpc::Status status = stream->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  ReflectionService reflection_{
      {"surge.v1.InvokeService", "surge.v1.LogService", "grpc.reflection.v1alpha.ServerReflection"}, acceptBearerGood};
  IdleInvokeService invoke_;
  IdleLogService logs_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<reflection::ServerReflection::Stub> stub_;
};

TEST_F(ReflectionServiceTest, ListServicesReturnsExactlyTheGivenNames) {
  const auto response = askOnce(listServices());
  ASSERT_TRUE(response.has_list_services_response()) << response.DebugString();
  std::vector<std::string> names;
  for (const auto& service : response.list_services_response().service()) names.push_back(service.name());
  EXPECT_THAT(names,
              ElementsAre("surge.v1.InvokeService", "surge.v1.LogService", "grpc.reflection.v1alpha.ServerReflection"));
}

TEST_F(ReflectionServiceTest, ResponsesEchoTheHostAndTheRequest) {
  auto request = fileContainingSymbol("surge.v1.InvokeService");
  request.set_host("surge.example:7400");
  const auto response = askOnce(request);
  EXPECT_EQ(response.valid_host(), "surge.example:7400");
  EXPECT_EQ(response.original_request().host(), "surge.example:7400");
  EXPECT_EQ(response.original_request().file_containing_symbol(), "surge.v1.InvokeService");
}

TEST_F(ReflectionServiceTest, FileContainingServiceIsItsProtoFile) {
  const auto found = files(askOnce(fileContainingSymbol("surge.v1.InvokeService")));
  ASSERT_EQ(found.size(), 1u); // invoke.proto imports nothing.
  EXPECT_EQ(found[0].name(), "surge/v1/invoke.proto");
  EXPECT_EQ(found[0].package(), "surge.v1");
  ASSERT_EQ(found[0].service_size(), 1);
  EXPECT_EQ(found[0].service(0).name(), "InvokeService");
  ASSERT_EQ(found[0].service(0).method_size(), 1);
  EXPECT_EQ(found[0].service(0).method(0).name(), "Invoke");
}

TEST_F(ReflectionServiceTest, FileContainingSymbolComesWithItsTransitiveDependencies) {
  // logs.proto imports timestamp.proto and invoke.proto; each file precedes its own imports.
  EXPECT_THAT(fileNames(askOnce(fileContainingSymbol("surge.v1.LogService"))),
              ElementsAre("surge/v1/logs.proto", "google/protobuf/timestamp.proto", "surge/v1/invoke.proto"));
}

TEST_F(ReflectionServiceTest, MethodAndMessageSymbolsFindTheirFiles) {
  EXPECT_THAT(fileNames(askOnce(fileContainingSymbol("surge.v1.InvokeService.Invoke"))),
              ElementsAre("surge/v1/invoke.proto"));
  EXPECT_THAT(fileNames(askOnce(fileContainingSymbol("surge.v1.InvokeRequest"))), ElementsAre("surge/v1/invoke.proto"));
}

TEST_F(ReflectionServiceTest, FileByFilenameSendsThatFile) {
  const auto found = files(askOnce(fileByFilename("surge/v1/invoke.proto")));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].name(), "surge/v1/invoke.proto");
  ASSERT_EQ(found[0].service_size(), 1);
  EXPECT_EQ(found[0].service(0).name(), "InvokeService");
}

TEST_F(ReflectionServiceTest, UnknownSymbolAnswersNotFoundAndTheStreamGoesOn) {
  auto context = testing::contextWithDeadline();
  auto stream = open(*context);
  const auto missing = ask(*stream, fileContainingSymbol("surge.v1.Missing"));
  ASSERT_TRUE(missing.has_error_response()) << missing.DebugString();
  EXPECT_EQ(missing.error_response().error_code(), 5);
  EXPECT_EQ(missing.error_response().error_message(),
            "no symbol named 'surge.v1.Missing' is known to this server; give a fully-qualified name such as "
            "'surge.v1.InvokeService'");
  EXPECT_EQ(missing.original_request().file_containing_symbol(), "surge.v1.Missing");

  EXPECT_THAT(fileNames(ask(*stream, fileContainingSymbol("surge.v1.InvokeService"))),
              ElementsAre("surge/v1/invoke.proto"));
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(ReflectionServiceTest, UnknownFileAnswersNotFound) {
  const auto response = askOnce(fileByFilename("surge/v1/missing.proto"));
  ASSERT_TRUE(response.has_error_response()) << response.DebugString();
  EXPECT_EQ(response.error_response().error_code(), 5);
  EXPECT_EQ(response.error_response().error_message(),
            "no proto file named 'surge/v1/missing.proto' is known to this server");
}

TEST_F(ReflectionServiceTest, EmptyRequestAnswersInvalidArgument) {
  const auto response = askOnce(reflection::ServerReflectionRequest());
  ASSERT_TRUE(response.has_error_response()) << response.DebugString();
  EXPECT_EQ(response.error_response().error_code(), 3);
  EXPECT_EQ(response.error_response().error_message(),
            "the request asks nothing: set one of file_by_filename, file_containing_symbol, "
            "file_containing_extension, all_extension_numbers_of_type or list_services");
}

TEST_F(ReflectionServiceTest, AStreamSendsEachDependencyOnceButAlwaysTheFileAskedFor) {
  auto context = testing::contextWithDeadline();
  auto stream = open(*context);
  EXPECT_THAT(fileNames(ask(*stream, fileContainingSymbol("surge.v1.LogService"))),
              ElementsAre("surge/v1/logs.proto", "google/protobuf/timestamp.proto", "surge/v1/invoke.proto"));
  // Already sent as a dependency: asked for by name it comes again, since a client such as
  // grpcurl rejects an answer without the file it asked for.
  EXPECT_THAT(fileNames(ask(*stream, fileByFilename("surge/v1/invoke.proto"))), ElementsAre("surge/v1/invoke.proto"));
  // Asked again: the file, but none of its dependencies.
  EXPECT_THAT(fileNames(ask(*stream, fileContainingSymbol("surge.v1.LogService"))), ElementsAre("surge/v1/logs.proto"));
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());

  // A new stream starts afresh.
  EXPECT_THAT(fileNames(askOnce(fileContainingSymbol("surge.v1.LogService"))),
              ElementsAre("surge/v1/logs.proto", "google/protobuf/timestamp.proto", "surge/v1/invoke.proto"));
}

TEST_F(ReflectionServiceTest, ExtensionNumbersOfAKnownTypeAreListed) {
  reflection::ServerReflectionRequest request;
  request.set_all_extension_numbers_of_type("surge.v1.InvokeRequest");
  const auto response = askOnce(request);
  ASSERT_TRUE(response.has_all_extension_numbers_response()) << response.DebugString();
  EXPECT_EQ(response.all_extension_numbers_response().base_type_name(), "surge.v1.InvokeRequest");
  EXPECT_THAT(response.all_extension_numbers_response().extension_number(), IsEmpty()); // proto3 has none.
}

TEST_F(ReflectionServiceTest, ExtensionRequestsForUnknownTypesOrNumbersAnswerNotFound) {
  reflection::ServerReflectionRequest numbers;
  numbers.set_all_extension_numbers_of_type("surge.v1.Missing");
  const auto unknownType = askOnce(numbers);
  ASSERT_TRUE(unknownType.has_error_response()) << unknownType.DebugString();
  EXPECT_EQ(unknownType.error_response().error_code(), 5);
  EXPECT_EQ(unknownType.error_response().error_message(),
            "no message type named 'surge.v1.Missing' is known to this server");

  reflection::ServerReflectionRequest extension;
  extension.mutable_file_containing_extension()->set_containing_type("surge.v1.InvokeRequest");
  extension.mutable_file_containing_extension()->set_extension_number(1000);
  const auto unknownNumber = askOnce(extension);
  ASSERT_TRUE(unknownNumber.has_error_response()) << unknownNumber.DebugString();
  EXPECT_EQ(unknownNumber.error_response().error_code(), 5);
  EXPECT_EQ(unknownNumber.error_response().error_message(),
            "message type 'surge.v1.InvokeRequest' has no extension number 1000 known to this server");
}

TEST_F(ReflectionServiceTest, StreamWithoutKeyEndsUnauthenticated) {
  auto context = testing::contextWithDeadline();
  auto stream = open(*context, "");
  reflection::ServerReflectionResponse response;
  EXPECT_FALSE(stream->Read(&response));
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), kMissingKey);
}

TEST_F(ReflectionServiceTest, StreamWithWrongKeyEndsUnauthenticatedWithoutAnswering) {
  auto context = testing::contextWithDeadline();
  auto stream = open(*context, "Bearer bad");
  stream->Write(listServices()); // May fail once the server has finished; either way nothing answers.
  reflection::ServerReflectionResponse response;
  EXPECT_FALSE(stream->Read(&response));
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), kWrongKey);
}

TEST_F(ReflectionServiceTest, HalfCloseWithoutRequestsFinishesOk) {
  auto context = testing::contextWithDeadline();
  auto stream = open(*context);
  stream->WritesDone();
  reflection::ServerReflectionResponse response;
  EXPECT_FALSE(stream->Read(&response));
  const grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(ReflectionServiceTest, CancelledStreamEndsAndTheServerShutsDown) {
  auto context = testing::contextWithDeadline();
  auto stream = open(*context);
  EXPECT_THAT(fileNames(ask(*stream, fileContainingSymbol("surge.v1.InvokeService"))),
              ElementsAre("surge/v1/invoke.proto"));
  context->TryCancel();
  reflection::ServerReflectionResponse response;
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // TearDown's Shutdown returns only once the server-side reactor has finished.
}

} // namespace
} // namespace surge::api
