// The surge.v1 services that later parts of the platform implement. Until then each call
// answers UNIMPLEMENTED saying which part brings it, so clients can be written against the
// whole API today.
#pragma once

#include "surge/v1/admin.grpc.pb.h"
#include "surge/v1/invoke.grpc.pb.h"
#include "surge/v1/logs.grpc.pb.h"
#include "surge/v1/metrics.grpc.pb.h"
#include "surge/v1/scaling.grpc.pb.h"

namespace surge::api {

class PendingInvokeService final : public v1::InvokeService::CallbackService {
public:
  grpc::ServerUnaryReactor* Invoke(grpc::CallbackServerContext* context, const v1::InvokeRequest*,
                                   v1::InvokeResponse*) override;
};

class PendingScalingService final : public v1::ScalingService::CallbackService {
public:
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
};

class PendingMetricsService final : public v1::MetricsService::CallbackService {
public:
  grpc::ServerWriteReactor<v1::MetricsSnapshot>* WatchMetrics(grpc::CallbackServerContext* context,
                                                              const v1::WatchMetricsRequest*) override;
  grpc::ServerUnaryReactor* QueryMetrics(grpc::CallbackServerContext* context, const v1::QueryMetricsRequest*,
                                         v1::QueryMetricsResponse*) override;
};

class PendingLogService final : public v1::LogService::CallbackService {
public:
  grpc::ServerWriteReactor<v1::LogLine>* TailLogs(grpc::CallbackServerContext* context,
                                                  const v1::TailLogsRequest*) override;
  grpc::ServerUnaryReactor* QueryInvocations(grpc::CallbackServerContext* context, const v1::QueryInvocationsRequest*,
                                             v1::QueryInvocationsResponse*) override;
};

class PendingAdminService final : public v1::AdminService::CallbackService {
public:
  grpc::ServerUnaryReactor* CreateApiKey(grpc::CallbackServerContext* context, const v1::CreateApiKeyRequest*,
                                         v1::CreateApiKeyResponse*) override;
  grpc::ServerUnaryReactor* ListApiKeys(grpc::CallbackServerContext* context, const v1::ListApiKeysRequest*,
                                        v1::ListApiKeysResponse*) override;
  grpc::ServerUnaryReactor* RevokeApiKey(grpc::CallbackServerContext* context, const v1::RevokeApiKeyRequest*,
                                         v1::ApiKey*) override;
  grpc::ServerUnaryReactor* ListAuditEvents(grpc::CallbackServerContext* context, const v1::ListAuditEventsRequest*,
                                            v1::ListAuditEventsResponse*) override;
};

} // namespace surge::api
