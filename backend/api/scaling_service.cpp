// ScalingService: the standing target, the windows and their plan over control/, the status over
// the scheduler.
#include "api/scaling_service.h"

#include "api/function_mapping.h"
#include "api/proto_time.h"
#include "api/reservation_mapping.h"
#include "api/status_mapping.h"
#include "common/clock.h"
#include "common/function_ref.h"
#include "common/worker_pool.h"
#include "control/function_control.h"
#include "control/function_directory.h"
#include "control/reservation_control.h"
#include "scheduler/scheduler.h"
#include "store/function_store.h"

#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>

#include <algorithm>
#include <optional>
#include <utility>

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
  // With a policy the scheduler's target is the one kept: the windows' plan knows only the
  // standing target, which tracking replaces.
  if (status.tracking) {
    out.set_reserved_target(status.reservedTarget);
    v1::TrackingPolicy& policy = *out.mutable_tracking();
    policy.set_min_reserved(status.tracking->minReserved);
    policy.set_max_reserved(status.tracking->maxReserved);
    policy.set_target_utilization(status.tracking->targetUtilization);
    *policy.mutable_cooldown() = toProtoDuration(status.tracking->cooldown);
    out.set_tracking_sets_target(status.trackingSets);
    out.set_tracked_target(status.trackedTarget.value_or(0));
    if (status.utilization) out.set_utilization(*status.utilization);
    if (status.trackingSets) {
      out.clear_schedule_id();
      out.set_warming(false);
    }
  }
}

common::TrackingPolicy fromProto(const v1::TrackingPolicy& proto) {
  common::TrackingPolicy policy;
  policy.minReserved = proto.min_reserved();
  policy.maxReserved = proto.max_reserved();
  policy.targetUtilization = proto.target_utilization();
  if (proto.has_cooldown()) policy.cooldown = fromProtoDuration(proto.cooldown());
  return policy;
}

} // namespace

ScalingService::ScalingService(control::FunctionControl& control, control::ReservationControl& reservations,
                               scheduler::Scheduler& scheduler, CallGuard& guard, common::WorkerPool& workers,
                               const common::Clock& clock)
    : control_(control), reservations_(reservations), clock_(clock), scheduler_(scheduler), guard_(guard),
      workers_(workers) {}

void ScalingService::answerStatus(grpc::ServerUnaryReactor* reactor, const std::string& ns, const std::string& name,
                                  v1::ScalingStatus* response) {
  const absl::Time now = clock_.now();
  // The target wanted now and its next change, from the windows; two steps are enough. A day
  // ahead first: a cron that starts every minute has 129600 openings in the whole horizon.
  auto plan = reservations_.plan({ns, name}, now, now + absl::Hours(24), 2);
  if (plan.ok() && plan->steps.size() < 2) plan = reservations_.plan({ns, name}, now, now + reservations::kHorizon, 2);
  if (!plan.ok()) return reactor->Finish(toGrpcStatus(plan.status()));
  response->set_namespace_(ns);
  response->set_function(name);
  response->set_standing_target(plan->standing);
  const reservations::Step& current = plan->steps.front();
  response->set_reserved_target(current.target);
  response->set_schedule_id(windowIdText(current.windowId));
  response->set_warming(current.warming);
  if (plan->steps.size() > 1) {
    const reservations::Step& next = plan->steps[1];
    *response->mutable_next_change_time() = toProtoTimestamp(next.at);
    response->set_next_target(next.target);
    response->set_next_schedule_id(windowIdText(next.windowId));
    response->set_next_warming(next.warming);
  }
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
  // On a worker: the target is stored if it fits the memory budget beside every window; then the
  // scheduler applies it and answers the status.
  workers_.post([this, reactor, who = std::move(*who), ns, request, response] {
    auto updated = control_.setReservedTarget(*who, {ns, request->function()}, request->count());
    if (!updated.ok()) return reactor->Finish(toGrpcStatus(updated.status()));
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
  workers_.post([this, reactor, ns, request, response] { answerStatus(reactor, ns, request->function(), response); });
  return reactor;
}

grpc::ServerUnaryReactor* ScalingService::AddReservationSchedule(grpc::CallbackServerContext* context,
                                                                 const v1::AddReservationScheduleRequest* request,
                                                                 v1::ReservationSchedule* response) {
  auto who = guard_.admit(*context, Operation::kWriteScaling);
  if (!who.ok()) return finishNow(context, who.status());
  const v1::ReservationSchedule& schedule = request->schedule();
  const std::string ns = namespaceOrDefault(schedule.namespace_());
  if (auto status = checkFunctionVisible(**who, ns, schedule.function()); !status.ok()) {
    return finishNow(context, status);
  }
  auto requested = fromProto(schedule);
  if (!requested.ok()) return finishNow(context, requested.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  workers_.post([this, reactor, who = std::move(*who), ns, request, response, requested = std::move(*requested)] {
    const std::string& function = request->schedule().function();
    auto added = reservations_.add(
        *who, {ns, function}, requested.window,
        {.leadGiven = requested.leadGiven, .force = request->force(), .validateOnly = request->validate_only()});
    if (!added.ok()) return reactor->Finish(toGrpcStatus(added.status()));
    toProto(added->window, ns, function, clock_.now(), *response);
    for (const reservations::Shortfall& shortfall : added->shortfalls) toProto(shortfall, *response->add_shortfalls());
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* ScalingService::ListReservationSchedules(grpc::CallbackServerContext* context,
                                                                   const v1::ListReservationSchedulesRequest* request,
                                                                   v1::ListReservationSchedulesResponse* response) {
  auto who = guard_.admit(*context, Operation::kReadScaling);
  if (!who.ok()) return finishNow(context, who.status());
  const std::string ns = namespaceOrDefault(request->namespace_());
  if (auto status = checkFunctionVisible(**who, ns, request->function()); !status.ok()) {
    return finishNow(context, status);
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  workers_.post([this, reactor, ns, request, response] {
    auto windows = reservations_.list({ns, request->function()});
    if (!windows.ok()) return reactor->Finish(toGrpcStatus(windows.status()));
    const absl::Time now = clock_.now();
    for (const reservations::Window& window : *windows) {
      toProto(window, ns, request->function(), now, *response->add_schedules());
    }
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* ScalingService::RemoveReservationSchedule(grpc::CallbackServerContext* context,
                                                                    const v1::RemoveReservationScheduleRequest* request,
                                                                    google::protobuf::Empty*) {
  auto who = guard_.admit(*context, Operation::kWriteScaling);
  if (!who.ok()) return finishNow(context, who.status());
  const std::string ns = namespaceOrDefault(request->namespace_());
  if (auto status = checkFunctionVisible(**who, ns, request->function()); !status.ok()) {
    return finishNow(context, status);
  }
  int64_t id = 0;
  if (!absl::SimpleAtoi(request->id(), &id) || id <= 0) {
    return finishNow(context,
                     absl::InvalidArgumentError(absl::StrCat(
                         "\"", request->id(), "\" is not a reservation window id; list the windows for theirs")));
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  workers_.post([this, reactor, who = std::move(*who), ns, request, id] {
    reactor->Finish(toGrpcStatus(reservations_.remove(*who, {ns, request->function()}, id)));
  });
  return reactor;
}

grpc::ServerUnaryReactor* ScalingService::GetReservationPlan(grpc::CallbackServerContext* context,
                                                             const v1::GetReservationPlanRequest* request,
                                                             v1::ReservationPlan* response) {
  constexpr size_t kMaxSteps = 10000;
  auto who = guard_.admit(*context, Operation::kReadScaling);
  if (!who.ok()) return finishNow(context, who.status());
  const std::string ns = namespaceOrDefault(request->namespace_());
  if (auto status = checkFunctionVisible(**who, ns, request->function()); !status.ok()) {
    return finishNow(context, status);
  }
  const absl::Time from = request->has_from_time() ? fromProtoTimestamp(request->from_time()) : clock_.now();
  const absl::Time to = request->has_to_time() ? fromProtoTimestamp(request->to_time()) : from + absl::Hours(24);
  if (to <= from) {
    return finishNow(context, absl::InvalidArgumentError("to_time must be after from_time"));
  }
  if (to - from > reservations::kHorizon) {
    return finishNow(context, absl::InvalidArgumentError(
                                  absl::StrCat("the range is ", absl::FormatDuration(to - from),
                                               " long; a plan covers at most 90 days: ask for a shorter range")));
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  workers_.post([this, reactor, ns, request, response, from, to] {
    auto plan = reservations_.plan({ns, request->function()}, from, to, kMaxSteps);
    if (!plan.ok()) return reactor->Finish(toGrpcStatus(plan.status()));
    response->set_namespace_(ns);
    response->set_function(request->function());
    response->set_standing_target(plan->standing);
    response->set_truncated(plan->truncated);
    for (const reservations::Step& step : plan->steps) {
      v1::ReservationStep& proto = *response->add_steps();
      *proto.mutable_start_time() = toProtoTimestamp(step.at);
      proto.set_reserved_target(step.target);
      proto.set_schedule_id(windowIdText(step.windowId));
      proto.set_warming(step.warming);
    }
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

void ScalingService::serveCost(const metrics::HistoryStore& history, CostSettings settings) {
  costHistory_ = &history;
  costSettings_ = std::move(settings);
}

grpc::ServerUnaryReactor* ScalingService::GetCost(grpc::CallbackServerContext* context,
                                                  const v1::GetCostRequest* request, v1::CostReport* response) {
  auto who = guard_.admit(*context, Operation::kReadScaling);
  if (!who.ok()) return finishNow(context, who.status());
  if (costHistory_ == nullptr)
    return finishNow(context, absl::UnimplementedError("this server keeps no usage history"));
  const std::string ns = namespaceOrDefault(request->namespace_());
  if (auto status = checkFunctionVisible(**who, ns, request->function()); !status.ok()) {
    return finishNow(context, status);
  }
  if (!request->has_from_time()) {
    return finishNow(context, absl::InvalidArgumentError("from_time is required: the start of the period to cost"));
  }
  CostQuery query;
  query.now = absl::ToUnixSeconds(clock_.now());
  query.from = absl::ToUnixSeconds(fromProtoTimestamp(request->from_time()));
  // The future has no usage yet: the period ends now at the latest.
  query.to = std::min(query.now,
                      request->has_to_time() ? absl::ToUnixSeconds(fromProtoTimestamp(request->to_time())) : query.now);
  if (query.to <= query.from) {
    return finishNow(context, absl::InvalidArgumentError("the period is empty: from_time must be before to_time and "
                                                         "before now"));
  }
  const double budget = request->cold_start_budget();
  if (!(budget >= 0 && budget <= 1)) {
    return finishNow(context,
                     absl::InvalidArgumentError(absl::StrCat("cold_start_budget is ", budget,
                                                             "; give a share of requests from 0 to 1 (0: 0.001)")));
  }
  query.coldStartBudget = budget == 0 ? 0.001 : budget;
  if (request->has_what_if_reserved()) query.whatIfReserved = request->what_if_reserved();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  workers_.post([this, reactor, ns, request, response, query] {
    auto function = control_.directory().load(ns, request->function());
    if (!function.ok()) return reactor->Finish(toGrpcStatus(function.status()));
    response->set_namespace_(ns);
    response->set_function(request->function());
    const absl::Status filled = fillCostReport(*costHistory_, costSettings_, **function, query, *response);
    reactor->Finish(toGrpcStatus(filled));
  });
  return reactor;
}

grpc::ServerUnaryReactor* ScalingService::SetTrackingPolicy(grpc::CallbackServerContext* context,
                                                            const v1::SetTrackingPolicyRequest* request,
                                                            v1::ScalingStatus* response) {
  auto who = guard_.admit(*context, Operation::kWriteScaling);
  if (!who.ok()) return finishNow(context, who.status());
  const std::string ns = namespaceOrDefault(request->namespace_());
  if (auto status = checkFunctionVisible(**who, ns, request->function()); !status.ok()) {
    return finishNow(context, status);
  }
  std::optional<common::TrackingPolicy> policy;
  if (request->has_policy()) policy = fromProto(request->policy());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // On a worker: validated, admitted, stored; the scheduler applies it before it answers.
  workers_.post([this, reactor, who = std::move(*who), ns, request, response, policy] {
    auto updated = control_.setTrackingPolicy(*who, {ns, request->function()}, policy);
    if (!updated.ok()) return reactor->Finish(toGrpcStatus(updated.status()));
    answerStatus(reactor, ns, request->function(), response);
  });
  return reactor;
}

} // namespace surge::api
