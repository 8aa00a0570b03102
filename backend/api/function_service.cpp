// FunctionService: each call is validated, handed to the worker pool, and answered from there.
#include "api/function_service.h"

#include "api/function_mapping.h"
#include "api/status_mapping.h"
#include "common/sha256.h"
#include "common/worker_pool.h"
#include "control/function_control.h"
#include "store/function_store.h"

#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>

#include <atomic>

namespace surge::api {

using auth::Operation;

FunctionService::FunctionService(store::FunctionStore& store, control::FunctionControl& control, CallGuard& guard,
                                 common::WorkerPool& workers)
    : store_(store), control_(control), guard_(guard), workers_(workers) {}

grpc::ServerUnaryReactor* FunctionService::CreateFunction(grpc::CallbackServerContext* context,
                                                          const v1::CreateFunctionRequest* request,
                                                          v1::Function* response) {
  return runAdmitted(guard_, workers_, context, Operation::kWriteFunctions,
                     [this, request, response](const auth::Principal& who) -> absl::Status {
                       const std::string ns = namespaceOrDefault(request->namespace_());
                       if (auto status = checkMayCreateIn(who, ns); !status.ok()) return status;
                       auto config = fromProto(request->config());
                       if (!config.ok()) return config.status();
                       auto created = control_.create(who, {ns, request->name()}, *config);
                       if (!created.ok()) return created.status();
                       toProto(*created, *response);
                       return absl::OkStatus();
                     });
}

grpc::ServerUnaryReactor* FunctionService::GetFunction(grpc::CallbackServerContext* context,
                                                       const v1::GetFunctionRequest* request, v1::Function* response) {
  return runAdmitted(guard_, workers_, context, Operation::kReadFunctions,
                     [this, request, response](const auth::Principal& who) -> absl::Status {
                       const std::string ns = namespaceOrDefault(request->namespace_());
                       if (auto status = checkFunctionVisible(who, ns, request->name()); !status.ok()) return status;
                       auto function = store_.getFunction(ns, request->name());
                       if (!function.ok()) return function.status();
                       toProto(*function, *response);
                       return absl::OkStatus();
                     });
}

grpc::ServerUnaryReactor* FunctionService::ListFunctions(grpc::CallbackServerContext* context,
                                                         const v1::ListFunctionsRequest* request,
                                                         v1::ListFunctionsResponse* response) {
  return runAdmitted(guard_, workers_, context, Operation::kReadFunctions,
                     [this, request, response](const auth::Principal& who) -> absl::Status {
                       const std::string ns = namespaceOrDefault(request->namespace_());
                       auto page =
                           store_.listFunctions(ns, request->prefix(), request->page_size(), request->page_token());
                       if (!page.ok()) return page.status();
                       if (!who.seesNamespace(ns)) return absl::OkStatus(); // nothing there for this key
                       for (const auto& function : page->functions) toProto(function, *response->add_functions());
                       response->set_next_page_token(page->nextPageToken);
                       return absl::OkStatus();
                     });
}

grpc::ServerUnaryReactor* FunctionService::UpdateFunctionConfig(grpc::CallbackServerContext* context,
                                                                const v1::UpdateFunctionConfigRequest* request,
                                                                v1::Function* response) {
  return runAdmitted(guard_, workers_, context, Operation::kWriteFunctions,
                     [this, request, response](const auth::Principal& who) -> absl::Status {
                       const std::string ns = namespaceOrDefault(request->namespace_());
                       if (auto status = checkFunctionVisible(who, ns, request->name()); !status.ok()) return status;
                       auto updated = control_.updateConfig(
                           who, {ns, request->name()}, request->expected_revision(),
                           [request](store::FunctionConfig& config) {
                             return applyFieldMask(request->update_mask(), request->config(), config);
                           },
                           absl::StrCat("fields=", absl::StrJoin(request->update_mask().paths(), ",")));
                       if (!updated.ok()) return updated.status();
                       toProto(*updated, *response);
                       return absl::OkStatus();
                     });
}

grpc::ServerUnaryReactor* FunctionService::DeleteFunction(grpc::CallbackServerContext* context,
                                                          const v1::DeleteFunctionRequest* request,
                                                          google::protobuf::Empty*) {
  return runAdmitted(guard_, workers_, context, Operation::kWriteFunctions,
                     [this, request](const auth::Principal& who) {
                       const std::string ns = namespaceOrDefault(request->namespace_());
                       if (auto status = checkFunctionVisible(who, ns, request->name()); !status.ok()) return status;
                       return control_.remove(who, {ns, request->name()}, request->expected_revision());
                     });
}

grpc::ServerUnaryReactor* FunctionService::ListCodeVersions(grpc::CallbackServerContext* context,
                                                            const v1::ListCodeVersionsRequest* request,
                                                            v1::ListCodeVersionsResponse* response) {
  return runAdmitted(guard_, workers_, context, Operation::kReadFunctions,
                     [this, request, response](const auth::Principal& who) -> absl::Status {
                       const std::string ns = namespaceOrDefault(request->namespace_());
                       if (auto status = checkFunctionVisible(who, ns, request->name()); !status.ok()) return status;
                       auto versions = store_.listVersions(ns, request->name());
                       if (!versions.ok()) return versions.status();
                       for (const auto& version : *versions) toProto(version, *response->add_versions());
                       return absl::OkStatus();
                     });
}

grpc::ServerUnaryReactor* FunctionService::SetActiveVersion(grpc::CallbackServerContext* context,
                                                            const v1::SetActiveVersionRequest* request,
                                                            v1::Function* response) {
  return runAdmitted(guard_, workers_, context, Operation::kWriteFunctions,
                     [this, request, response](const auth::Principal& who) -> absl::Status {
                       const std::string ns = namespaceOrDefault(request->namespace_());
                       if (auto status = checkFunctionVisible(who, ns, request->name()); !status.ok()) return status;
                       auto updated = control_.setActiveVersion(who, {ns, request->name()}, request->version(),
                                                                request->expected_revision());
                       if (!updated.ok()) return updated.status();
                       toProto(*updated, *response);
                       return absl::OkStatus();
                     });
}

namespace {

// Receives an UploadCode stream. The reactor thread only checks each message; appending to the
// temp file and the final commit run on the worker pool, which asks for the next message when
// the previous chunk is written, so at most one chunk is in memory per upload.
class UploadReactor final : public grpc::ServerReadReactor<v1::UploadCodeRequest> {
public:
  // Starts reading, or finishes at once when the call was not admitted.
  UploadReactor(grpc::CallbackServerContext* context, absl::StatusOr<PrincipalPtr> principal,
                store::FunctionStore& store, control::FunctionControl& control, common::WorkerPool& workers,
                v1::UploadCodeResponse* response)
      : context_(context), store_(store), control_(control), workers_(workers), response_(response) {
    if (!principal.ok()) {
      Finish(toGrpcStatus(principal.status()));
      return;
    }
    who_ = std::move(*principal);
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      onStreamEnd();
      return;
    }
    if (request_.chunk().size() > FunctionService::kMaxChunkBytes) {
      return fail(absl::InvalidArgumentError(absl::StrCat("UploadCode chunk of ", request_.chunk().size(),
                                                          " bytes is over the limit of ",
                                                          FunctionService::kMaxChunkBytes, " bytes")));
    }
    if (messages_++ == 0) return onFirstMessage();
    if (auto status = checkRepeatedFields(); !status.ok()) return fail(status);
    workers_.post([this] { appendAndContinue(); });
  }

  void OnDone() override { delete this; }

private:
  void onFirstMessage() {
    ns_ = namespaceOrDefault(request_.namespace_());
    name_ = request_.name();
    sha256_ = request_.sha256();
    expectedRevision_ = request_.expected_revision();
    if (name_.empty()) return fail(absl::InvalidArgumentError("the first UploadCode message must name the function"));
    if (!common::isSha256Hex(sha256_)) {
      return fail(absl::InvalidArgumentError(
          "the first UploadCode message must carry sha256: 64 lowercase hex digits of the whole archive"));
    }
    if (auto status = checkFunctionVisible(*who_, ns_, name_); !status.ok()) return fail(status);
    workers_.post([this] {
      auto upload = store_.beginUpload(ns_, name_);
      if (!upload.ok()) return fail(upload.status());
      upload_ = std::move(*upload);
      appendAndContinue();
    });
  }

  absl::Status checkRepeatedFields() const {
    if ((!request_.namespace_().empty() && namespaceOrDefault(request_.namespace_()) != ns_) ||
        (!request_.name().empty() && request_.name() != name_) ||
        (!request_.sha256().empty() && request_.sha256() != sha256_)) {
      return absl::InvalidArgumentError("UploadCode messages after the first must not name another function or sha256");
    }
    return absl::OkStatus();
  }

  // On a worker thread.
  void appendAndContinue() {
    if (auto status = upload_->append(request_.chunk()); !status.ok()) return fail(status);
    StartRead(&request_);
  }

  void onStreamEnd() {
    if (context_->IsCancelled()) return fail(absl::CancelledError("the client cancelled the upload"));
    if (messages_ == 0) return fail(absl::InvalidArgumentError("UploadCode stream carried no messages"));
    workers_.post([this] {
      auto result = control_.commitUpload(*who_, {ns_, name_}, std::move(upload_), sha256_, expectedRevision_);
      if (!result.ok()) return fail(result.status());
      toProto(result->version, *response_->mutable_version());
      response_->set_created(result->created);
      toProto(result->function, *response_->mutable_function());
      Finish(grpc::Status::OK);
    });
  }

  void fail(const absl::Status& status) {
    upload_.reset(); // drops the temp file now rather than when the reactor is deleted
    Finish(toGrpcStatus(status));
  }

  grpc::CallbackServerContext* context_;
  store::FunctionStore& store_;
  control::FunctionControl& control_;
  common::WorkerPool& workers_;
  PrincipalPtr who_;
  v1::UploadCodeResponse* response_;
  v1::UploadCodeRequest request_;
  int64_t messages_ = 0;
  std::string ns_, name_, sha256_;
  int64_t expectedRevision_ = 0;
  std::unique_ptr<store::CodeUpload> upload_;
};

} // namespace

grpc::ServerReadReactor<v1::UploadCodeRequest>* FunctionService::UploadCode(grpc::CallbackServerContext* context,
                                                                            v1::UploadCodeResponse* response) {
  return new UploadReactor(context, guard_.admit(*context, Operation::kWriteFunctions), store_, control_, workers_,
                           response);
}

} // namespace surge::api
