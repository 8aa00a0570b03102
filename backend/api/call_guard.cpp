// The API service's gate: key check, role check, and the namespace scope rules.
#include "api/call_guard.h"

#include "api/status_mapping.h"
#include "auth/key_store.h"
#include "common/function_ref.h"

#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <grpcpp/server_context.h>

#include <string_view>

namespace surge::api {

absl::StatusOr<PrincipalPtr> CallGuard::admit(const grpc::CallbackServerContext& context, auth::Operation operation) {
  const auto& metadata = context.client_metadata();
  const auto header = metadata.find("authorization");
  const std::string_view authorization =
      header == metadata.end() ? std::string_view() : std::string_view(header->second.data(), header->second.size());
  auto principal = keys_.authenticate(authorization);
  if (!principal.ok()) return principal.status();
  if (auto status = auth::checkRole(**principal, operation); !status.ok()) return status;
  return principal;
}

absl::Status checkFunctionVisible(const auth::Principal& who, const std::string& ns, const std::string& name) {
  if (who.seesNamespace(ns)) return absl::OkStatus();
  return absl::NotFoundError(absl::StrCat("function '", common::FunctionRef{ns, name}.key(), "' not found"));
}

absl::Status checkMayCreateIn(const auth::Principal& who, const std::string& ns) {
  if (who.seesNamespace(ns)) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("key '", who.keyName, "' is limited to the namespaces ",
                                                  absl::StrJoin(who.namespaces, ", "), "; it may not create in '", ns,
                                                  "'"));
}

grpc::ServerUnaryReactor* finishNow(grpc::CallbackServerContext* context, const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(toGrpcStatus(status));
  return reactor;
}

} // namespace surge::api
