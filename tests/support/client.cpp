// gRPC clients for integration tests.
#include "support/client.h"

#include "common/sha256.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace surge::testing {

std::shared_ptr<grpc::Channel> makeChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(8 << 20);
  args.SetMaxSendMessageSize(8 << 20);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

namespace {
std::string& defaultKeyStorage() {
  static std::string key;
  return key;
}
} // namespace

void setDefaultApiKey(std::string token) { defaultKeyStorage() = std::move(token); }
const std::string& defaultApiKey() { return defaultKeyStorage(); }

std::unique_ptr<grpc::ClientContext> contextWithDeadline(std::chrono::seconds timeout, const std::string& apiKey) {
  auto context = contextWithoutKey();
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  const std::string& key = apiKey.empty() ? defaultApiKey() : apiKey;
  if (!key.empty()) context->AddMetadata("authorization", "Bearer " + key);
  return context;
}

std::unique_ptr<grpc::ClientContext> contextWithoutKey() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return context;
}

grpc::Status uploadCode(v1::FunctionService::Stub& stub, const std::string& ns, const std::string& name,
                        const std::string& archive, v1::UploadCodeResponse* response, const std::string& sha256) {
  auto context = contextWithDeadline();
  auto writer = stub.UploadCode(context.get(), response);
  v1::UploadCodeRequest request;
  request.set_namespace_(ns);
  request.set_name(name);
  request.set_sha256(sha256.empty() ? common::Sha256::of(archive) : sha256);
  size_t offset = 0;
  do {
    const size_t length = std::min<size_t>(1 << 20, archive.size() - offset);
    request.set_chunk(archive.substr(offset, length));
    if (!writer->Write(request)) break;
    request.Clear();
    offset += length;
  } while (offset < archive.size());
  writer->WritesDone();
  return writer->Finish();
}

std::string createApiKey(v1::AdminService::Stub& admin, const std::string& name, v1::Role role,
                         const std::vector<std::string>& namespaces, const std::vector<std::string>& functions) {
  v1::CreateApiKeyRequest request;
  request.set_name(name);
  request.set_role(role);
  for (const auto& ns : namespaces) request.add_namespaces(ns);
  for (const auto& function : functions) request.add_functions(function);
  v1::CreateApiKeyResponse response;
  auto context = contextWithDeadline();
  const grpc::Status status = admin.CreateApiKey(context.get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.secret();
}

} // namespace surge::testing
