// gRPC clients for integration tests, configured like surgectl's (8 MiB messages).
#pragma once

#include "surge/v1/admin.grpc.pb.h"
#include "surge/v1/function.grpc.pb.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace surge::testing {

std::shared_ptr<grpc::Channel> makeChannel(const std::string& address);

// The API key contextWithDeadline() sends. SurgedProcess sets it to the admin key of the surged
// it started last; a test that wants another key passes it explicitly.
void setDefaultApiKey(std::string token);
const std::string& defaultApiKey();

// A context whose deadline keeps a broken server from hanging a test, carrying `apiKey` (the
// default key when empty) as "authorization: Bearer <key>".
std::unique_ptr<grpc::ClientContext> contextWithDeadline(std::chrono::seconds timeout = std::chrono::seconds(30),
                                                         const std::string& apiKey = "");
// A context with a deadline and no key at all.
std::unique_ptr<grpc::ClientContext> contextWithoutKey();

// Streams `archive` to UploadCode in 1 MiB chunks with its true SHA-256 (or `sha256` if given).
grpc::Status uploadCode(v1::FunctionService::Stub& stub, const std::string& ns, const std::string& name,
                        const std::string& archive, v1::UploadCodeResponse* response, const std::string& sha256 = "");

// Creates a key through `admin` with the default key (an admin's); returns its secret, or ""
// after failing the test.
std::string createApiKey(v1::AdminService::Stub& admin, const std::string& name, v1::Role role,
                         const std::vector<std::string>& namespaces = {},
                         const std::vector<std::string>& functions = {});

} // namespace surge::testing
