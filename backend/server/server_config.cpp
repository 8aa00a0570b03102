// surged's command line and config file.
#include "server/server_config.h"

#include "server/toml_config.h"

#include "cost/cost_model.h"
#include "engine/sandbox_network.h"

#include <CLI/CLI.hpp>

#include <arpa/inet.h>

#include <iostream>

namespace surge::server {

ParsedConfig parseServerConfig(int argc, const char* const* argv) {
  ServerConfig config;
  int64_t maxUnpackedMib = config.archiveLimits.maxUnpackedBytes >> 20;

  CLI::App app{"surged: the Surge function compute server"};
  app.option_defaults()->always_capture_default();
  // A flag given twice takes its last value, as with most Unix tools.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.set_config("--config", "", "TOML file with keys named like the long flags, e.g. data-dir = \"/var/lib/surge\"");
  app.add_option("--listen", config.listen, "HOST:PORT to serve gRPC on; port 0 picks a free one");
  app.add_option("--data-dir", config.dataDir, "Folder for the database, code blobs and unpacked code");
  app.add_option("--keep-versions", config.keepVersions, "Code versions kept per function")->check(CLI::Range(1, 1000));
  app.add_option("--max-unpacked-mib", maxUnpackedMib, "Most MiB one code archive may unpack to")
      ->check(CLI::Range(1, 65536));
  app.add_option("--max-compression-ratio", config.archiveLimits.maxCompressionRatio,
                 "Highest compression ratio allowed for an archive entry over 1 MiB")
      ->check(CLI::Range(1.0, 100000.0));
  app.add_option("--max-archive-entries", config.archiveLimits.maxEntries, "Most entries one code archive may hold")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--workers", config.workerThreads, "Threads for blocking store work")->check(CLI::Range(1, 64));
  app.add_option("--log-level", config.logLevel, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  auto* tlsCert = app.add_option("--tls-cert", config.tlsCert, "PEM server certificate chain; turns on TLS")
                      ->check(CLI::ExistingFile);
  auto* tlsKey = app.add_option("--tls-key", config.tlsKey, "PEM private key of --tls-cert")->check(CLI::ExistingFile);
  tlsCert->needs(tlsKey);
  tlsKey->needs(tlsCert);
  app.add_option("--tls-client-ca", config.tlsClientCa,
                 "PEM CA certificates; turns on mutual TLS: clients must present a certificate they signed")
      ->check(CLI::ExistingFile)
      ->needs(tlsCert);
  app.add_option("--runtime-dir", config.runtimeDir, "Folder with the runtime shims bound into every sandbox")
      ->check(CLI::ExistingDirectory);
  app.add_option("--zygote", config.zygote,
                 "The surge-zygote executable that forks Python sandboxes; empty: every sandbox starts by bubblewrap");
  app.add_option("--cgroup-parent", config.cgroupParent,
                 "Cgroup under each controller that holds the sandboxes (default: surge-<hash of the data dir>)");
  app.add_option("--pool-size", config.poolSize,
                 "Pre-started sandboxes kept per runtime and memory size (0: none; cold starts launch a sandbox)")
      ->check(CLI::Range(0, 64));
  app.add_option("--python3-pool-size", config.python3PoolSize,
                 "Pre-started python3 sandboxes per memory size (-1: --pool-size)")
      ->check(CLI::Range(-1, 64));
  app.add_option("--nodejs-pool-size", config.nodejsPoolSize,
                 "Pre-started nodejs sandboxes per memory size (-1: --pool-size)")
      ->check(CLI::Range(-1, 64));
  app.add_option("--loop-spin-us", config.loopSpinMicros,
                 "Microseconds the instance loop keeps polling after work before it sleeps, while at most one "
                 "request is in flight: lower warm-invoke latency for CPU while requests trickle (0: none)")
      ->check(CLI::Range(0, 10000));
  app.add_option("--idle-timeout", config.idleTimeoutSeconds,
                 "Seconds an on-demand instance may stay idle before it is stopped")
      ->check(CLI::Range(1, 86400));
  app.add_option("--memory-budget-mib", config.memoryBudgetMib,
                 "MiB all instances together may use (0: 80% of the machine's memory)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  app.add_option("--creation-burst", config.creationBurst, "New instances the server may start at once")
      ->check(CLI::Range(1, 100000));
  app.add_option("--creation-per-minute", config.creationPerMinute, "New instances per minute once the burst is spent")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--max-concurrent-starts", config.maxConcurrentStarts,
                 "Instances that may be starting at once (0: two per CPU)")
      ->check(CLI::Range(0, 10000));
  app.add_option("--network-dns", config.networkDns,
                 "IPv4 address of the resolver that functions with network on use (default: the host's first "
                 "IPv4 nameserver)")
      ->check(CLI::ValidIPV4);
  app.add_option("--network-deny", config.networkDeny,
                 "IPv4 network (a.b.c.d/len) that functions with network on may never reach, beside the host's "
                 "own addresses, loopback and link-local; repeatable")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->check([](const std::string& value) {
        auto net = engine::parseIpv4Net(value);
        return net.ok() ? std::string() : std::string(net.status().message());
      });
  app.add_option("--metrics-listen", config.metricsListen,
                 "HOST:PORT of a Prometheus endpoint with every function's metrics (admin-level data; off by "
                 "default; loopback only unless --metrics-insecure)");
  app.add_flag("--metrics-insecure", config.metricsInsecure, "Allow the Prometheus endpoint on a non-loopback address");
  app.add_option("--metrics-auth-file", config.metricsAuthFile,
                 "File holding one line 'user:password' that every scrape of the Prometheus endpoint must present "
                 "(HTTP basic authentication)")
      ->check(CLI::ExistingFile);
  app.add_option("--request-log-kib", config.requestLogKib,
                 "KiB of log lines one invocation may print; past them the rest is dropped and a line says so")
      ->check(CLI::Range(1, 16384));
  app.add_option("--logs-max-mib", config.logsMaxMib,
                 "MiB the log store (<data-dir>/logs.db) may take; past them its oldest lines and records go")
      ->check(CLI::Range(int64_t{16}, int64_t{1} << 30));
  app.add_option("--logs-retention-days", config.logsRetentionDays, "Days log lines and invocation records are kept")
      ->check(CLI::Range(1, 3650));
  app.add_option("--logs-min-free-disk-mib", config.logsMinFreeDiskMib,
                 "MiB of free disk the log store leaves: below them it stops writing and deletes its oldest data")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30));
  app.add_flag("--reset-admin-key", config.resetAdminKey,
               "Revoke the key 'bootstrap-admin', write a new admin token to <data-dir>/admin.key, and exit "
               "(surged must not be running on the data dir)");
  // Prices for GetCost (docs/reservations.md "Cost"); the defaults are illustrative only.
  app.add_option("--price-reserved-gb-second", config.prices.reservedGbSecond,
                 "Price per GB-second a reserved instance is alive (default: AWS Lambda's x86 list price, "
                 "illustrative)");
  app.add_option("--price-reserved-execution-gb-second", config.prices.reservedExecutionGbSecond,
                 "Price per GB-second of billed execution on a reserved instance");
  app.add_option("--price-on-demand-gb-second", config.prices.onDemandGbSecond,
                 "Price per GB-second of billed execution on an on-demand instance");
  app.add_option("--price-per-million-requests", config.prices.perMillionRequests,
                 "Price per million requests that ran");
  app.add_option("--price-currency", config.prices.currency, "Label of the prices' currency, e.g. USD");
  app.add_flag("--insecure", config.insecure,
               "Allow plaintext gRPC on a non-loopback address (keys and code then cross the network unencrypted)");

  std::set<std::string> keys;
  for (const CLI::Option* option : app.get_options()) {
    if (!option->get_lnames().empty() && option->get_lnames().front() != "config" &&
        option->get_lnames().front() != "help") {
      keys.insert(option->get_lnames().front());
    }
  }
  app.config_formatter(std::make_shared<TomlConfig>(std::move(keys)));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      app.exit(e);
      return {std::nullopt, 0};
    }
    std::cerr << "surged: " << e.what() << "\n";
    return {std::nullopt, 2};
  }
  config.archiveLimits.maxUnpackedBytes = maxUnpackedMib << 20;
  if (auto prices = cost::validate(config.prices); !prices.ok()) {
    std::cerr << "surged: --" << prices.message() << "\n";
    return {std::nullopt, 2};
  }
  if (config.tlsCert.empty() && !config.insecure && !isLoopbackListen(config.listen)) {
    std::cerr << "surged: refusing to listen on " << config.listen
              << " without TLS: API keys and code would cross the network in plaintext. Give --tls-cert and "
                 "--tls-key, or --insecure if the network is trusted.\n";
    return {std::nullopt, 2};
  }
  if (!config.metricsListen.empty() && config.metricsListen.find(':') == std::string::npos) {
    std::cerr << "surged: --metrics-listen wants HOST:PORT, e.g. 127.0.0.1:9464; got '" << config.metricsListen
              << "'\n";
    return {std::nullopt, 2};
  }
  if (!config.metricsAuthFile.empty() && config.metricsListen.empty()) {
    std::cerr << "surged: --metrics-auth-file needs --metrics-listen\n";
    return {std::nullopt, 2};
  }
  return {config, 0};
}

ServerConfig withAbsolutePaths(ServerConfig config) {
  auto absolute = [](std::filesystem::path& path) {
    if (!path.empty()) path = std::filesystem::absolute(path).lexically_normal();
  };
  for (std::filesystem::path* path : {&config.dataDir, &config.tlsCert, &config.tlsKey, &config.tlsClientCa,
                                      &config.runtimeDir, &config.zygote, &config.metricsAuthFile}) {
    absolute(*path);
  }
  return config;
}

bool isLoopbackListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? listen : listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost" || host == "::1") return true;
  in_addr address{};
  return inet_pton(AF_INET, host.c_str(), &address) == 1 && (ntohl(address.s_addr) >> 24) == 127;
}

} // namespace surge::server
