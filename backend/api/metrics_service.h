// MetricsService: live metrics as a stream of one snapshot per second (WatchMetrics), and the
// history (QueryMetrics). Each second is converted to its proto once and shared by every
// watcher; a watcher sees the functions of its key's namespaces only.
#pragma once

#include "api/call_guard.h"
#include "common/mutex.h"
#include "metrics/history_store.h"
#include "metrics/metrics_hub.h"
#include "surge/v1/metrics.grpc.pb.h"

#include <map>
#include <memory>

namespace surge::common {
class Clock;
class WorkerPool;
} // namespace surge::common
namespace surge::control {
class FunctionDirectory;
}

namespace surge::api {

// Each frame as a MetricsSnapshot of every series, converted once. Thread-safe.
class SnapshotCache {
public:
  std::shared_ptr<const v1::MetricsSnapshot> of(const metrics::FramePtr& frame);

private:
  common::Mutex mu_;
  // By second; the oldest go once there are more than the hub's backlog holds.
  std::map<int64_t, std::pair<metrics::FramePtr, std::shared_ptr<const v1::MetricsSnapshot>>>
      cache_ ABSL_GUARDED_BY(mu_);
};

// Everything passed in must outlive the gRPC server.
class MetricsService final : public v1::MetricsService::CallbackService {
public:
  MetricsService(metrics::MetricsHub& hub, metrics::HistoryStore& history, control::FunctionDirectory& directory,
                 const common::Clock& clock, CallGuard& guard, common::WorkerPool& workers);

  grpc::ServerWriteReactor<v1::MetricsSnapshot>* WatchMetrics(grpc::CallbackServerContext* context,
                                                              const v1::WatchMetricsRequest* request) override;
  grpc::ServerUnaryReactor* QueryMetrics(grpc::CallbackServerContext* context, const v1::QueryMetricsRequest* request,
                                         v1::QueryMetricsResponse* response) override;

private:
  metrics::MetricsHub& hub_;
  metrics::HistoryStore& history_;
  control::FunctionDirectory& directory_;
  const common::Clock& clock_;
  CallGuard& guard_;
  common::WorkerPool& workers_;
  SnapshotCache snapshots_;
};

} // namespace surge::api
