// Starts processes in a sandbox: bubblewrap namespaces, a per-function unprivileged uid, a
// seccomp filter, and a cgroup with memory, pids and CPU limits. docs/sandbox.md explains the
// threat model.
#pragma once

#include <absl/status/statusor.h>

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace surge::engine {

struct SandboxSpec {
  // Unique among live sandboxes; names the cgroup, e.g. "i-42". [a-z0-9-] only.
  std::string name;
  // Host uid and gid the sandboxed process runs as: unprivileged (>= 10000), distinct per
  // function. Root inside a user namespace is never used.
  uid_t uid = 0;
  gid_t gid = 0;
  // Bound read-only at /code.
  std::filesystem::path codeDir;
  // Further read-only binds: host path -> sandbox path (e.g. the runtime shims at /runtime).
  std::vector<std::pair<std::filesystem::path, std::filesystem::path>> readOnlyBinds;
  // Memory limit of the cgroup; /tmp is a tmpfs of min(512 MiB, memoryMb).
  uint32_t memoryMb = 128;
  uint32_t pidsMax = 256;
  // CPU quota in cores once throttleCpu() is called; 0 means max(0.25, memoryMb / 1024).
  double cpuCores = 0;
  // Program and environment inside the sandbox (the environment is exactly this).
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;
  // Host-side descriptor passed to the sandboxed process as fd 3 (e.g. one end of a
  // socketpair), or -1. The launcher does not take ownership.
  int protocolFd = -1;
};

struct SandboxProcess {
  // The process to wait for: it exits when the sandboxed program does, with its exit status
  // (or 128 + signal when the program was killed by a signal).
  pid_t pid = -1;
  // Read ends of the program's stdout and stderr (non-blocking, close-on-exec); the caller owns them.
  int stdoutFd = -1;
  int stderrFd = -1;
  // The instance's cgroup (v1: one directory per controller).
  std::vector<std::filesystem::path> cgroupDirs;
};

struct LauncherOptions {
  std::filesystem::path bwrap = "/usr/bin/bwrap";
  // Cgroups live under <controller root>/<cgroupParent>/<sandbox name>.
  std::string cgroupParent = "surge";
};

// Thread-safe.
class SandboxLauncher {
public:
  // Detects cgroup v1 or v2, creates the parent cgroup, and removes sandboxes a crashed
  // predecessor left: their processes are killed and their cgroups removed.
  // FAILED_PRECONDITION when bwrap is missing or the cgroup controllers are not usable.
  static absl::StatusOr<std::unique_ptr<SandboxLauncher>> create(LauncherOptions options);
  virtual ~SandboxLauncher() = default;

  // Creates the cgroup (CPU unthrottled so that loading the handler runs at full speed),
  // starts the program inside it, and returns at once. Blocks only for fork/exec.
  virtual absl::StatusOr<SandboxProcess> launch(const SandboxSpec& spec) = 0;
  // Applies the CPU quota (10 ms CFS period) after the cold start.
  virtual absl::Status throttleCpu(const SandboxProcess& process, const SandboxSpec& spec) = 0;
  // Whether the memory cgroup has OOM-killed a process of this sandbox.
  virtual bool oomKilled(const SandboxProcess& process) const = 0;
  // Kills every process left in the sandbox's cgroup and removes the cgroup. Call after the
  // process was reaped; safe to call twice.
  virtual void destroy(SandboxProcess& process) = 0;

  // "v1" or "v2".
  virtual std::string cgroupVersion() const = 0;
};

} // namespace surge::engine
