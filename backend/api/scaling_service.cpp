// ScalingService: SetReservedCapacity and GetScalingStatus over the store and the scheduler.
#include "api/scaling_service.h"

#include "api/function_mapping.h"
#include "api/proto_time.h"
#include "api/status_mapping.h"
#include "api/unimplemented_services.h"
#include "common/function_ref.h"
#include "common/worker_pool.h"
#include "control/function_control.h"
#include "scheduler/scheduler.h"
#include "store/function_store.h"

#include <absl/strings/str_cat.h>

namespace surge::api {
namespace {

using auth::Operation;

v1::InstanceState toProto(scheduler::InstanceState state) {
  switch (state) {
  case scheduler::InstanceState::kStarting: return v1::STARTING;
  case scheduler::InstanceState::kIdle: return v1::IDLE;
  case scheduler::InstanceState::kBusy: return v1::BUSY;
  case scheduler::InstanceState::kDraining: return v1::DRAINING;
  }
  return v1::INSTANCE_STATE_UNSPECIFIED;
}

void toProto(const scheduler::FunctionStatus& status, v1::ScalingStatus& out) {
  out.set_reserved_ready(status.reservedReady);
  out.set_in_flight(status.inFlight);
  out.set_queue_depth(status.queueDepth);
  for (const scheduler::InstanceStatus& instance : status.instances) {
    v1::InstanceStatus& proto = *out.add_instances();
    proto.set_id(std::to_string(instance.id));
    proto.set_kind(api::toProto(instance.kind)); // qualified: the toProto overloads above hide it
    proto.set_state(toProto(instance.state));
    proto.set_version(instance.version);
    proto.set_in_flight(instance.inFlight);
    *proto.mutable_start_time() = toProtoTimestamp(instance.startTime);
  }
}

} // namespace

ScalingService::ScalingService(control::FunctionControl& control, scheduler::Scheduler& scheduler, CallGuard& guard,
                               common::WorkerPool& workers)
    : control_(control), scheduler_(scheduler), guard_(guard), workers_(workers) {}

void ScalingService::answerStatus(grpc::ServerUnaryReactor* reactor, const std::string& ns, const std::string& name,
                                  v1::ScalingStatus* response) {
  scheduler_.status(common::FunctionRef{ns, name}.key(), [reactor, response](scheduler::FunctionStatus status) {
    toProto(status, *response);
    reactor->Finish(grpc::Status::OK);
  });
}

grpc::ServerUnaryReactor* ScalingService::SetReservedCapacity(grpc::CallbackServerContext* context,
                                                              const v1::SetReservedCapacityRequest* request,
                                                              v1::ScalingStatus* response) {
  auto who = guard_.admit(*context, Operation::kWriteScaling);
  if (!who.ok()) return finishNow(context, who.status());
  const std::string ns = namespaceOrDefault(request->namespace_());
  if (auto status = checkFunctionVisible(**who, ns, request->function()); !status.ok()) {
    return finishNow(context, status);
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // On a worker: the target is stored if it fits the memory budget; then the scheduler applies
  // it and answers the status.
  workers_.post([this, reactor, who = std::move(*who), ns, request, response] {
    const uint32_t count = request->count();
    auto updated = control_.setReservedTarget(*who, {ns, request->function()}, count);
    if (!updated.ok()) return reactor->Finish(toGrpcStatus(updated.status()));
    response->set_namespace_(ns);
    response->set_function(request->function());
    response->set_reserved_target(count);
    // The scheduler applies the change before it answers: both go through its loop in order.
    answerStatus(reactor, ns, request->function(), response);
  });
  return reactor;
}

grpc::ServerUnaryReactor* ScalingService::GetScalingStatus(grpc::CallbackServerContext* context,
                                                           const v1::GetScalingStatusRequest* request,
                                                           v1::ScalingStatus* response) {
  auto who = guard_.admit(*context, Operation::kReadScaling);
  if (!who.ok()) return finishNow(context, who.status());
  const std::string ns = namespaceOrDefault(request->namespace_());
  if (auto status = checkFunctionVisible(**who, ns, request->function()); !status.ok()) {
    return finishNow(context, status);
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto reply = [this, reactor, ns, request, response](const scheduler::FunctionDefinition& function) {
    response->set_namespace_(ns);
    response->set_function(request->function());
    response->set_reserved_target(function.reservedTarget);
    answerStatus(reactor, ns, request->function(), response);
  };
  if (auto function = control_.directory().cached(ns, request->function())) {
    reply(*function);
    return reactor;
  }
  workers_.post([this, reactor, ns, request, reply] {
    auto function = control_.directory().load(ns, request->function());
    if (!function.ok()) return reactor->Finish(toGrpcStatus(function.status()));
    reply(**function);
  });
  return reactor;
}

grpc::ServerUnaryReactor* ScalingService::AddReservationSchedule(grpc::CallbackServerContext* context,
                                                                 const v1::AddReservationScheduleRequest* request,
                                                                 v1::ReservationSchedule*) {
  return finishScheduleCallPending(guard_, context, Operation::kWriteScaling, request->schedule().namespace_(),
                                   request->schedule().function(), "ScalingService.AddReservationSchedule");
}

grpc::ServerUnaryReactor* ScalingService::ListReservationSchedules(grpc::CallbackServerContext* context,
                                                                   const v1::ListReservationSchedulesRequest* request,
                                                                   v1::ListReservationSchedulesResponse*) {
  return finishScheduleCallPending(guard_, context, Operation::kReadScaling, request->namespace_(), request->function(),
                                   "ScalingService.ListReservationSchedules");
}

grpc::ServerUnaryReactor* ScalingService::RemoveReservationSchedule(grpc::CallbackServerContext* context,
                                                                    const v1::RemoveReservationScheduleRequest* request,
                                                                    google::protobuf::Empty*) {
  return finishScheduleCallPending(guard_, context, Operation::kWriteScaling, request->namespace_(),
                                   request->function(), "ScalingService.RemoveReservationSchedule");
}

} // namespace surge::api
