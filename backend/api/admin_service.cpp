// AdminService: API keys and the audit trail, answered from the worker pool.
#include "api/admin_service.h"

#include "api/proto_time.h"
#include "api/status_mapping.h"
#include "auth/audit_log.h"
#include "auth/key_store.h"
#include "common/absl_compat.h"
#include "common/worker_pool.h"

#include <absl/strings/str_cat.h>

namespace surge::api {
namespace {

using auth::Operation;

absl::StatusOr<auth::Role> roleFromProto(v1::Role role) {
  switch (role) {
  case v1::ADMIN: return auth::Role::kAdmin;
  case v1::DEVELOPER: return auth::Role::kDeveloper;
  case v1::INVOKER: return auth::Role::kInvoker;
  case v1::VIEWER: return auth::Role::kViewer;
  default: return absl::InvalidArgumentError("role is required: ADMIN, DEVELOPER, INVOKER or VIEWER");
  }
}

v1::Role roleToProto(auth::Role role) {
  switch (role) {
  case auth::Role::kAdmin: return v1::ADMIN;
  case auth::Role::kDeveloper: return v1::DEVELOPER;
  case auth::Role::kInvoker: return v1::INVOKER;
  case auth::Role::kViewer: return v1::VIEWER;
  }
  return v1::ROLE_UNSPECIFIED;
}

void toProto(const auth::ApiKey& key, v1::ApiKey& out) {
  out.set_id(key.id);
  out.set_name(key.name);
  out.set_role(roleToProto(key.role));
  for (const auto& f : key.functions) out.add_functions(f);
  for (const auto& ns : key.namespaces) out.add_namespaces(ns);
  *out.mutable_create_time() = toProtoTimestamp(key.createTime);
  if (key.lastUsedTime) *out.mutable_last_used_time() = toProtoTimestamp(*key.lastUsedTime);
  if (key.revokeTime) *out.mutable_revoke_time() = toProtoTimestamp(*key.revokeTime);
}

absl::Status checkCovers(const auth::Principal& who, const std::vector<std::string>& namespaces,
                         const std::string& keyName) {
  if (who.coversNamespaces(namespaces)) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("key '", who.keyName,
                                                  "' is limited to namespaces and may only manage "
                                                  "keys limited to them; '",
                                                  keyName, "' reaches further"));
}

} // namespace

AdminService::AdminService(auth::KeyStore& keys, CallGuard& guard, auth::AuditLog& audit, common::WorkerPool& workers)
    : keys_(keys), guard_(guard), audit_(audit), workers_(workers) {}

grpc::ServerUnaryReactor* AdminService::CreateApiKey(grpc::CallbackServerContext* context,
                                                     const v1::CreateApiKeyRequest* request,
                                                     v1::CreateApiKeyResponse* response) {
  return runAdmitted(guard_, workers_, context, Operation::kManageKeys,
                     [this, request, response](const auth::Principal& who) -> absl::Status {
                       auto role = roleFromProto(request->role());
                       if (!role.ok()) return role.status();
                       std::vector<std::string> functions(request->functions().begin(), request->functions().end());
                       std::vector<std::string> namespaces(request->namespaces().begin(), request->namespaces().end());
                       if (auto status = checkCovers(who, namespaces, request->name()); !status.ok()) return status;
                       auto created = keys_.create(request->name(), *role, functions, namespaces);
                       if (!created.ok()) return created.status();
                       (void)audit_.record(
                           who, "key.create", request->name(),
                           absl::StrCat("id=", created->key.id, " role=", common::toAbsl(auth::roleName(*role))));
                       toProto(created->key, *response->mutable_key());
                       response->set_secret(created->token);
                       return absl::OkStatus();
                     });
}

grpc::ServerUnaryReactor* AdminService::ListApiKeys(grpc::CallbackServerContext* context,
                                                    const v1::ListApiKeysRequest* request,
                                                    v1::ListApiKeysResponse* response) {
  return runAdmitted(guard_, workers_, context, Operation::kManageKeys,
                     [this, request, response](const auth::Principal& who) -> absl::Status {
                       auto keys = keys_.list(request->include_revoked());
                       if (!keys.ok()) return keys.status();
                       for (const auto& key : *keys) {
                         if (who.coversNamespaces(key.namespaces)) toProto(key, *response->add_keys());
                       }
                       return absl::OkStatus();
                     });
}

grpc::ServerUnaryReactor* AdminService::RevokeApiKey(grpc::CallbackServerContext* context,
                                                     const v1::RevokeApiKeyRequest* request, v1::ApiKey* response) {
  return runAdmitted(guard_, workers_, context, Operation::kManageKeys,
                     [this, request, response](const auth::Principal& who) -> absl::Status {
                       if (request->name().empty()) return absl::InvalidArgumentError("name of the key is required");
                       auto keys = keys_.list(false);
                       if (!keys.ok()) return keys.status();
                       for (const auto& key : *keys) {
                         if ((key.name == request->name() || key.id == request->name())) {
                           if (auto status = checkCovers(who, key.namespaces, key.name); !status.ok()) return status;
                         }
                       }
                       auto revoked = keys_.revoke(request->name());
                       if (!revoked.ok()) return revoked.status();
                       (void)audit_.record(who, "key.revoke", revoked->name, absl::StrCat("id=", revoked->id));
                       toProto(*revoked, *response);
                       return absl::OkStatus();
                     });
}

grpc::ServerUnaryReactor* AdminService::ListAuditEvents(grpc::CallbackServerContext* context,
                                                        const v1::ListAuditEventsRequest* request,
                                                        v1::ListAuditEventsResponse* response) {
  return runAdmitted(guard_, workers_, context, Operation::kReadAudit,
                     [this, request, response](const auth::Principal&) -> absl::Status {
                       const absl::Time since =
                           request->has_since_time() ? fromProtoTimestamp(request->since_time()) : absl::InfinitePast();
                       auto page = audit_.list(since, request->page_size(), request->page_token());
                       if (!page.ok()) return page.status();
                       for (const auto& event : page->events) {
                         v1::AuditEvent& out = *response->add_events();
                         out.set_id(event.id);
                         *out.mutable_time() = toProtoTimestamp(event.time);
                         out.set_key_id(event.keyId);
                         out.set_key_name(event.keyName);
                         out.set_action(event.action);
                         out.set_target(event.target);
                         out.set_detail(event.detail);
                       }
                       response->set_next_page_token(page->nextPageToken);
                       return absl::OkStatus();
                     });
}

} // namespace surge::api
