// surged's settings: embedded defaults, then the TOML config file, then command-line flags.
#pragma once

#include "cost/cost_model.h"
#include "store/archive_unpacker.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace surge::server {

struct ServerConfig {
  std::string listen = "127.0.0.1:50051";
  std::filesystem::path dataDir = "surge-data";
  int keepVersions = 10;
  store::ArchiveLimits archiveLimits;
  int workerThreads = 4;
  std::string logLevel = "info";
  // TLS: a certificate and its key turn it on; a client CA also requires client certificates.
  std::filesystem::path tlsCert;
  std::filesystem::path tlsKey;
  std::filesystem::path tlsClientCa;
  // Allows plaintext on a non-loopback address.
  bool insecure = false;

  // Instances. The runtime shims (python/, nodejs/) bound read-only into every sandbox.
  std::filesystem::path runtimeDir = SURGE_SOURCE_RUNTIME_DIR;
  // The Python zygote that forks Python sandboxes (docs/engine.md); empty: bubblewrap only.
  std::filesystem::path zygote = SURGE_ZYGOTE_PROGRAM;
  // Sandbox cgroups live under <controller>/<cgroupParent>/; empty: "surge-" plus a hash of the
  // data dir, so that two servers with different data dirs never clean up each other's.
  std::string cgroupParent;
  // Pre-started sandboxes kept per runtime (python3, nodejs) and memory size; 0 turns the pool
  // off. The per-runtime sizes, when not -1, override it for their runtime.
  int poolSize = 2;
  int python3PoolSize = -1;
  int nodejsPoolSize = -1;
  // Microseconds the engine's loop keeps polling after work before it sleeps, while at most one
  // request is in flight (0: none). docs/engine.md has the measurements behind the default.
  int loopSpinMicros = 200;
  // Seconds an on-demand instance may stay idle before it is stopped.
  int idleTimeoutSeconds = 300;
  // MiB all instances together may use; 0: 80 % of the machine's memory.
  int64_t memoryBudgetMib = 0;
  // Prices GetCost reports with (--price-*).
  cost::Prices prices;
  // New instances: up to `creationBurst` at once, then `creationPerMinute`.
  int creationBurst = 300;
  int creationPerMinute = 300;
  // Instances starting at once; 0: two per CPU.
  int maxConcurrentStarts = 0;
  // Outbound network of functions with network on: the upstream resolver behind their DNS
  // (empty: the host's first IPv4 nameserver), and IPv4 networks they may never reach beside
  // the host's own addresses, loopback and link-local (docs/sandbox.md).
  std::string networkDns;
  std::vector<std::string> networkDeny;

  // The Prometheus endpoint: HOST:PORT, empty: off. It serves admin-level data (every function's
  // figures), so only on loopback unless `metricsInsecure`; with `metricsAuthFile` (one line,
  // "user:password") every scrape needs HTTP basic authentication.
  std::string metricsListen;
  bool metricsInsecure = false;
  std::filesystem::path metricsAuthFile;

  // Function logs and invocation records (<data-dir>/logs.db, docs/observability.md): KiB of
  // log lines one request may print (past them the rest is dropped, and a line says so), and the
  // store's retention: its size cap in MiB, the days it keeps, and the MiB of free disk below
  // which it stops writing and deletes its oldest data.
  int requestLogKib = 64;
  int64_t logsMaxMib = 1024;
  int logsRetentionDays = 7;
  int64_t logsMinFreeDiskMib = 512;

  // Not a server run: replace the bootstrap admin key (--reset-admin-key) and exit.
  bool resetAdminKey = false;
};

// `config` with every path made absolute against the current folder, so that nothing derived
// from them later (code folders bound into sandboxes, say) depends on where surged started.
ServerConfig withAbsolutePaths(ServerConfig config);

// Whether `listen` (HOST:PORT) names a loopback address: 127.0.0.0/8, ::1 or localhost.
bool isLoopbackListen(const std::string& listen);

// Parses argv (and the --config file it names). Returns the config, or the process exit code
// when parsing ended the run: 0 after --help, 2 after a usage error (with the message already
// printed to stderr).
struct ParsedConfig {
  std::optional<ServerConfig> config;
  int exitCode = 0;
};
ParsedConfig parseServerConfig(int argc, const char* const* argv);

} // namespace surge::server
