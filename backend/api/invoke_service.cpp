// InvokeService: one reactor per call, finished by the scheduler's callback.
#include "api/invoke_service.h"

#include "api/function_mapping.h"
#include "api/status_mapping.h"
#include "common/worker_pool.h"
#include "control/function_directory.h"
#include "logs/invocation_record.h"
#include "scheduler/scheduler.h"

#include <absl/strings/str_cat.h>

#include <atomic>
#include <chrono>
#include <cmath>

namespace surge::api {
namespace {

// The gRPC deadline (system clock) as a point on the scheduler's steady clock.
scheduler::SteadyTime steadyDeadline(std::chrono::system_clock::time_point deadline) {
  if (deadline == std::chrono::system_clock::time_point::max()) return scheduler::SteadyTime::max();
  const auto left = deadline - std::chrono::system_clock::now();
  return std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(left);
}

// One Invoke call. Two parties hold it: gRPC until OnDone, and the work (the store lookup on a
// worker, then the scheduler's callback) until it lets go; the last to let go deletes it. Whoever finishes
// first wins: the scheduler's answer, or a cancellation, which answers CANCELLED at once, so that
// a caller who gives up (or a server shutting down) never waits for a function still running.
class InvokeCall final : public grpc::ServerUnaryReactor {
public:
  InvokeCall(grpc::CallbackServerContext& context, const v1::InvokeRequest& request, v1::InvokeResponse& response,
             scheduler::Scheduler& scheduler)
      : context_(context), response_(response), scheduler_(scheduler), payload_(request.payload()),
        logTail_(request.log_tail()), deadline_(steadyDeadline(context.deadline())),
        token_(std::make_shared<engine::CancellationToken>()) {}

  // Hands the work's hold to the scheduler, which answers through answer().
  void submit(scheduler::FunctionDefinitionPtr function, std::shared_ptr<const engine::InstanceSpec> versionSpec) {
    scheduler::Invocation invocation;
    invocation.function = std::move(function);
    invocation.versionSpec = std::move(versionSpec);
    // From copies taken on the reactor thread: after a cancellation gRPC may free the request
    // and the context while a worker still looks the function up.
    invocation.payload = std::move(payload_);
    invocation.deadline = deadline_;
    invocation.cancellation = token_;
    invocation.logTail = logTail_;
    // The work's hold lasts as long as the scheduler keeps this callback: it lets go after the
    // answer, or unanswered when a server shutting down drops the calls still in flight (a
    // hold released only by the answer would then leak the call).
    std::shared_ptr<InvokeCall> hold(this, [](InvokeCall* call) { call->release(); });
    scheduler_.submit(std::move(invocation), [this, hold = std::move(hold)](scheduler::InvocationResult result) {
      answer(std::move(result));
    });
  }

  // Ends the work without the scheduler.
  void fail(const absl::Status& status) {
    finishOnce(toGrpcStatus(status));
    release();
  }

  void OnCancel() override {
    token_->cancel();
    finishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "the call was cancelled"));
  }
  void OnDone() override { release(); }

private:
  bool claim() { return !finished_.exchange(true); }
  void finishOnce(const grpc::Status& status) {
    if (claim()) Finish(status);
  }
  void release() {
    if (holders_.fetch_sub(1) == 1) delete this;
  }

  void answer(scheduler::InvocationResult result) {
    if (!claim()) return; // cancelled and answered already
    if (!result.outcome.ok()) {
      // A refusal for load says when a retry has a fair chance, from the queue's drain rate.
      if (result.retryAfter > absl::ZeroDuration()) {
        context_.AddTrailingMetadata("retry-after-ms", std::to_string(absl::ToInt64Milliseconds(result.retryAfter)));
      }
      return Finish(toGrpcStatus(result.outcome.status()));
    }
    engine::InvokeResult& outcome = *result.outcome;
    if (outcome.error) {
      v1::FunctionError& error = *response_.mutable_error();
      error.set_type(std::move(outcome.error->type));
      error.set_message(std::move(outcome.error->message));
      error.set_trace(std::move(outcome.error->trace));
    } else {
      response_.set_result(std::move(outcome.output));
    }
    const int64_t executionUs = absl::ToInt64Microseconds(outcome.execution);
    response_.set_request_id(std::move(result.requestId));
    response_.set_queue_wait_us(absl::ToInt64Microseconds(result.queueWait));
    response_.set_execution_us(executionUs);
    response_.set_billed_ms(logs::billedMilliseconds(outcome.execution));
    response_.set_cold_start(result.coldStart);
    response_.set_instance_id(std::to_string(result.instance));
    response_.set_instance_kind(toProto(result.kind));
    response_.set_version(result.version);
    response_.set_log_tail(std::move(outcome.logTail));
    Finish(grpc::Status::OK);
  }

  grpc::CallbackServerContext& context_; // only until the call is finished
  v1::InvokeResponse& response_;         // likewise
  scheduler::Scheduler& scheduler_;
  std::string payload_;
  const bool logTail_;
  scheduler::SteadyTime deadline_;
  std::shared_ptr<engine::CancellationToken> token_;
  std::atomic<bool> finished_{false};
  std::atomic<int> holders_{2}; // gRPC and the work
};

} // namespace

InvokeService::InvokeService(CallGuard& guard, control::FunctionDirectory& directory, scheduler::Scheduler& scheduler,
                             common::WorkerPool& workers)
    : guard_(guard), directory_(directory), scheduler_(scheduler), workers_(workers) {}

grpc::ServerUnaryReactor* InvokeService::Invoke(grpc::CallbackServerContext* context, const v1::InvokeRequest* request,
                                                v1::InvokeResponse* response) {
  auto who = guard_.admit(*context, auth::Operation::kInvoke);
  if (!who.ok()) return finishNow(context, who.status());
  const std::string ns = namespaceOrDefault(request->namespace_());
  if (auto status = checkFunctionVisible(**who, ns, request->function()); !status.ok()) {
    return finishNow(context, status);
  }
  if (!(*who)->mayInvoke(request->function())) {
    return finishNow(context, absl::PermissionDeniedError(absl::StrCat(
                                  "key '", (*who)->keyName, "' may not invoke function '", request->function(), "'")));
  }
  if (request->payload().size() > kMaxPayloadBytes) {
    return finishNow(context, absl::InvalidArgumentError(absl::StrCat("payload of ", request->payload().size(),
                                                                      " bytes is over the limit of ", kMaxPayloadBytes,
                                                                      " bytes (6 MiB)")));
  }
  if (request->version() < 0) {
    return finishNow(context,
                     absl::InvalidArgumentError(absl::StrCat("version ", request->version(),
                                                             " is not valid: 0 (the active version) or 1 and up")));
  }
  auto* call = new InvokeCall(*context, *request, *response, scheduler_);
  auto function = directory_.cached(ns, request->function());
  if (function && (request->version() == 0 || request->version() == function->spec.version)) {
    call->submit(std::move(function), nullptr); // the warm path: no store access
    return call;
  }
  workers_.post([this, call, ns, name = request->function(), version = request->version()] {
    auto function = directory_.load(ns, name);
    if (!function.ok()) return call->fail(function.status());
    if (version == 0 || version == (*function)->spec.version) return call->submit(std::move(*function), nullptr);
    auto spec = directory_.versionSpec(**function, version);
    if (!spec.ok()) return call->fail(spec.status());
    call->submit(std::move(*function), std::move(*spec));
  });
  return call;
}

} // namespace surge::api
