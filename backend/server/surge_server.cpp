// Wires surged's parts: data dir lock, function store, worker pool, gRPC services.
#include "server/surge_server.h"

#include "api/function_service.h"
#include "api/unimplemented_services.h"
#include "common/clock.h"
#include "common/worker_pool.h"
#include "server/data_dir_lock.h"
#include "store/database.h"
#include "store/function_store.h"

#include <absl/strings/str_cat.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <spdlog/spdlog.h>

#include <chrono>

namespace surge::server {
namespace {

// Large enough for a 6 MiB invoke payload plus its envelope.
constexpr int kMaxMessageBytes = 8 << 20;

} // namespace

absl::StatusOr<std::unique_ptr<SurgeServer>> SurgeServer::start(const ServerConfig& config) {
  std::unique_ptr<SurgeServer> server(new SurgeServer());
  auto lock = DataDirLock::acquire(config.dataDir);
  if (!lock.ok()) return lock.status();
  server->lock_ = std::move(*lock);

  store::StoreOptions options;
  options.dataDir = config.dataDir;
  options.keepVersions = config.keepVersions;
  options.archiveLimits = config.archiveLimits;
  auto db = store::Database::open(config.dataDir / "surge.db");
  if (!db.ok()) return db.status();
  server->db_ = std::move(*db);
  auto store = store::FunctionStore::open(options, *server->db_, common::SystemClock::instance());
  if (!store.ok()) return store.status();
  server->store_ = std::move(*store);

  server->workers_ = std::make_unique<common::WorkerPool>(static_cast<size_t>(config.workerThreads));
  server->functionService_ = std::make_unique<api::FunctionService>(*server->store_, *server->workers_);
  server->invokeService_ = std::make_unique<api::PendingInvokeService>();
  server->scalingService_ = std::make_unique<api::PendingScalingService>();
  server->metricsService_ = std::make_unique<api::PendingMetricsService>();
  server->logService_ = std::make_unique<api::PendingLogService>();
  server->adminService_ = std::make_unique<api::PendingAdminService>();

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config.listen, grpc::InsecureServerCredentials(), &port);
  // Without this a second server could bind the same port through SO_REUSEPORT and steal
  // half the connections; a busy port must be an error.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  builder.RegisterService(server->functionService_.get());
  builder.RegisterService(server->invokeService_.get());
  builder.RegisterService(server->scalingService_.get());
  builder.RegisterService(server->metricsService_.get());
  builder.RegisterService(server->logService_.get());
  builder.RegisterService(server->adminService_.get());
  server->grpcServer_ = builder.BuildAndStart();
  if (!server->grpcServer_ || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen,
                                               ": the port is in use or the address is not valid on this host"));
  }
  const std::string host = config.listen.substr(0, config.listen.rfind(':'));
  server->listenAddress_ = absl::StrCat(host, ":", port);
  return server;
}

SurgeServer::~SurgeServer() {
  shutdown();
  // The worker pool drains before the store it uses is destroyed (members die in reverse order).
}

void SurgeServer::shutdown() {
  if (grpcServer_) grpcServer_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
}

void SurgeServer::wait() {
  if (grpcServer_) grpcServer_->Wait();
}

} // namespace surge::server
