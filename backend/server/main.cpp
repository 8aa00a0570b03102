// surged's entry point: parse the config, start the server, stop cleanly on SIGTERM or SIGINT.
#include "server/server_config.h"
#include "server/surge_server.h"

#include <absl/synchronization/mutex.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <thread>

int main(int argc, char** argv) {
  // Debian's Abseil checks every absl::Mutex acquisition (gRPC's own locks are absl::Mutex) for
  // lock-order cycles, which cost about 2% of surged's CPU under load (measured by perf). Our own
  // locks are common::Mutex, covered by the annotations, the tests and ThreadSanitizer.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  auto parsed = surge::server::parseServerConfig(argc, argv);
  if (!parsed.config) return parsed.exitCode;
  // stdout carries only the "listening on" line that scripts and tests read; logs go to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("surged"));
  spdlog::set_level(spdlog::level::from_str(parsed.config->logLevel));

  if (parsed.config->resetAdminKey) {
    auto path = surge::server::SurgeServer::resetAdminKey(*parsed.config);
    if (!path.ok()) {
      std::fprintf(stderr, "surged: %s\n", std::string(path.status().message()).c_str());
      return 1;
    }
    std::printf("a new admin token for the key 'bootstrap-admin' is in %s (mode 0600); the old one is revoked\n",
                path->c_str());
    return 0;
  }

  // Block the stop signals in every thread; one thread below waits for them synchronously.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGTERM);
  sigaddset(&stopSignals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);

  auto server = surge::server::SurgeServer::start(*parsed.config);
  if (!server.ok()) {
    std::fprintf(stderr, "surged: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  std::printf("listening on %s\n", (*server)->listenAddress().c_str());
  std::fflush(stdout);
  spdlog::info("data dir {}", parsed.config->dataDir.string());

  std::thread signalWaiter([&] {
    int signal = 0;
    sigwait(&stopSignals, &signal);
    spdlog::info("received {}, shutting down", signal == SIGTERM ? "SIGTERM" : "SIGINT");
    (*server)->shutdown();
  });
  (*server)->wait();
  signalWaiter.join();
  server->reset();
  spdlog::info("stopped");
  return 0;
}
