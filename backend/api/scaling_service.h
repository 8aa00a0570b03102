// ScalingService: the standing reserved target and reservation windows (stored, then applied by
// the scheduler), the plan they make, and the scaling status as the scheduler sees it.
#pragma once

#include "api/call_guard.h"
#include "api/cost_report.h"
#include "surge/v1/scaling.grpc.pb.h"

namespace surge::common {
class Clock;
class WorkerPool;
} // namespace surge::common
namespace surge::scheduler {
class Scheduler;
}
namespace surge::metrics {
class HistoryStore;
}

namespace surge::control {
class FunctionControl;
class ReservationControl;
} // namespace surge::control

namespace surge::api {

// Changes go through `control` on `workers`; the status comes from the scheduler's loop. Everything passed
// in must outlive the gRPC server.
class ScalingService final : public v1::ScalingService::CallbackService {
public:
  ScalingService(control::FunctionControl& control, control::ReservationControl& reservations,
                 scheduler::Scheduler& scheduler, CallGuard& guard, common::WorkerPool& workers,
                 const common::Clock& clock);

  grpc::ServerUnaryReactor* SetReservedCapacity(grpc::CallbackServerContext* context,
                                                const v1::SetReservedCapacityRequest* request,
                                                v1::ScalingStatus* response) override;
  grpc::ServerUnaryReactor* GetScalingStatus(grpc::CallbackServerContext* context,
                                             const v1::GetScalingStatusRequest* request,
                                             v1::ScalingStatus* response) override;
  grpc::ServerUnaryReactor* AddReservationSchedule(grpc::CallbackServerContext* context,
                                                   const v1::AddReservationScheduleRequest* request,
                                                   v1::ReservationSchedule* response) override;
  grpc::ServerUnaryReactor* ListReservationSchedules(grpc::CallbackServerContext* context,
                                                     const v1::ListReservationSchedulesRequest* request,
                                                     v1::ListReservationSchedulesResponse* response) override;
  grpc::ServerUnaryReactor* RemoveReservationSchedule(grpc::CallbackServerContext* context,
                                                      const v1::RemoveReservationScheduleRequest* request,
                                                      google::protobuf::Empty* response) override;
  grpc::ServerUnaryReactor* GetReservationPlan(grpc::CallbackServerContext* context,
                                               const v1::GetReservationPlanRequest* request,
                                               v1::ReservationPlan* response) override;
  grpc::ServerUnaryReactor* SetTrackingPolicy(grpc::CallbackServerContext* context,
                                              const v1::SetTrackingPolicyRequest* request,
                                              v1::ScalingStatus* response) override;

  grpc::ServerUnaryReactor* GetCost(grpc::CallbackServerContext* context, const v1::GetCostRequest* request,
                                    v1::CostReport* response) override;

  // Where GetCost reads usage and what it prices it with; without it, GetCost is UNIMPLEMENTED.
  // Call before serving; `history` must outlive the gRPC server.
  void serveCost(const metrics::HistoryStore& history, CostSettings settings);

private:
  // Fills `response` from the windows' plan and the scheduler, and finishes the call (on the
  // scheduler's loop). Reads SQLite: call it on a worker.
  void answerStatus(grpc::ServerUnaryReactor* reactor, const std::string& ns, const std::string& name,
                    v1::ScalingStatus* response);

  control::FunctionControl& control_;
  control::ReservationControl& reservations_;
  const common::Clock& clock_;
  scheduler::Scheduler& scheduler_;
  CallGuard& guard_;
  common::WorkerPool& workers_;
  const metrics::HistoryStore* costHistory_ = nullptr;
  CostSettings costSettings_;
};

} // namespace surge::api
