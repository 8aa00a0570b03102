// AdminService: API keys and the audit trail.
#pragma once

#include "api/call_guard.h"
#include "surge/v1/admin.grpc.pb.h"

namespace surge::auth {
class AuditLog;
class KeyStore;
} // namespace surge::auth
namespace surge::common {
class WorkerPool;
}

namespace surge::api {

// Admin keys only. A namespace-scoped admin manages only keys scoped within its namespaces, so
// it can never mint a key that reaches further than itself. Everything passed in must outlive
// the gRPC server.
class AdminService final : public v1::AdminService::CallbackService {
public:
  AdminService(auth::KeyStore& keys, CallGuard& guard, auth::AuditLog& audit, common::WorkerPool& workers);

  grpc::ServerUnaryReactor* CreateApiKey(grpc::CallbackServerContext* context, const v1::CreateApiKeyRequest* request,
                                         v1::CreateApiKeyResponse* response) override;
  grpc::ServerUnaryReactor* ListApiKeys(grpc::CallbackServerContext* context, const v1::ListApiKeysRequest* request,
                                        v1::ListApiKeysResponse* response) override;
  grpc::ServerUnaryReactor* RevokeApiKey(grpc::CallbackServerContext* context, const v1::RevokeApiKeyRequest* request,
                                         v1::ApiKey* response) override;
  grpc::ServerUnaryReactor* ListAuditEvents(grpc::CallbackServerContext* context,
                                            const v1::ListAuditEventsRequest* request,
                                            v1::ListAuditEventsResponse* response) override;

private:
  auth::KeyStore& keys_;
  CallGuard& guard_;
  auth::AuditLog& audit_;
  common::WorkerPool& workers_;
};

} // namespace surge::api
