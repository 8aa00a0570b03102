// Wires surged's parts: data dir lock, database, function store, keys and audit, worker pool,
// the gRPC services, and the transport (plaintext on loopback, or TLS).
#include "server/surge_server.h"

#include "api/admin_service.h"
#include "api/call_guard.h"
#include "api/function_service.h"
#include "api/invoke_service.h"
#include "api/log_service.h"
#include "api/metrics_service.h"
#include "api/reflection_service.h"
#include "api/scaling_service.h"
#include "api/status_mapping.h"
#include "auth/audit_log.h"
#include "auth/key_store.h"
#include "common/clock.h"
#include "common/failpoint.h"
#include "common/files.h"
#include "common/function_ref.h"
#include "common/unique_fd.h"
#include "common/worker_pool.h"
#include "control/function_control.h"
#include "control/reservation_admission.h"
#include "control/reservation_control.h"
#include "control/window_driver.h"
#include "engine/uid_block.h"
#include "logs/log_pipeline.h"
#include "logs/log_store.h"
#include "metrics/frame_pipeline.h"
#include "metrics/history_store.h"
#include "metrics/metrics_hub.h"
#include "metrics/prometheus_exporter.h"
#include "scheduler/scheduler.h"
#include "server/data_dir_lock.h"
#include "server/sandbox_engine_factory.h"
#include "store/blob_store.h"
#include "store/database.h"
#include "store/function_store.h"
#include "store/reservation_windows.h"
#include "store/server_runs.h"

#include <absl/strings/str_cat.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace surge::server {
namespace {

namespace fs = std::filesystem;

// Large enough for a 6 MiB invoke payload plus its envelope.
constexpr int kMaxMessageBytes = 8 << 20;
// Seconds a new metrics watcher gets first (MetricsHub's default backlog).
constexpr int64_t kWatchBacklogSeconds = 300;
constexpr const char* kBootstrapKeyName = "bootstrap-admin";

absl::StatusOr<std::string> readFile(const fs::path& path, const char* flag) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  if (!in || content.str().empty()) {
    return absl::FailedPreconditionError(absl::StrCat("cannot read ", flag, " ", path.string()));
  }
  return content.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> serverCredentials(const ServerConfig& config) {
  if (config.tlsCert.empty()) return grpc::InsecureServerCredentials();
  auto cert = readFile(config.tlsCert, "--tls-cert");
  if (!cert.ok()) return cert.status();
  auto key = readFile(config.tlsKey, "--tls-key");
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back({*key, *cert});
  if (!config.tlsClientCa.empty()) {
    auto ca = readFile(config.tlsClientCa, "--tls-client-ca");
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *ca;
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

// Writes the token to `path` with mode 0600 from the first byte on: a temp file created 0600,
// fsync'd, then renamed into place.
absl::Status writeSecretFile(const fs::path& path, const std::string& content) {
  const fs::path temp = fs::path(path).concat(".tmp");
  common::UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid())
    return absl::FailedPreconditionError(absl::StrCat("cannot write ", temp.string(), ": ", std::strerror(errno)));
  const bool ok = ::fchmod(fd.get(), 0600) == 0 &&
                  ::write(fd.get(), content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
                  ::fsync(fd.get()) == 0;
  fd.reset();
  if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
    return absl::FailedPreconditionError(absl::StrCat("cannot write ", path.string(), ": ", std::strerror(errno)));
  }
  return store::syncDirectory(path.parent_path());
}

// On the first start there is no key at all, so nobody could call the API: create an admin key
// and leave its token where only root (or surged's user) can read it. The file is written before
// the key commits, so that a crash between the two leaves no key (the next start makes one)
// rather than a key whose token nobody holds.
absl::Status createBootstrapKey(auth::KeyStore& keys, const fs::path& dataDir) {
  if (keys.hasAnyKey()) return absl::OkStatus();
  const fs::path path = SurgeServer::adminKeyPath(dataDir);
  auto created = keys.create(kBootstrapKeyName, auth::Role::kAdmin, {}, {}, [&path](const std::string& token) {
    auto written = writeSecretFile(path, token + "\n");
    common::failpoint("admin_key.after_file");
    return written;
  });
  if (!created.ok()) return created.status();
  spdlog::info("created the admin key '{}'; its token is in {} (mode 0600)", kBootstrapKeyName, path.string());
  return absl::OkStatus();
}

// The scheduler's limits from the flags; a budget of 0 is 80% of the host's memory.
scheduler::SchedulerOptions schedulerOptions(const ServerConfig& config) {
  scheduler::SchedulerOptions options;
  options.idleTimeout = absl::Seconds(config.idleTimeoutSeconds);
  options.memoryBudgetMb = config.memoryBudgetMib > 0
                               ? static_cast<uint64_t>(config.memoryBudgetMib)
                               : static_cast<uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
                                     static_cast<uint64_t>(::sysconf(_SC_PAGE_SIZE)) / (1u << 20) * 8 / 10;
  options.creationBurst = static_cast<uint32_t>(config.creationBurst);
  options.creationPerMinute = static_cast<uint32_t>(config.creationPerMinute);
  options.maxConcurrentStarts = config.maxConcurrentStarts > 0 ? static_cast<uint32_t>(config.maxConcurrentStarts)
                                                               : 2 * std::max(1u, std::thread::hardware_concurrency());
  return options;
}

// The Prometheus endpoint of --metrics-listen, with the credentials of --metrics-auth-file.
absl::StatusOr<std::unique_ptr<metrics::PrometheusExporter>> startPrometheus(const ServerConfig& config) {
  metrics::ExporterOptions options;
  options.listen = config.metricsListen;
  options.insecure = config.metricsInsecure;
  if (!config.metricsAuthFile.empty()) {
    std::ifstream in(config.metricsAuthFile);
    std::string line;
    if (!in || !std::getline(in, line)) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read the metrics credentials file ", config.metricsAuthFile.string()));
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == line.size()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the metrics credentials file ", config.metricsAuthFile.string(), " must hold one line 'user:password'"));
    }
    options.basicAuthUser = line.substr(0, colon);
    options.basicAuthPassword = line.substr(colon + 1);
  }
  return metrics::PrometheusExporter::start(options);
}

} // namespace

absl::StatusOr<std::unique_ptr<SurgeServer>> SurgeServer::start(const ServerConfig& given, ServerParts parts) {
  const ServerConfig config = withAbsolutePaths(given);
  const bool sandboxes = !parts.engine;
  // Sandboxes bind code from the data dir and shims from the runtime dir as unprivileged uids:
  // say so now rather than fail every start later.
  if (sandboxes) {
    for (const fs::path& dir : {config.dataDir, config.runtimeDir}) {
      if (auto status = common::checkPassableByAnyone(dir); !status.ok()) return status;
    }
  }
  std::unique_ptr<SurgeServer> server(new SurgeServer());
  auto lock = DataDirLock::acquire(config.dataDir);
  if (!lock.ok()) return lock.status();
  server->lock_ = std::move(*lock);
  if (sandboxes) {
    // Held as long as the data dir lock: no other server's sandboxes run as these uids.
    auto uids = engine::UidBlock::claim(config.dataDir.string());
    if (!uids.ok()) return uids.status();
    server->uids_ = std::move(*uids);
  }
  auto credentials = serverCredentials(config);
  if (!credentials.ok()) return credentials.status();

  auto db = store::Database::open(config.dataDir / "surge.db");
  if (!db.ok()) return db.status();
  server->db_ = std::move(*db);
  const common::Clock& clock = parts.clock ? *parts.clock : common::SystemClock::instance();
  auto run = store::beginServerRun(*server->db_, clock.now());
  if (!run.ok()) return run.status();
  store::StoreOptions options;
  options.dataDir = config.dataDir;
  options.keepVersions = config.keepVersions;
  options.archiveLimits = config.archiveLimits;
  auto store = store::FunctionStore::open(options, *server->db_, clock);
  if (!store.ok()) return store.status();
  server->store_ = std::move(*store);

  server->workers_ = std::make_unique<common::WorkerPool>(static_cast<size_t>(config.workerThreads));
  common::WorkerPool& workers = *server->workers_;
  auto keys = auth::KeyStore::open(*server->db_, clock,
                                   [&workers](std::function<void()> task) { workers.post(std::move(task)); });
  if (!keys.ok()) return keys.status();
  server->keys_ = std::move(*keys);
  if (auto status = createBootstrapKey(*server->keys_, config.dataDir); !status.ok()) return status;
  server->audit_ = std::make_unique<auth::AuditLog>(*server->db_, clock);
  server->guard_ = std::make_unique<api::CallGuard>(*server->keys_);

  api::CallGuard& guard = *server->guard_;
  auto logStore = logs::LogStore::open({.file = config.dataDir / "logs.db",
                                        .maxBytes = static_cast<uint64_t>(config.logsMaxMib) << 20,
                                        .maxAge = absl::Hours(24) * config.logsRetentionDays,
                                        .minFreeDiskBytes = static_cast<uint64_t>(config.logsMinFreeDiskMib) << 20});
  if (!logStore.ok()) return logStore.status();
  server->logStore_ = std::move(*logStore);
  server->logPipeline_ = std::make_unique<logs::LogPipeline>(*server->logStore_);
  logs::LogPipeline& logPipeline = *server->logPipeline_;
  if (sandboxes) {
    auto factory =
        sandboxEngineFactory(config, *server->uids_, *run, [&logPipeline](std::vector<common::LogLinePtr> lines) {
          logPipeline.submit(std::move(lines));
        });
    if (!factory.ok()) return factory.status();
    parts.engine = std::move(*factory);
  }
  const scheduler::SchedulerOptions limits = schedulerOptions(config);
  server->metricsHub_ = std::make_unique<metrics::MetricsHub>();
  std::vector<metrics::FrameConsumer> exporters;
  if (!config.metricsListen.empty()) {
    auto exporter = startPrometheus(config);
    if (!exporter.ok()) return exporter.status();
    server->prometheus_ = std::move(*exporter);
    server->metricsAddress_ =
        absl::StrCat(config.metricsListen.substr(0, config.metricsListen.rfind(':')), ":", server->prometheus_->port());
    exporters.push_back(
        [exporter = server->prometheus_.get()](const metrics::Frame& frame) { exporter->publish(frame); });
    spdlog::info("serving Prometheus metrics on http://{}/metrics{}", server->metricsAddress_,
                 config.metricsAuthFile.empty() ? "" : " (basic authentication)");
  }
  auto history = metrics::HistoryStore::open({.file = config.dataDir / "metrics.db"});
  if (!history.ok()) return history.status();
  server->metricsHistory_ = std::move(*history);
  // A watcher's chart opens full after a restart too: the hub's backlog starts with the stored
  // seconds of the last five minutes.
  const int64_t now = absl::ToUnixSeconds(clock.now());
  if (auto stored = server->metricsHistory_->framesBetween(now - kWatchBacklogSeconds, now); stored.ok()) {
    for (metrics::Frame& frame : *stored)
      server->metricsHub_->publish(std::make_shared<metrics::Frame>(std::move(frame)));
  } else {
    spdlog::warn("metrics: the last five minutes could not be read back: {}", stored.status().ToString());
  }
  server->metricsPipeline_ =
      std::make_unique<metrics::FramePipeline>(*server->metricsHub_, server->metricsHistory_.get(), exporters);
  auto scheduler = scheduler::Scheduler::create(
      parts.engine, clock, limits,
      [pipeline = server->metricsPipeline_.get()](metrics::FramePtr frame) { pipeline->publish(std::move(frame)); },
      [&logPipeline](logs::InvocationRecord record) { logPipeline.submit(std::move(record)); });
  if (!scheduler.ok()) return scheduler.status();
  server->scheduler_ = std::move(*scheduler);
  spdlog::info("instances may use {} MiB, start {} at once then {} per minute, {} at a time", limits.memoryBudgetMb,
               limits.creationBurst, limits.creationPerMinute, limits.maxConcurrentStarts);
  server->windowStore_ = std::make_unique<store::ReservationWindows>(*server->db_);
  server->admission_ = std::make_unique<control::ReservationAdmission>(
      *server->store_, *server->windowStore_,
      control::ReservationLimits{.memoryBudgetMb = limits.memoryBudgetMb,
                                 .warmUp = {.creationBurst = limits.creationBurst,
                                            .creationPerMinute = limits.creationPerMinute,
                                            .concurrentStarts = limits.maxConcurrentStarts}});
  // The driver hands each function's windows to the scheduler with the definition it needs to
  // warm a function nobody has invoked yet.
  server->windowDriver_ = std::make_unique<control::WindowDriver>(
      clock, [s = server.get()](const std::string& key, scheduler::ScheduledTarget target) {
        auto ref = common::FunctionRef::parse(key);
        if (!ref) return;
        scheduler::FunctionDefinitionPtr definition = s->control_->directory().cached(ref->ns, ref->name);
        if (!definition) {
          auto loaded = s->control_->directory().load(ref->ns, ref->name);
          if (!loaded.ok()) return; // deleted: its windows went with it
          definition = *loaded;
        }
        s->scheduler_->setScheduledTarget(std::move(definition), target);
      });
  server->control_ = std::make_unique<control::FunctionControl>(*server->store_, *server->scheduler_, *server->audit_,
                                                                *server->admission_, *server->windowDriver_, clock);
  if (auto status = server->control_->start(); !status.ok()) return status;
  server->reservations_ = std::make_unique<control::ReservationControl>(*server->store_, *server->windowStore_,
                                                                        *server->admission_, *server->windowDriver_,
                                                                        *server->scheduler_, *server->audit_, clock);
  if (auto status = server->reservations_->start(); !status.ok()) return status;
  server->windowDriver_->start();
  server->functionService_ = std::make_unique<api::FunctionService>(*server->store_, *server->control_, guard, workers);
  server->invokeService_ =
      std::make_unique<api::InvokeService>(guard, server->control_->directory(), *server->scheduler_, workers);
  server->scalingService_ = std::make_unique<api::ScalingService>(*server->control_, *server->reservations_,
                                                                  *server->scheduler_, guard, workers, clock);
  server->scalingService_->serveCost(
      *server->metricsHistory_, {.prices = config.prices, .idleTimeout = absl::Seconds(config.idleTimeoutSeconds)});
  server->metricsService_ = std::make_unique<api::MetricsService>(*server->metricsHub_, *server->metricsHistory_,
                                                                  server->control_->directory(), clock, guard, workers);
  server->logService_ = std::make_unique<api::LogService>(*server->logStore_, logPipeline, guard, workers);
  server->adminService_ = std::make_unique<api::AdminService>(*server->keys_, guard, *server->audit_, workers);
  server->reflectionService_ = std::make_unique<api::ReflectionService>(
      std::vector<std::string>{"surge.v1.FunctionService", "surge.v1.InvokeService", "surge.v1.ScalingService",
                               "surge.v1.MetricsService", "surge.v1.LogService", "surge.v1.AdminService",
                               "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"},
      [&guard](grpc::CallbackServerContext& context) {
        auto who = guard.admit(context, auth::Operation::kReflect);
        return who.ok() ? grpc::Status::OK : api::toGrpcStatus(who.status());
      });

  // The health service is gRPC's own and needs no key, so that load balancers can probe it.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config.listen, *credentials, &port);
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
  builder.RegisterService(server->reflectionService_.get());
  server->grpcServer_ = builder.BuildAndStart();
  if (!server->grpcServer_ || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen,
                                               ": the port is in use or the address is not valid on this host"));
  }
  const std::string host = config.listen.substr(0, config.listen.rfind(':'));
  server->listenAddress_ = absl::StrCat(host, ":", port);
  spdlog::info("serving {} on {}",
               config.tlsCert.empty() ? "plaintext" : (config.tlsClientCa.empty() ? "TLS" : "mutual TLS"),
               server->listenAddress_);
  return server;
}

absl::StatusOr<std::string> SurgeServer::resetAdminKey(const ServerConfig& given) {
  const ServerConfig config = withAbsolutePaths(given);
  std::error_code ec;
  if (!fs::exists(config.dataDir / "surge.db", ec)) {
    return absl::NotFoundError(absl::StrCat("there is no Surge database in ", config.dataDir.string(),
                                            "; give the --data-dir of an existing server"));
  }
  auto lock = DataDirLock::acquire(config.dataDir);
  if (!lock.ok()) return lock.status();
  auto db = store::Database::open(config.dataDir / "surge.db");
  if (!db.ok()) return db.status();
  const common::Clock& clock = common::SystemClock::instance();
  // Nothing here uses a key, so last-used times have nothing to persist in the background.
  auto keys = auth::KeyStore::open(**db, clock, [](std::function<void()> task) { task(); });
  if (!keys.ok()) return keys.status();
  const fs::path path = adminKeyPath(config.dataDir);
  auto replaced = (*keys)->replaceAdmin(
      kBootstrapKeyName, [&path](const std::string& token) { return writeSecretFile(path, token + "\n"); });
  if (!replaced.ok()) return replaced.status();
  // The change is made by whoever may run surged on this data dir, not by a key.
  auth::Principal operatorOnHost;
  operatorOnHost.keyName = "surged --reset-admin-key";
  operatorOnHost.role = auth::Role::kAdmin;
  const std::string detail = replaced->revokedId
                                 ? absl::StrCat("revoked=", *replaced->revokedId, " new=", replaced->created.key.id)
                                 : absl::StrCat("new=", replaced->created.key.id);
  auth::AuditLog audit(**db, clock);
  (void)audit.record(operatorOnHost, "key.reset_admin", kBootstrapKeyName, detail);
  return path.string();
}

SurgeServer::~SurgeServer() {
  shutdown();
  // The windows stop driving the scheduler before anything they call goes.
  if (windowDriver_) windowDriver_->stop();
  // Drain the worker pool first: its tasks use the scheduler, stores, keys and audit log below.
  workers_.reset();
  // Then stop every instance, before the store whose code they run goes.
  scheduler_.reset();
  if (keys_) keys_->flushLastUsed();
}

void SurgeServer::shutdown() {
  if (grpcServer_) grpcServer_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
}

void SurgeServer::wait() {
  if (grpcServer_) grpcServer_->Wait();
}

} // namespace surge::server
