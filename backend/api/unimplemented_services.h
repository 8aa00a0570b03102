// The surge.v1 calls that later parts of the platform implement. Until then each call is
// admitted like any other (key, role, scope) and then answers UNIMPLEMENTED saying which part
// brings it, so clients and their keys can be written against the whole API today.
#pragma once

#include "api/call_guard.h"
#include "auth/policy.h"

#include <grpcpp/grpcpp.h>

#include <string>

namespace surge::api {

// Admits a call on `function`, checks that the key sees it, then answers UNIMPLEMENTED saying
// that `call` arrives with reservation schedules (for the ScalingService calls not served yet).
grpc::ServerUnaryReactor* finishScheduleCallPending(CallGuard& guard, grpc::CallbackServerContext* context,
                                                    auth::Operation operation, const std::string& ns,
                                                    const std::string& function, const char* call);

} // namespace surge::api
