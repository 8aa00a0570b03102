// UNIMPLEMENTED answers for the services that later parts of the platform bring.
#include "api/unimplemented_services.h"

#include <string>

namespace surge::api {
namespace {

constexpr const char* kScheduler = "the resource scheduler";
constexpr const char* kMetrics = "the metrics recorder";
constexpr const char* kLogs = "invocation logging";
constexpr const char* kKeys = "API keys";

grpc::ServerUnaryReactor* pending(grpc::CallbackServerContext* context, const char* call, const char* part) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                               std::string(call) + " arrives with " + part + "; this surged does not serve it yet"));
  return reactor;
}

template <typename Message> class PendingStream final : public grpc::ServerWriteReactor<Message> {
public:
  PendingStream(const char* call, const char* part) {
    this->Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                              std::string(call) + " arrives with " + part + "; this surged does not serve it yet"));
  }
  void OnDone() override { delete this; }
};

} // namespace

grpc::ServerUnaryReactor* PendingInvokeService::Invoke(grpc::CallbackServerContext* context, const v1::InvokeRequest*,
                                                       v1::InvokeResponse*) {
  return pending(context, "InvokeService.Invoke", kScheduler);
}

grpc::ServerUnaryReactor* PendingScalingService::SetReservedCapacity(grpc::CallbackServerContext* context,
                                                                     const v1::SetReservedCapacityRequest*,
                                                                     v1::ScalingStatus*) {
  return pending(context, "ScalingService.SetReservedCapacity", kScheduler);
}

grpc::ServerUnaryReactor* PendingScalingService::AddReservationSchedule(grpc::CallbackServerContext* context,
                                                                        const v1::AddReservationScheduleRequest*,
                                                                        v1::ReservationSchedule*) {
  return pending(context, "ScalingService.AddReservationSchedule", "scheduled reservations");
}

grpc::ServerUnaryReactor* PendingScalingService::ListReservationSchedules(grpc::CallbackServerContext* context,
                                                                          const v1::ListReservationSchedulesRequest*,
                                                                          v1::ListReservationSchedulesResponse*) {
  return pending(context, "ScalingService.ListReservationSchedules", "scheduled reservations");
}

grpc::ServerUnaryReactor* PendingScalingService::RemoveReservationSchedule(grpc::CallbackServerContext* context,
                                                                           const v1::RemoveReservationScheduleRequest*,
                                                                           google::protobuf::Empty*) {
  return pending(context, "ScalingService.RemoveReservationSchedule", "scheduled reservations");
}

grpc::ServerUnaryReactor* PendingScalingService::GetScalingStatus(grpc::CallbackServerContext* context,
                                                                  const v1::GetScalingStatusRequest*,
                                                                  v1::ScalingStatus*) {
  return pending(context, "ScalingService.GetScalingStatus", kScheduler);
}

grpc::ServerWriteReactor<v1::MetricsSnapshot>* PendingMetricsService::WatchMetrics(grpc::CallbackServerContext*,
                                                                                   const v1::WatchMetricsRequest*) {
  return new PendingStream<v1::MetricsSnapshot>("MetricsService.WatchMetrics", kMetrics);
}

grpc::ServerUnaryReactor* PendingMetricsService::QueryMetrics(grpc::CallbackServerContext* context,
                                                              const v1::QueryMetricsRequest*,
                                                              v1::QueryMetricsResponse*) {
  return pending(context, "MetricsService.QueryMetrics", kMetrics);
}

grpc::ServerWriteReactor<v1::LogLine>* PendingLogService::TailLogs(grpc::CallbackServerContext*,
                                                                   const v1::TailLogsRequest*) {
  return new PendingStream<v1::LogLine>("LogService.TailLogs", kLogs);
}

grpc::ServerUnaryReactor* PendingLogService::QueryInvocations(grpc::CallbackServerContext* context,
                                                              const v1::QueryInvocationsRequest*,
                                                              v1::QueryInvocationsResponse*) {
  return pending(context, "LogService.QueryInvocations", kLogs);
}

grpc::ServerUnaryReactor* PendingAdminService::CreateApiKey(grpc::CallbackServerContext* context,
                                                            const v1::CreateApiKeyRequest*, v1::CreateApiKeyResponse*) {
  return pending(context, "AdminService.CreateApiKey", kKeys);
}

grpc::ServerUnaryReactor* PendingAdminService::ListApiKeys(grpc::CallbackServerContext* context,
                                                           const v1::ListApiKeysRequest*, v1::ListApiKeysResponse*) {
  return pending(context, "AdminService.ListApiKeys", kKeys);
}

grpc::ServerUnaryReactor* PendingAdminService::RevokeApiKey(grpc::CallbackServerContext* context,
                                                            const v1::RevokeApiKeyRequest*, v1::ApiKey*) {
  return pending(context, "AdminService.RevokeApiKey", kKeys);
}

grpc::ServerUnaryReactor* PendingAdminService::ListAuditEvents(grpc::CallbackServerContext* context,
                                                               const v1::ListAuditEventsRequest*,
                                                               v1::ListAuditEventsResponse*) {
  return pending(context, "AdminService.ListAuditEvents", "the audit trail");
}

} // namespace surge::api
