// SandboxEngine: instances as sandboxed processes speaking the runtime protocol on fd 3.
#pragma once

#include "engine/engine.h"

#include <absl/status/statusor.h>

#include <sys/types.h>

#include <filesystem>
#include <memory>

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
};

// One event-loop thread (Asio) owns every instance's sockets, pipes, timers and process handle;
// launching and cleaning up sandboxes (fork/exec, cgroup files) runs on a second thread. Results
// and events go to the caller through its Executor. Destroying the engine kills every instance.
class SandboxEngine final : public Engine {
public:
  SandboxEngine(SandboxEngineOptions options, std::unique_ptr<SandboxLauncher> launcher, Executor executor,
                InstanceObserver& observer);
  ~SandboxEngine() override;

  InstanceId start(const InstanceSpec& spec) override;
  void invoke(InstanceId id, InvokeRequest request, InvokeCallback done) override;
  void stop(InstanceId id, StopMode mode) override;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The argv that runs `runtime` inside the sandbox: the shim bound at /runtime for python3 and
// nodejs, the function's own /code/bootstrap for custom.
absl::StatusOr<std::vector<std::string>> runtimeCommand(store::Runtime runtime);

} // namespace surge::engine
