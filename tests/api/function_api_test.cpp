// FunctionService and the declared services, through the generated client against a real
// surged child process on a free loopback port.
#include "support/client.h"
#include "support/in_process_surged.h"
#include "support/process.h"
#include "support/surged_suite.h"
#include "support/temp_dir.h"
#include "support/zip_builder.h"

#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "protos/health_reflection.grpc.pb.h"
#include "surge/v1/admin.grpc.pb.h"
#include "surge/v1/invoke.grpc.pb.h"
#include "surge/v1/logs.grpc.pb.h"
#include "surge/v1/metrics.grpc.pb.h"
#include "surge/v1/scaling.grpc.pb.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <set>

namespace surge {
namespace {

using testing::contextWithDeadline;
using ::testing::HasSubstr;
using testing::ZipBuilder;

std::string randomBytes(size_t size) {
  std::mt19937_64 generator(42);
  std::string bytes(size, '\0');
  for (auto& c : bytes) c = static_cast<char>(generator());
  return bytes;
}

class FunctionApiTest : public testing::SurgedSuiteOf<testing::InProcessSurged> {
protected:
  v1::Function create(const std::string& name, const std::string& ns = "") {
    v1::CreateFunctionRequest request;
    request.set_namespace_(ns);
    request.set_name(name);
    request.mutable_config()->set_runtime(v1::RUNTIME_PYTHON3);
    request.mutable_config()->set_handler("index.handler");
    v1::Function function;
    auto context = contextWithDeadline();
    const grpc::Status status = functions_->CreateFunction(context.get(), request, &function);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return function;
  }

  std::unique_ptr<v1::FunctionService::Stub> functions_ = v1::FunctionService::NewStub(channel_);
};

TEST_F(FunctionApiTest, HealthServiceAnswersServing) {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  auto context = contextWithDeadline();
  ASSERT_TRUE(health->Check(context.get(), request, &response).ok());
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(FunctionApiTest, ReflectionListsEverySurgeService) {
  auto reflection = grpc::reflection::v1alpha::ServerReflection::NewStub(channel_);
  auto context = contextWithDeadline();
  auto stream = reflection->ServerReflectionInfo(context.get());
  grpc::reflection::v1alpha::ServerReflectionRequest request;
  request.set_list_services("*");
  ASSERT_TRUE(stream->Write(request));
  stream->WritesDone();
  grpc::reflection::v1alpha::ServerReflectionResponse response;
  ASSERT_TRUE(stream->Read(&response));
  std::set<std::string> names;
  for (const auto& service : response.list_services_response().service()) names.insert(service.name());
  for (const char* expected :
       {"surge.v1.FunctionService", "surge.v1.InvokeService", "surge.v1.ScalingService", "surge.v1.MetricsService",
        "surge.v1.LogService", "surge.v1.AdminService", "grpc.health.v1.Health"}) {
    EXPECT_TRUE(names.contains(expected)) << expected;
  }
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(FunctionApiTest, CreateGetAndListWithPrefixAndPages) {
  for (const char* name : {"list-a", "list-b", "list-c", "other"}) create(name);
  create("list-z", "team-x");

  v1::GetFunctionRequest get;
  get.set_name("list-b");
  v1::Function function;
  auto context = contextWithDeadline();
  ASSERT_TRUE(functions_->GetFunction(context.get(), get, &function).ok());
  EXPECT_EQ(function.namespace_(), "default");
  EXPECT_EQ(function.config().memory_mb(), 128u);
  EXPECT_EQ(function.config().timeout_seconds(), 60u);
  EXPECT_EQ(function.config().queue_timeout_seconds(), 60u);
  EXPECT_EQ(function.config().max_queue_length(), 1000u);
  EXPECT_EQ(function.revision(), 1);
  EXPECT_GT(function.create_time().seconds(), 0);

  std::vector<std::string> names;
  std::string token;
  do {
    v1::ListFunctionsRequest list;
    list.set_prefix("list-");
    list.set_page_size(2);
    list.set_page_token(token);
    v1::ListFunctionsResponse page;
    auto ctx = contextWithDeadline();
    ASSERT_TRUE(functions_->ListFunctions(ctx.get(), list, &page).ok());
    EXPECT_LE(page.functions_size(), 2);
    for (const auto& f : page.functions()) names.push_back(f.name());
    token = page.next_page_token();
  } while (!token.empty());
  EXPECT_EQ(names, (std::vector<std::string>{"list-a", "list-b", "list-c"}));
}

TEST_F(FunctionApiTest, ErrorsCarryTheRightCodeAndAMessage) {
  create("dup");
  v1::CreateFunctionRequest request;
  request.set_name("dup");
  request.mutable_config()->set_runtime(v1::RUNTIME_PYTHON3);
  request.mutable_config()->set_handler("index.handler");
  v1::Function function;
  auto context = contextWithDeadline();
  grpc::Status status = functions_->CreateFunction(context.get(), request, &function);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(status.error_message(), "function 'default/dup' already exists");

  request.set_name("no-runtime");
  request.mutable_config()->set_runtime(v1::RUNTIME_UNSPECIFIED);
  context = contextWithDeadline();
  status = functions_->CreateFunction(context.get(), request, &function);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("runtime is required"));

  v1::GetFunctionRequest get;
  get.set_name("ghost");
  context = contextWithDeadline();
  status = functions_->GetFunction(context.get(), get, &function);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "function 'default/ghost' not found");
}

TEST_F(FunctionApiTest, UpdateChangesOnlyTheMaskedFields) {
  create("masked");
  v1::UpdateFunctionConfigRequest update;
  update.set_name("masked");
  update.mutable_config()->set_memory_mb(512);
  update.mutable_config()->set_timeout_seconds(5); // not in the mask: ignored
  (*update.mutable_config()->mutable_environment())["MODE"] = "sale";
  update.mutable_update_mask()->add_paths("memory_mb");
  update.mutable_update_mask()->add_paths("config.environment");
  update.set_expected_revision(1);
  v1::Function updated;
  auto context = contextWithDeadline();
  grpc::Status status = functions_->UpdateFunctionConfig(context.get(), update, &updated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(updated.config().memory_mb(), 512u);
  EXPECT_EQ(updated.config().timeout_seconds(), 60u);
  EXPECT_EQ(updated.config().environment().at("MODE"), "sale");
  EXPECT_EQ(updated.revision(), 2);

  // The same revision again is stale.
  context = contextWithDeadline();
  status = functions_->UpdateFunctionConfig(context.get(), update, &updated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(status.error_message(), HasSubstr("is at revision 2, not the expected 1"));

  update.set_expected_revision(0);
  update.mutable_update_mask()->add_paths("colour");
  context = contextWithDeadline();
  status = functions_->UpdateFunctionConfig(context.get(), update, &updated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("update_mask path 'colour' is not a FunctionConfig field"));

  update.mutable_update_mask()->Clear();
  context = contextWithDeadline();
  status = functions_->UpdateFunctionConfig(context.get(), update, &updated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("update_mask is empty"));

  // A masked field left at 0 goes back to its default.
  update.mutable_update_mask()->add_paths("memory_mb");
  update.mutable_config()->set_memory_mb(0);
  context = contextWithDeadline();
  ASSERT_TRUE(functions_->UpdateFunctionConfig(context.get(), update, &updated).ok());
  EXPECT_EQ(updated.config().memory_mb(), 128u);
}

TEST_F(FunctionApiTest, UploadsInChunksListsVersionsAndRollsBack) {
  create("code");
  // Incompressible, so the archive spans several 1 MiB chunks.
  const std::string v1Archive = ZipBuilder()
                                    .addFile("index.py", "def handler(e, c):\n    return 1\n")
                                    .addFile("blob.bin", randomBytes(2'500'000))
                                    .bytes();
  ASSERT_GT(v1Archive.size(), 2u << 20);
  v1::UploadCodeResponse uploaded;
  grpc::Status status = testing::uploadCode(*functions_, "", "code", v1Archive, &uploaded);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(uploaded.created());
  EXPECT_EQ(uploaded.version().version(), 1);
  EXPECT_EQ(uploaded.version().file_count(), 2);
  EXPECT_EQ(uploaded.version().size_bytes(), static_cast<int64_t>(v1Archive.size()));
  EXPECT_TRUE(uploaded.version().active());
  EXPECT_EQ(uploaded.function().active_version(), 1);

  // The same archive again creates nothing.
  status = testing::uploadCode(*functions_, "", "code", v1Archive, &uploaded);
  ASSERT_TRUE(status.ok());
  EXPECT_FALSE(uploaded.created());
  EXPECT_EQ(uploaded.version().version(), 1);

  const std::string v2Archive = ZipBuilder().addFile("index.py", "def handler(e, c):\n    return 2\n").bytes();
  status = testing::uploadCode(*functions_, "", "code", v2Archive, &uploaded);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(uploaded.version().version(), 2);

  v1::ListCodeVersionsRequest list;
  list.set_name("code");
  v1::ListCodeVersionsResponse versions;
  auto context = contextWithDeadline();
  ASSERT_TRUE(functions_->ListCodeVersions(context.get(), list, &versions).ok());
  ASSERT_EQ(versions.versions_size(), 2);
  EXPECT_EQ(versions.versions(0).version(), 2);
  EXPECT_TRUE(versions.versions(0).active());
  EXPECT_FALSE(versions.versions(1).active());

  v1::SetActiveVersionRequest rollback;
  rollback.set_name("code");
  rollback.set_version(1);
  v1::Function function;
  context = contextWithDeadline();
  ASSERT_TRUE(functions_->SetActiveVersion(context.get(), rollback, &function).ok());
  EXPECT_EQ(function.active_version(), 1);

  rollback.set_version(7);
  context = contextWithDeadline();
  status = functions_->SetActiveVersion(context.get(), rollback, &function);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("has no version 7"));
}

TEST_F(FunctionApiTest, UploadRefusesBadStreams) {
  create("bad-upload");
  const std::string archive = ZipBuilder().addFile("index.py", "").bytes();
  v1::UploadCodeResponse response;

  grpc::Status status = testing::uploadCode(*functions_, "", "bad-upload", archive, &response, std::string(64, 'f'));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("SHA-256 mismatch"));

  status = testing::uploadCode(*functions_, "", "bad-upload", archive, &response, "not-a-sha");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("64 lowercase hex digits"));

  status = testing::uploadCode(*functions_, "", "missing-fn", archive, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);

  const std::string traversal = ZipBuilder().addFile("index.py", "").addFile("../../etc/cron.d/x", "boom").bytes();
  status = testing::uploadCode(*functions_, "", "bad-upload", traversal, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("../../etc/cron.d/x"));

  // A chunk over 1 MiB.
  auto context = contextWithDeadline();
  auto writer = functions_->UploadCode(context.get(), &response);
  v1::UploadCodeRequest request;
  request.set_name("bad-upload");
  request.set_sha256(std::string(64, 'a'));
  request.set_chunk(std::string((1 << 20) + 1, 'x'));
  writer->Write(request);
  writer->WritesDone();
  status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("over the limit of 1048576 bytes"));

  v1::GetFunctionRequest get;
  get.set_name("bad-upload");
  v1::Function function;
  context = contextWithDeadline();
  ASSERT_TRUE(functions_->GetFunction(context.get(), get, &function).ok());
  EXPECT_EQ(function.active_version(), 0);
}

TEST_F(FunctionApiTest, DeleteRemovesTheFunction) {
  create("doomed");
  v1::DeleteFunctionRequest remove;
  remove.set_name("doomed");
  google::protobuf::Empty empty;
  auto context = contextWithDeadline();
  ASSERT_TRUE(functions_->DeleteFunction(context.get(), remove, &empty).ok());
  context = contextWithDeadline();
  EXPECT_EQ(functions_->DeleteFunction(context.get(), remove, &empty).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(FunctionApiTest, LargeMessagesReachTheServices) {
  auto invoke = v1::InvokeService::NewStub(channel_);
  v1::InvokeRequest request;
  request.set_function("hello");
  request.set_payload(std::string(7 << 20, 'p')); // over gRPC's 4 MiB default, under 8 MiB
  v1::InvokeResponse response;
  auto context = contextWithDeadline();
  grpc::Status status = invoke->Invoke(context.get(), request, &response);
  // The transport lets it through; the service's own 6 MiB limit refuses it.
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("over the limit of 6291456 bytes"));
}

} // namespace
} // namespace surge
