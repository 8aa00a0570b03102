// The API service's gate: every call's key is authenticated and its role checked here, on the
// reactor thread, before any work is handed off.
#pragma once

#include "api/status_mapping.h"
#include "auth/policy.h"
#include "auth/principal.h"
#include "common/worker_pool.h"

#include <absl/status/statusor.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <memory>
#include <string>

namespace grpc {
class CallbackServerContext;
}
namespace surge::auth {
class KeyStore;
}

namespace surge::api {

using PrincipalPtr = std::shared_ptr<const auth::Principal>;

// Thread-safe; the key store must outlive it.
class CallGuard {
public:
  explicit CallGuard(auth::KeyStore& keys) : keys_(keys) {}

  // UNAUTHENTICATED for a missing, malformed, unknown or revoked key; PERMISSION_DENIED when the
  // key's role may not perform `operation`. Costs microseconds (a cached key check).
  absl::StatusOr<PrincipalPtr> admit(const grpc::CallbackServerContext& context, auth::Operation operation);

private:
  auth::KeyStore& keys_;
};

// Scope rules shared by the services. A key limited to namespaces sees nothing outside them:
// NOT_FOUND for a function there (the same answer as for a missing function), PERMISSION_DENIED
// for creating one there.
absl::Status checkFunctionVisible(const auth::Principal& who, const std::string& ns, const std::string& name);
absl::Status checkMayCreateIn(const auth::Principal& who, const std::string& ns);

// Finishes a unary call at once with `status` (for refusals before any work starts).
grpc::ServerUnaryReactor* finishNow(grpc::CallbackServerContext* context, const absl::Status& status);

// The shape of every unary call that touches the store: admit it for `operation` on the reactor
// thread, then run `work(principal)` on `workers` (it may block) and finish the call with the
// absl::Status it returns.
template <typename Work>
grpc::ServerUnaryReactor* runAdmitted(CallGuard& guard, common::WorkerPool& workers,
                                      grpc::CallbackServerContext* context, auth::Operation operation, Work work) {
  auto principal = guard.admit(*context, operation);
  if (!principal.ok()) return finishNow(context, principal.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  workers.post([reactor, who = std::move(*principal), work = std::move(work)]() mutable {
    reactor->Finish(toGrpcStatus(work(*who)));
  });
  return reactor;
}

} // namespace surge::api
