// The surge.v1 services that later parts of the platform implement. Until then each call is
// admitted like any other (key, role, scope) and then answers UNIMPLEMENTED saying which part
// brings it, so clients and their keys can be written against the whole API today.
#pragma once

#include "api/call_guard.h"
#include "surge/v1/invoke.grpc.pb.h"
#include "surge/v1/logs.grpc.pb.h"
#include "surge/v1/metrics.grpc.pb.h"
#include "surge/v1/scaling.grpc.pb.h"

namespace surge::api {

class PendingInvokeService final : public v1::InvokeService::CallbackService {
public:
  explicit PendingInvokeService(CallGuard& guard) : guard_(guard) {}
  grpc::ServerUnaryReactor* Invoke(grpc::CallbackServerContext* context, const v1::InvokeRequest*,
                                   v1::InvokeResponse*) override;

private:
  CallGuard& guard_;
};

class PendingScalingService final : public v1::ScalingService::CallbackService {
public:
  explicit PendingScalingService(CallGuard& guard) : guard_(guard) {}
  grpc::ServerUnaryReactor* SetReservedCapacity(grpc::CallbackServerContext* context,
                                                const v1::SetReservedCapacityRequest*, v1::ScalingStatus*) override;
  grpc::ServerUnaryReactor* AddReservationSchedule(grpc::CallbackServerContext* context,
                                                   const v1::AddReservationScheduleRequest*,
                                                   v1::ReservationSchedule*) override;
  grpc::ServerUnaryReactor* ListReservationSchedules(grpc::CallbackServerContext* context,
                                                     const v1::ListReservationSchedulesRequest*,
                                                     v1::ListReservationSchedulesResponse*) override;
  grpc::ServerUnaryReactor* RemoveReservationSchedule(grpc::CallbackServerContext* context,
                                                      const v1::RemoveReservationScheduleRequest*,
                                                      google::protobuf::Empty*) override;
  grpc::ServerUnaryReactor* GetScalingStatus(grpc::CallbackServerContext* context, const v1::GetScalingStatusRequest*,
                                             v1::ScalingStatus*) override;

private:
  CallGuard& guard_;
};

class PendingMetricsService final : public v1::MetricsService::CallbackService {
public:
  explicit PendingMetricsService(CallGuard& guard) : guard_(guard) {}
  grpc::ServerWriteReactor<v1::MetricsSnapshot>* WatchMetrics(grpc::CallbackServerContext* context,
                                                              const v1::WatchMetricsRequest*) override;
  grpc::ServerUnaryReactor* QueryMetrics(grpc::CallbackServerContext* context, const v1::QueryMetricsRequest*,
                                         v1::QueryMetricsResponse*) override;

private:
  CallGuard& guard_;
};

class PendingLogService final : public v1::LogService::CallbackService {
public:
  explicit PendingLogService(CallGuard& guard) : guard_(guard) {}
  grpc::ServerWriteReactor<v1::LogLine>* TailLogs(grpc::CallbackServerContext* context,
                                                  const v1::TailLogsRequest*) override;
  grpc::ServerUnaryReactor* QueryInvocations(grpc::CallbackServerContext* context, const v1::QueryInvocationsRequest*,
                                             v1::QueryInvocationsResponse*) override;

private:
  CallGuard& guard_;
};

} // namespace surge::api
