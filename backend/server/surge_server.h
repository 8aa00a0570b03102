// surged as an object: wires the store, the API services and the gRPC server together.
#pragma once

#include "scheduler/scheduler.h"
#include "server/server_config.h"

#include <absl/status/statusor.h>

#include <filesystem>
#include <memory>
#include <string>

namespace grpc {
class Server;
}

namespace surge::common {
class Clock;
class WorkerPool;
} // namespace surge::common
namespace surge::control {
class FunctionControl;
class ReservationAdmission;
class ReservationControl;
class WindowDriver;
} // namespace surge::control
namespace surge::store {
class Database;
class FunctionStore;
class ReservationWindows;
} // namespace surge::store
namespace surge::auth {
class AuditLog;
class KeyStore;
} // namespace surge::auth
namespace surge::api {
class AdminService;
class CallGuard;
class FunctionService;
class ReflectionService;
class InvokeService;
class ScalingService;
class MetricsService;
class LogService;
} // namespace surge::api
namespace surge::logs {
class LogPipeline;
class LogStore;
} // namespace surge::logs

namespace surge::engine {
class UidBlock;
}
namespace surge::metrics {
class FramePipeline;
class HistoryStore;
class MetricsHub;
class PrometheusExporter;
} // namespace surge::metrics

namespace surge::server {

class DataDirLock;

// What a server can be given in place of its own parts; tests give the FakeEngine and a clock.
struct ServerParts {
  // Builds the engine the scheduler drives. Empty: the sandbox engine (sandbox_engine_factory.h),
  // which needs root, bubblewrap and cgroups, and claims a block of uids.
  scheduler::EngineFactory engine;
  // The clock of the store, the keys, the audit trail and the scheduler. Null: the system clock.
  const common::Clock* clock = nullptr;
};

class SurgeServer {
public:
  // Locks and opens the data dir, creates the bootstrap admin key on the first start (written to
  // <data-dir>/admin.key, mode 0600), starts the scheduler and its engine, warms the reserved
  // instances, then starts serving. FAILED_PRECONDITION for a data dir, TLS file or sandbox
  // facility (root, bwrap, cgroups) that cannot be used; UNAVAILABLE when the address cannot be
  // bound. `parts` replaces the sandbox engine or the clock.
  static absl::StatusOr<std::unique_ptr<SurgeServer>> start(const ServerConfig& config, ServerParts parts = {});
  ~SurgeServer();

  // For a data dir whose admin token is lost: revokes the key 'bootstrap-admin' if it is active,
  // creates a new admin key of that name, writes its token to adminKeyPath() (before the key
  // commits), and records the change in the audit trail. Takes the data dir lock, so it refuses
  // while a surged runs there (FAILED_PRECONDITION naming its pid); NOT_FOUND for a data dir
  // with no database. Returns the token file's path.
  static absl::StatusOr<std::string> resetAdminKey(const ServerConfig& config);

  // Where the bootstrap admin key is (or was) written.
  static std::filesystem::path adminKeyPath(const std::filesystem::path& dataDir) { return dataDir / "admin.key"; }

  // "HOST:PORT" with the port actually bound.
  const std::string& listenAddress() const { return listenAddress_; }
  // The Prometheus endpoint's "HOST:PORT", port bound; empty without --metrics-listen.
  const std::string& metricsAddress() const { return metricsAddress_; }
  // Stops accepting calls, lets calls in progress finish for up to a few seconds, and returns.
  // Thread-safe; later calls do nothing.
  void shutdown();
  // Blocks until shutdown() has run.
  void wait();

private:
  SurgeServer() = default;

  std::unique_ptr<DataDirLock> lock_;
  std::unique_ptr<engine::UidBlock> uids_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<store::FunctionStore> store_;
  std::unique_ptr<common::WorkerPool> workers_;
  std::unique_ptr<auth::KeyStore> keys_;
  std::unique_ptr<auth::AuditLog> audit_;
  std::unique_ptr<api::CallGuard> guard_;
  // The metrics: the scheduler hands each second to the pipeline, so these outlive it.
  std::unique_ptr<metrics::MetricsHub> metricsHub_;
  std::unique_ptr<metrics::HistoryStore> metricsHistory_;
  std::unique_ptr<metrics::PrometheusExporter> prometheus_;
  std::unique_ptr<metrics::FramePipeline> metricsPipeline_;
  std::unique_ptr<logs::LogStore> logStore_;
  std::unique_ptr<logs::LogPipeline> logPipeline_; // the engine and the scheduler hand it lines and records
  std::unique_ptr<scheduler::Scheduler> scheduler_;
  // Reservation windows: stored, admitted, and driven onto the scheduler (stopped before it goes).
  std::unique_ptr<store::ReservationWindows> windowStore_;
  std::unique_ptr<control::ReservationAdmission> admission_;
  std::unique_ptr<control::WindowDriver> windowDriver_;
  std::unique_ptr<control::FunctionControl> control_;
  std::unique_ptr<control::ReservationControl> reservations_;
  std::unique_ptr<api::FunctionService> functionService_;
  std::unique_ptr<api::InvokeService> invokeService_;
  std::unique_ptr<api::ScalingService> scalingService_;
  std::unique_ptr<api::MetricsService> metricsService_;
  std::unique_ptr<api::LogService> logService_;
  std::unique_ptr<api::AdminService> adminService_;
  std::unique_ptr<api::ReflectionService> reflectionService_;
  std::unique_ptr<grpc::Server> grpcServer_;
  std::string listenAddress_;
  std::string metricsAddress_;
};

} // namespace surge::server
