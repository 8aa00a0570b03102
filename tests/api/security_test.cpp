// The API service's security model through a real surged: every call × every role with the
// exact status code, no key, namespace scopes, invoker function lists, revocation, health,
// reflection, the bootstrap key file and the audit trail.
#include "support/client.h"

#include "common/sha256.h"
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

#include <sys/stat.h>

#include <fstream>
#include <functional>
#include <map>

namespace surge {
namespace {

using testing::contextWithDeadline;
using ::testing::HasSubstr;
using testing::ZipBuilder;
using Code = grpc::StatusCode;

class SecurityTest : public testing::SurgedSuiteOf<testing::InProcessSurged> {
protected:
  // Creates (with the admin key) a python function with code in `ns`.
  void createFunctionWithCode(const std::string& name, const std::string& ns = "") {
    v1::CreateFunctionRequest request;
    request.set_namespace_(ns);
    request.set_name(name);
    request.mutable_config()->set_runtime(v1::RUNTIME_PYTHON3);
    request.mutable_config()->set_handler("index.handler");
    v1::Function function;
    auto context = contextWithDeadline();
    ASSERT_TRUE(functions_->CreateFunction(context.get(), request, &function).ok());
    v1::UploadCodeResponse uploaded;
    ASSERT_TRUE(testing::uploadCode(*functions_, ns, name, archive("v1"), &uploaded).ok());
  }

  static std::string archive(const std::string& marker) {
    return ZipBuilder().addFile("index.py", "def handler(e, c):\n    return '" + marker + "'\n").bytes();
  }

  std::unique_ptr<v1::FunctionService::Stub> functions_ = v1::FunctionService::NewStub(channel_);
  std::unique_ptr<v1::AdminService::Stub> admin_ = v1::AdminService::NewStub(channel_);
};

// One API call made with a given key (empty: none). `tag` keeps names unique per run.
struct Call {
  std::string name;
  // The code when the role may make the call (the call's own outcome).
  Code allowedCode;
  // The roles that may make it.
  std::vector<std::string> roles;
  std::function<grpc::Status(grpc::ClientContext*, const std::string& tag)> run;
};

TEST_F(SecurityTest, EveryCallAnswersEveryRoleWithTheExactCode) {
  createFunctionWithCode("target");
  auto invoke = v1::InvokeService::NewStub(channel_);
  auto scaling = v1::ScalingService::NewStub(channel_);
  auto metrics = v1::MetricsService::NewStub(channel_);
  auto logs = v1::LogService::NewStub(channel_);
  auto reflection = grpc::reflection::v1alpha::ServerReflection::NewStub(channel_);
  const std::vector<std::string> all = {"admin", "developer", "invoker", "viewer"};
  const std::vector<std::string> writers = {"admin", "developer"};
  const std::vector<std::string> readers = {"admin", "developer", "viewer"};

  std::vector<Call> calls = {
      {"CreateFunction", Code::OK, writers,
       [&](grpc::ClientContext* c, const std::string& tag) {
         v1::CreateFunctionRequest r;
         r.set_name("made-" + tag);
         r.mutable_config()->set_runtime(v1::RUNTIME_PYTHON3);
         r.mutable_config()->set_handler("index.handler");
         v1::Function f;
         return functions_->CreateFunction(c, r, &f);
       }},
      {"GetFunction", Code::OK, readers,
       [&](grpc::ClientContext* c, const std::string&) {
         v1::GetFunctionRequest r;
         r.set_name("target");
         v1::Function f;
         return functions_->GetFunction(c, r, &f);
       }},
      {"ListFunctions", Code::OK, readers,
       [&](grpc::ClientContext* c, const std::string&) {
         v1::ListFunctionsResponse f;
         return functions_->ListFunctions(c, v1::ListFunctionsRequest(), &f);
       }},
      {"UpdateFunctionConfig", Code::OK, writers,
       [&](grpc::ClientContext* c, const std::string&) {
         v1::UpdateFunctionConfigRequest r;
         r.set_name("target");
         r.mutable_config()->set_description("touched");
         r.mutable_update_mask()->add_paths("description");
         v1::Function f;
         return functions_->UpdateFunctionConfig(c, r, &f);
       }},
      {"UploadCode", Code::OK, writers,
       [&](grpc::ClientContext* c, const std::string& tag) {
         v1::UploadCodeResponse response;
         auto writer = functions_->UploadCode(c, &response);
         const std::string bytes = archive(tag);
         v1::UploadCodeRequest r;
         r.set_name("target");
         r.set_sha256(common::Sha256::of(bytes));
         r.set_chunk(bytes);
         writer->Write(r);
         writer->WritesDone();
         return writer->Finish();
       }},
      {"ListCodeVersions", Code::OK, readers,
       [&](grpc::ClientContext* c, const std::string&) {
         v1::ListCodeVersionsRequest r;
         r.set_name("target");
         v1::ListCodeVersionsResponse f;
         return functions_->ListCodeVersions(c, r, &f);
       }},
      {"SetActiveVersion", Code::OK, writers,
       [&](grpc::ClientContext* c, const std::string&) {
         v1::SetActiveVersionRequest r;
         r.set_name("target");
         r.set_version(1);
         v1::Function f;
         return functions_->SetActiveVersion(c, r, &f);
       }},
      {"DeleteFunction", Code::OK, writers,
       [&](grpc::ClientContext* c, const std::string& tag) {
         v1::DeleteFunctionRequest r;
         r.set_name("doomed-" + tag);
         google::protobuf::Empty e;
         return functions_->DeleteFunction(c, r, &e);
       }},
      {"Invoke",
       Code::OK,
       {"admin", "developer", "invoker"},
       [&](grpc::ClientContext* c, const std::string&) {
         v1::InvokeRequest r;
         r.set_function("target");
         v1::InvokeResponse f;
         return invoke->Invoke(c, r, &f);
       }},
      {"SetReservedCapacity", Code::OK, writers,
       [&](grpc::ClientContext* c, const std::string&) {
         v1::SetReservedCapacityRequest r;
         r.set_function("target");
         v1::ScalingStatus f;
         return scaling->SetReservedCapacity(c, r, &f);
       }},
      {"SetTrackingPolicy", Code::OK, writers,
       [&](grpc::ClientContext* c, const std::string&) {
         v1::SetTrackingPolicyRequest r; // no policy: tracking off, which changes nothing here
         r.set_function("target");
         v1::ScalingStatus f;
         return scaling->SetTrackingPolicy(c, r, &f);
       }},
      {"AddReservationSchedule", Code::OK, writers,
       [&](grpc::ClientContext* c, const std::string&) {
         v1::AddReservationScheduleRequest r;
         r.mutable_schedule()->set_function("target");
         r.mutable_schedule()->set_count(1);
         r.mutable_schedule()->mutable_recurring()->set_cron("0 20 * * FRI");
         r.mutable_schedule()->mutable_recurring()->mutable_duration()->set_seconds(3600);
         r.set_validate_only(true);
         v1::ReservationSchedule f;
         return scaling->AddReservationSchedule(c, r, &f);
       }},
      {"ListReservationSchedules", Code::OK, readers,
       [&](grpc::ClientContext* c, const std::string&) {
         v1::ListReservationSchedulesRequest r;
         r.set_function("target");
         v1::ListReservationSchedulesResponse f;
         return scaling->ListReservationSchedules(c, r, &f);
       }},
      {"RemoveReservationSchedule", Code::NOT_FOUND, writers, // admitted, then the window is looked up
       [&](grpc::ClientContext* c, const std::string&) {
         v1::RemoveReservationScheduleRequest r;
         r.set_function("target");
         r.set_id("999999");
         google::protobuf::Empty f;
         return scaling->RemoveReservationSchedule(c, r, &f);
       }},
      {"GetReservationPlan", Code::OK, readers,
       [&](grpc::ClientContext* c, const std::string&) {
         v1::GetReservationPlanRequest r;
         r.set_function("target");
         v1::ReservationPlan f;
         return scaling->GetReservationPlan(c, r, &f);
       }},
      {"GetScalingStatus", Code::OK, readers,
       [&](grpc::ClientContext* c, const std::string&) {
         v1::GetScalingStatusRequest r;
         r.set_function("target");
         v1::ScalingStatus f;
         return scaling->GetScalingStatus(c, r, &f);
       }},
      {"WatchMetrics", Code::NOT_FOUND, readers, // admitted, then the function is looked up
       [&](grpc::ClientContext* c, const std::string&) {
         v1::WatchMetricsRequest r;
         r.set_function("no-such-function");
         auto stream = metrics->WatchMetrics(c, r);
         v1::MetricsSnapshot snapshot;
         while (stream->Read(&snapshot)) {
         }
         return stream->Finish();
       }},
      {"QueryMetrics", Code::OK, readers,
       [&](grpc::ClientContext* c, const std::string&) {
         v1::QueryMetricsRequest r;
         r.set_function("target");
         v1::QueryMetricsResponse f;
         return metrics->QueryMetrics(c, r, &f);
       }},
      {"TailLogs", Code::OK, readers,
       [&](grpc::ClientContext* c, const std::string&) {
         v1::TailLogsRequest r;
         r.set_function("target");
         auto stream = logs->TailLogs(c, r);
         v1::LogLine line;
         while (stream->Read(&line)) {
         }
         return stream->Finish();
       }},
      {"QueryInvocations", Code::OK, readers,
       [&](grpc::ClientContext* c, const std::string&) {
         v1::QueryInvocationsRequest r;
         r.set_function("target");
         v1::QueryInvocationsResponse f;
         return logs->QueryInvocations(c, r, &f);
       }},
      {"CreateApiKey",
       Code::OK,
       {"admin"},
       [&](grpc::ClientContext* c, const std::string& tag) {
         v1::CreateApiKeyRequest r;
         r.set_name("made-" + tag);
         r.set_role(v1::VIEWER);
         v1::CreateApiKeyResponse f;
         return admin_->CreateApiKey(c, r, &f);
       }},
      {"ListApiKeys",
       Code::OK,
       {"admin"},
       [&](grpc::ClientContext* c, const std::string&) {
         v1::ListApiKeysResponse f;
         return admin_->ListApiKeys(c, v1::ListApiKeysRequest(), &f);
       }},
      {"RevokeApiKey",
       Code::OK,
       {"admin"},
       [&](grpc::ClientContext* c, const std::string& tag) {
         v1::RevokeApiKeyRequest r;
         r.set_name("throwaway-" + tag);
         v1::ApiKey f;
         return admin_->RevokeApiKey(c, r, &f);
       }},
      {"ListAuditEvents",
       Code::OK,
       {"admin"},
       [&](grpc::ClientContext* c, const std::string&) {
         v1::ListAuditEventsResponse f;
         return admin_->ListAuditEvents(c, v1::ListAuditEventsRequest(), &f);
       }},
      {"ServerReflectionInfo", Code::OK, all,
       [&](grpc::ClientContext* c, const std::string&) {
         auto stream = reflection->ServerReflectionInfo(c);
         grpc::reflection::v1alpha::ServerReflectionRequest r;
         r.set_list_services("*");
         stream->Write(r);
         stream->WritesDone();
         grpc::reflection::v1alpha::ServerReflectionResponse response;
         while (stream->Read(&response)) {
         }
         return stream->Finish();
       }},
  };

  std::map<std::string, std::string> keys;
  keys["admin"] = surged_->adminKey();
  keys["developer"] = testing::createApiKey(*admin_, "matrix-developer", v1::DEVELOPER);
  keys["invoker"] = testing::createApiKey(*admin_, "matrix-invoker", v1::INVOKER);
  keys["viewer"] = testing::createApiKey(*admin_, "matrix-viewer", v1::VIEWER);

  for (const Call& call : calls) {
    for (const std::string& role : {std::string("none"), std::string("bogus"), std::string("admin"),
                                    std::string("developer"), std::string("invoker"), std::string("viewer")}) {
      const std::string tag = role + "-" + std::to_string(&call - calls.data());
      // What the call needs to exist so that an allowed call succeeds.
      createFunctionWithCode("doomed-" + tag);
      testing::createApiKey(*admin_, "throwaway-" + tag, v1::VIEWER);

      std::unique_ptr<grpc::ClientContext> context;
      Code expected;
      if (role == "none") {
        context = testing::contextWithoutKey();
        expected = Code::UNAUTHENTICATED;
      } else if (role == "bogus") {
        context = contextWithDeadline(std::chrono::seconds(30), "surge_nosuchkey_secret");
        expected = Code::UNAUTHENTICATED;
      } else {
        context = contextWithDeadline(std::chrono::seconds(30), keys[role]);
        const bool allowed = std::find(call.roles.begin(), call.roles.end(), role) != call.roles.end();
        expected = allowed ? call.allowedCode : Code::PERMISSION_DENIED;
      }
      const grpc::Status status = call.run(context.get(), tag);
      EXPECT_EQ(status.error_code(), expected)
          << call.name << " as " << role << ": " << status.error_code() << " " << status.error_message();
      if (expected == Code::PERMISSION_DENIED) {
        EXPECT_THAT(status.error_message(), HasSubstr("key 'matrix-" + role + "' has role " + role + ", which may not"))
            << call.name;
      }
    }
  }
}

TEST_F(SecurityTest, MissingAndMalformedKeysSayWhatIsWrong) {
  v1::ListFunctionsResponse response;
  auto context = testing::contextWithoutKey();
  grpc::Status status = functions_->ListFunctions(context.get(), v1::ListFunctionsRequest(), &response);
  EXPECT_EQ(status.error_code(), Code::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), "missing API key: send the metadata 'authorization: Bearer <key>'");

  context = testing::contextWithoutKey();
  context->AddMetadata("authorization", "Basic abc");
  status = functions_->ListFunctions(context.get(), v1::ListFunctionsRequest(), &response);
  EXPECT_EQ(status.error_code(), Code::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), "the authorization metadata must be 'Bearer <key>'");

  context = contextWithDeadline(std::chrono::seconds(30), "not-a-surge-key");
  status = functions_->ListFunctions(context.get(), v1::ListFunctionsRequest(), &response);
  EXPECT_EQ(status.error_code(), Code::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("malformed API key"));

  // The right id with a wrong secret.
  std::string forged = surged_->adminKey();
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  context = contextWithDeadline(std::chrono::seconds(30), forged);
  status = functions_->ListFunctions(context.get(), v1::ListFunctionsRequest(), &response);
  EXPECT_EQ(status.error_code(), Code::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), "unknown or revoked API key");
}

TEST_F(SecurityTest, NamespaceScopedKeySeesNothingOutsideItsNamespaces) {
  createFunctionWithCode("shop-cart", "shop");
  createFunctionWithCode("bank-ledger", "bank");
  const std::string shopKey = testing::createApiKey(*admin_, "shop-dev", v1::DEVELOPER, {"shop"});

  v1::GetFunctionRequest get;
  get.set_namespace_("shop");
  get.set_name("shop-cart");
  v1::Function function;
  auto context = contextWithDeadline(std::chrono::seconds(30), shopKey);
  EXPECT_TRUE(functions_->GetFunction(context.get(), get, &function).ok());

  get.set_namespace_("bank");
  get.set_name("bank-ledger");
  context = contextWithDeadline(std::chrono::seconds(30), shopKey);
  grpc::Status status = functions_->GetFunction(context.get(), get, &function);
  EXPECT_EQ(status.error_code(), Code::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "function 'bank/bank-ledger' not found");

  v1::DeleteFunctionRequest remove;
  remove.set_namespace_("bank");
  remove.set_name("bank-ledger");
  google::protobuf::Empty empty;
  context = contextWithDeadline(std::chrono::seconds(30), shopKey);
  EXPECT_EQ(functions_->DeleteFunction(context.get(), remove, &empty).error_code(), Code::NOT_FOUND);

  v1::ListFunctionsRequest list;
  list.set_namespace_("bank");
  v1::ListFunctionsResponse listed;
  context = contextWithDeadline(std::chrono::seconds(30), shopKey);
  ASSERT_TRUE(functions_->ListFunctions(context.get(), list, &listed).ok());
  EXPECT_EQ(listed.functions_size(), 0);
  list.set_namespace_("shop");
  context = contextWithDeadline(std::chrono::seconds(30), shopKey);
  ASSERT_TRUE(functions_->ListFunctions(context.get(), list, &listed).ok());
  EXPECT_EQ(listed.functions_size(), 1);

  v1::CreateFunctionRequest create;
  create.set_namespace_("bank");
  create.set_name("sneaky");
  create.mutable_config()->set_runtime(v1::RUNTIME_PYTHON3);
  create.mutable_config()->set_handler("index.handler");
  context = contextWithDeadline(std::chrono::seconds(30), shopKey);
  status = functions_->CreateFunction(context.get(), create, &function);
  EXPECT_EQ(status.error_code(), Code::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("limited to the namespaces shop"));

  v1::UploadCodeResponse uploaded;
  testing::setDefaultApiKey(shopKey);
  status = testing::uploadCode(*functions_, "bank", "bank-ledger", archive("evil"), &uploaded);
  testing::setDefaultApiKey(surged_->adminKey());
  EXPECT_EQ(status.error_code(), Code::NOT_FOUND);

  // The bank function is untouched.
  get.set_namespace_("bank");
  context = contextWithDeadline();
  ASSERT_TRUE(functions_->GetFunction(context.get(), get, &function).ok());
  EXPECT_EQ(function.active_version(), 1);
}

// The merchant's case: a developer key scoped to its namespace manages that namespace's
// reservation windows, and cannot see or touch another namespace's.
TEST_F(SecurityTest, ANamespaceScopedDeveloperManagesItsOwnReservationWindowsOnly) {
  createFunctionWithCode("shop-sale", "shop");
  createFunctionWithCode("bank-close", "bank");
  const std::string shopKey = testing::createApiKey(*admin_, "shop-merchant", v1::DEVELOPER, {"shop"});
  auto scaling = v1::ScalingService::NewStub(channel_);
  auto windowFor = [](const std::string& ns, const std::string& name) {
    v1::AddReservationScheduleRequest request;
    request.mutable_schedule()->set_namespace_(ns);
    request.mutable_schedule()->set_function(name);
    request.mutable_schedule()->set_count(1);
    request.mutable_schedule()->mutable_recurring()->set_cron("0 20 * * FRI");
    request.mutable_schedule()->mutable_recurring()->mutable_duration()->set_seconds(3600);
    request.mutable_schedule()->mutable_recurring()->set_time_zone("Asia/Shanghai");
    return request;
  };
  v1::ReservationSchedule added;
  auto context = contextWithDeadline(std::chrono::seconds(30), shopKey);
  ASSERT_TRUE(scaling->AddReservationSchedule(context.get(), windowFor("shop", "shop-sale"), &added).ok());
  context = contextWithDeadline(std::chrono::seconds(30), shopKey);
  EXPECT_EQ(scaling->AddReservationSchedule(context.get(), windowFor("bank", "bank-close"), &added).error_code(),
            Code::NOT_FOUND);

  v1::ListReservationSchedulesRequest list;
  list.set_namespace_("shop");
  list.set_function("shop-sale");
  v1::ListReservationSchedulesResponse listed;
  context = contextWithDeadline(std::chrono::seconds(30), shopKey);
  ASSERT_TRUE(scaling->ListReservationSchedules(context.get(), list, &listed).ok());
  ASSERT_EQ(listed.schedules_size(), 1);
  v1::RemoveReservationScheduleRequest remove;
  remove.set_namespace_("shop");
  remove.set_function("shop-sale");
  remove.set_id(listed.schedules(0).id());
  google::protobuf::Empty empty;
  context = contextWithDeadline(std::chrono::seconds(30), shopKey);
  EXPECT_TRUE(scaling->RemoveReservationSchedule(context.get(), remove, &empty).ok());

  std::vector<std::string> byMerchant;
  v1::ListAuditEventsRequest audit;
  audit.set_page_size(1000);
  do { // every page: the suite's other tests wrote events too
    v1::ListAuditEventsResponse events;
    context = contextWithDeadline();
    ASSERT_TRUE(admin_->ListAuditEvents(context.get(), audit, &events).ok());
    for (const v1::AuditEvent& event : events.events()) {
      if (event.key_name() == "shop-merchant") byMerchant.push_back(event.action() + " " + event.target());
    }
    audit.set_page_token(events.next_page_token());
  } while (!audit.page_token().empty());
  EXPECT_THAT(byMerchant,
              ::testing::ElementsAre("reservation.add shop/shop-sale", "reservation.remove shop/shop-sale"));
}

TEST_F(SecurityTest, InvokerFunctionListAndScopedAdminsAreEnforced) {
  const std::string invoker = testing::createApiKey(*admin_, "cart-invoker", v1::INVOKER, {}, {"cart"});
  auto invoke = v1::InvokeService::NewStub(channel_);
  v1::InvokeRequest request;
  request.set_function("ledger");
  v1::InvokeResponse response;
  auto context = contextWithDeadline(std::chrono::seconds(30), invoker);
  grpc::Status status = invoke->Invoke(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), Code::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(), "key 'cart-invoker' may not invoke function 'ledger'");
  request.set_function("cart");
  context = contextWithDeadline(std::chrono::seconds(30), invoker);
  status = invoke->Invoke(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), Code::NOT_FOUND) << "past the key's function list, to the function itself";
  EXPECT_EQ(status.error_message(), "function 'default/cart' not found");

  // functions only make sense for invokers.
  v1::CreateApiKeyRequest badKey;
  badKey.set_name("odd");
  badKey.set_role(v1::VIEWER);
  badKey.add_functions("cart");
  v1::CreateApiKeyResponse created;
  context = contextWithDeadline();
  status = admin_->CreateApiKey(context.get(), badKey, &created);
  EXPECT_EQ(status.error_code(), Code::INVALID_ARGUMENT);

  // An admin limited to "shop" may not mint an unscoped key, nor one for "bank".
  const std::string shopAdmin = testing::createApiKey(*admin_, "shop-admin", v1::ADMIN, {"shop"});
  v1::CreateApiKeyRequest wider;
  wider.set_name("wider");
  wider.set_role(v1::DEVELOPER);
  context = contextWithDeadline(std::chrono::seconds(30), shopAdmin);
  EXPECT_EQ(admin_->CreateApiKey(context.get(), wider, &created).error_code(), Code::PERMISSION_DENIED);
  wider.add_namespaces("bank");
  context = contextWithDeadline(std::chrono::seconds(30), shopAdmin);
  EXPECT_EQ(admin_->CreateApiKey(context.get(), wider, &created).error_code(), Code::PERMISSION_DENIED);
  wider.clear_namespaces();
  wider.add_namespaces("shop");
  context = contextWithDeadline(std::chrono::seconds(30), shopAdmin);
  EXPECT_TRUE(admin_->CreateApiKey(context.get(), wider, &created).ok());
  // It lists only keys within its scope.
  v1::ListApiKeysResponse listed;
  context = contextWithDeadline(std::chrono::seconds(30), shopAdmin);
  ASSERT_TRUE(admin_->ListApiKeys(context.get(), v1::ListApiKeysRequest(), &listed).ok());
  for (const auto& key : listed.keys()) {
    EXPECT_THAT(key.namespaces(), ::testing::ElementsAre("shop")) << key.name();
  }
  // It may not revoke the unscoped bootstrap key.
  v1::RevokeApiKeyRequest revoke;
  revoke.set_name("bootstrap-admin");
  v1::ApiKey revoked;
  context = contextWithDeadline(std::chrono::seconds(30), shopAdmin);
  EXPECT_EQ(admin_->RevokeApiKey(context.get(), revoke, &revoked).error_code(), Code::PERMISSION_DENIED);
}

TEST_F(SecurityTest, RevokedKeyIsRefusedAtOnceAndNamesAreUniqueAmongActiveKeys) {
  const std::string key = testing::createApiKey(*admin_, "short-lived", v1::DEVELOPER);
  v1::ListFunctionsResponse response;
  auto context = contextWithDeadline(std::chrono::seconds(30), key);
  ASSERT_TRUE(functions_->ListFunctions(context.get(), v1::ListFunctionsRequest(), &response).ok());

  v1::CreateApiKeyRequest duplicate;
  duplicate.set_name("short-lived");
  duplicate.set_role(v1::VIEWER);
  v1::CreateApiKeyResponse created;
  context = contextWithDeadline();
  grpc::Status status = admin_->CreateApiKey(context.get(), duplicate, &created);
  EXPECT_EQ(status.error_code(), Code::ALREADY_EXISTS);
  EXPECT_EQ(status.error_message(), "an active key named 'short-lived' already exists");

  v1::RevokeApiKeyRequest revoke;
  revoke.set_name("short-lived");
  v1::ApiKey revoked;
  context = contextWithDeadline();
  ASSERT_TRUE(admin_->RevokeApiKey(context.get(), revoke, &revoked).ok());
  EXPECT_TRUE(revoked.has_revoke_time());

  context = contextWithDeadline(std::chrono::seconds(30), key);
  status = functions_->ListFunctions(context.get(), v1::ListFunctionsRequest(), &response);
  EXPECT_EQ(status.error_code(), Code::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), "unknown or revoked API key");

  // The name is free again.
  context = contextWithDeadline();
  EXPECT_TRUE(admin_->CreateApiKey(context.get(), duplicate, &created).ok());
}

TEST_F(SecurityTest, TheLastAdminKeyCannotBeRevoked) {
  v1::ListApiKeysResponse keys;
  auto context = contextWithDeadline();
  ASSERT_TRUE(admin_->ListApiKeys(context.get(), v1::ListApiKeysRequest(), &keys).ok());
  // Revoke every other admin key first (other tests may have made some).
  for (const auto& key : keys.keys()) {
    if (key.role() == v1::ADMIN && key.name() != "bootstrap-admin") {
      v1::RevokeApiKeyRequest revoke;
      revoke.set_name(key.name());
      v1::ApiKey revoked;
      context = contextWithDeadline();
      ASSERT_TRUE(admin_->RevokeApiKey(context.get(), revoke, &revoked).ok());
    }
  }
  v1::RevokeApiKeyRequest revoke;
  revoke.set_name("bootstrap-admin");
  v1::ApiKey revoked;
  context = contextWithDeadline();
  const grpc::Status status = admin_->RevokeApiKey(context.get(), revoke, &revoked);
  EXPECT_EQ(status.error_code(), Code::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("'bootstrap-admin' is the last active admin key"));
}

TEST_F(SecurityTest, KeysAreListedWithoutSecretsAndWithLastUse) {
  const std::string key = testing::createApiKey(*admin_, "listed", v1::VIEWER);
  v1::ListFunctionsResponse functions;
  auto context = contextWithDeadline(std::chrono::seconds(30), key);
  ASSERT_TRUE(functions_->ListFunctions(context.get(), v1::ListFunctionsRequest(), &functions).ok());
  v1::ListApiKeysResponse keys;
  context = contextWithDeadline();
  ASSERT_TRUE(admin_->ListApiKeys(context.get(), v1::ListApiKeysRequest(), &keys).ok());
  const std::string secret = key.substr(key.find('_', 6) + 1);
  bool found = false;
  for (const auto& listed : keys.keys()) {
    EXPECT_EQ(listed.DebugString().find(secret), std::string::npos);
    if (listed.name() == "listed") {
      found = true;
      EXPECT_EQ(listed.role(), v1::VIEWER);
      EXPECT_TRUE(listed.has_last_used_time());
      EXPECT_EQ(key.substr(0, key.find('_', 6)), "surge_" + listed.id());
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(SecurityTest, HealthNeedsNoKeyButReflectionDoes) {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::health::v1::HealthCheckResponse response;
  auto context = testing::contextWithoutKey();
  ASSERT_TRUE(health->Check(context.get(), grpc::health::v1::HealthCheckRequest(), &response).ok());
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  auto reflection = grpc::reflection::v1alpha::ServerReflection::NewStub(channel_);
  context = testing::contextWithoutKey();
  auto stream = reflection->ServerReflectionInfo(context.get());
  grpc::reflection::v1alpha::ServerReflectionRequest request;
  request.set_list_services("*");
  stream->Write(request);
  stream->WritesDone();
  grpc::reflection::v1alpha::ServerReflectionResponse answer;
  EXPECT_FALSE(stream->Read(&answer));
  EXPECT_EQ(stream->Finish().error_code(), Code::UNAUTHENTICATED);
}

TEST_F(SecurityTest, BootstrapKeyFileIsPrivateAndHoldsAWorkingAdminToken) {
  const auto path = surged_->dataDir() / "admin.key";
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, surged_->adminKey() + "\n");
  EXPECT_EQ(content.rfind("surge_", 0), 0u);
  EXPECT_THAT(surged_->log(), HasSubstr("created the admin key 'bootstrap-admin'; its token is in " + path.string()));
}

TEST_F(SecurityTest, ChangesAreAuditedWithTheKeyThatMadeThem) {
  const std::string developer = testing::createApiKey(*admin_, "auditor-subject", v1::DEVELOPER);
  v1::CreateFunctionRequest create;
  create.set_name("audited");
  create.mutable_config()->set_runtime(v1::RUNTIME_PYTHON3);
  create.mutable_config()->set_handler("index.handler");
  v1::Function function;
  auto context = contextWithDeadline(std::chrono::seconds(30), developer);
  ASSERT_TRUE(functions_->CreateFunction(context.get(), create, &function).ok());
  testing::setDefaultApiKey(developer);
  v1::UploadCodeResponse uploaded;
  ASSERT_TRUE(testing::uploadCode(*functions_, "", "audited", archive("a"), &uploaded).ok());
  testing::setDefaultApiKey(surged_->adminKey());

  std::vector<v1::AuditEvent> events;
  std::string token;
  do {
    v1::ListAuditEventsRequest request;
    request.set_page_size(50);
    request.set_page_token(token);
    v1::ListAuditEventsResponse page;
    context = contextWithDeadline();
    ASSERT_TRUE(admin_->ListAuditEvents(context.get(), request, &page).ok());
    events.insert(events.end(), page.events().begin(), page.events().end());
    token = page.next_page_token();
  } while (!token.empty());
  auto find = [&](const std::string& action, const std::string& target) -> const v1::AuditEvent* {
    for (const auto& e : events) {
      if (e.action() == action && e.target() == target) return &e;
    }
    return nullptr;
  };
  const auto* keyCreated = find("key.create", "auditor-subject");
  ASSERT_NE(keyCreated, nullptr);
  EXPECT_EQ(keyCreated->key_name(), "bootstrap-admin");
  const auto* functionCreated = find("function.create", "default/audited");
  ASSERT_NE(functionCreated, nullptr);
  EXPECT_EQ(functionCreated->key_name(), "auditor-subject");
  const auto* uploadedEvent = find("code.upload", "default/audited");
  ASSERT_NE(uploadedEvent, nullptr);
  EXPECT_THAT(uploadedEvent->detail(), HasSubstr("version=1"));
  // Oldest first.
  for (size_t i = 1; i < events.size(); ++i) EXPECT_LT(events[i - 1].id(), events[i].id());
}

} // namespace
} // namespace surge
