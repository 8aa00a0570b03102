// SandboxEngine: instances as sandboxed processes speaking the runtime protocol on fd 3.
#pragma once

#include "engine/engine.h"

#include <absl/status/statusor.h>

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <vector>

namespace asio {
class io_context;
}

namespace surge::engine {

class SandboxLauncher;

struct SandboxEngineOptions {
  // Host folder with the runtime shims (runtimes/python/surge_runtime.py, ...), bound read-only
  // at /runtime in every instance.
  std::filesystem::path runtimeDir;
  // An instance of function id N runs as uid and gid uidBase + N: distinct per function, never root.
  uid_t uidBase = 100000;
  // Most unprivileged uids handed out (uidBase + functionId must stay below uidBase + this).
  uid_t uidRange = 1000000;
  uint32_t pidsMax = 256;
  // Pre-started sandboxes ("stem cells"): kept per runtime (python3, nodejs), memory size and
  // network (network-on ones only for the kinds given to setNetworkKinds()), with
  // the runtime loaded and an empty /code. A start takes one, hard-links the version's code into
  // its /code and sends INIT. Each serves one function for life, with a uid of its own (pooled
  // uids come from uidBase + uidRange on), since a running process cannot change its uid.
  // Empty sandboxesDir: no pool. sandboxesDir must be on the same file system as the code
  // folders, or the code is copied instead of linked. The folder belongs to this engine alone:
  // the constructor removes whatever an earlier engine left in it (after a crash, say), and
  // every sandbox's folder in it is created new, never reused.
  std::filesystem::path sandboxesDir;
  // The id of the first instance; the next ones count up from it. A server gives each run of a
  // data dir its own range, so that ids stay unique across restarts.
  InstanceId firstInstanceId = 1;
  // Pre-started sandboxes kept per (runtime, memory size): poolSizes[runtime] when the runtime is
  // listed there, else poolSize. 0 (or less) keeps none: every start of that runtime is direct.
  // Custom runtimes are never pre-started.
  int poolSize = 2;
  // After handling events the loop thread polls this long before it sleeps, trading CPU while
  // requests flow for a faster reply (see docs/engine.md). Zero: it sleeps at once.
  std::chrono::microseconds loopSpin{0};
  // The spin happens only while at most this many requests are in flight on instances.
  size_t spinMaxInFlight = 1;
  std::map<common::Runtime, int> poolSizes;
  // Memory sizes kept warm from the start; any other size is kept warm once asked for.
  std::vector<uint32_t> poolMemoryMb = {128};
  // Receives every line instances print (engine/output_capture.h); empty: output is dropped,
  // but each request's log tail and cap still work.
  LogSink logSink;
  // Line bytes one request may print; past them one platform line says the log was truncated.
  size_t requestLogBytes = kDefaultRequestLogBytes;
};

// One event-loop thread (Asio) owns every instance's sockets, pipes, timers and process handle;
// launching and cleaning up sandboxes (fork/exec, cgroup files) runs on a second thread, and
// linking code into pre-started sandboxes (and removing their folders) on a third. Results and
// events go to the caller through its Executor; with an empty Executor they are posted to the
// engine's own loop instead, for a caller that runs its work there too (the scheduler does: a
// warm invoke then crosses no thread between the scheduler and the instance's socket).
// Destroying the engine stops its loop, dropping what is still queued (events of clean-ups still
// running on its other threads included), and kills every instance: once the loop has stopped
// (the destructor's first step), nothing more reaches the Executor.
class SandboxEngine final : public Engine {
public:
  SandboxEngine(SandboxEngineOptions options, std::unique_ptr<SandboxLauncher> launcher, Executor executor,
                InstanceObserver& observer);
  ~SandboxEngine() override;

  InstanceId start(const InstanceSpec& spec) override;
  void invoke(InstanceId id, InvokeRequest request, InvokeCallback done) override;
  void stop(InstanceId id, StopMode mode) override;
  // Network-on stems are pre-started for these kinds alone; those of other kinds are killed.
  void setNetworkKinds(std::set<NetworkSandboxKind> kinds) override;
  std::map<std::string, uint32_t> prestartedSandboxes() const override;

  // The loop the engine runs on. A caller may post its own (non-blocking) work to it; such work
  // must not outlive the engine.
  asio::io_context& loop();

  // Pre-started sandboxes ready now for `runtime` at `memoryMb`, with or without network.
  // Thread-safe.
  size_t stemsReady(common::Runtime runtime, uint32_t memoryMb, bool network = false) const;
  // Waits until at least `count` are ready, or `timeout` passes (false). Thread-safe.
  bool waitStemsReady(common::Runtime runtime, uint32_t memoryMb, size_t count, std::chrono::milliseconds timeout,
                      bool network = false) const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The argv that runs `runtime` inside the sandbox: the shim bound at /runtime for python3 and
// nodejs, the function's own /code/bootstrap for custom.
absl::StatusOr<std::vector<std::string>> runtimeCommand(common::Runtime runtime);

} // namespace surge::engine
