// Starts processes in a sandbox: bubblewrap namespaces, a per-function unprivileged uid, a
// seccomp filter, and a cgroup with memory, pids and CPU limits. docs/sandbox.md explains the
// threat model.
#pragma once

#include "engine/sandbox_network.h"
#include "engine/zygote.h"

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
  // Host uid and gid the sandboxed process runs as: unprivileged (>= 10000, not 65534), distinct
  // per function. Inside, the user namespace maps them to themselves, so root inside a user
  // namespace is never used.
  uid_t uid = 0;
  gid_t gid = 0;
  // Bound read-only at /code. It (and every path above it) must be searchable by `uid`:
  // bubblewrap sets up the mounts as that user.
  std::filesystem::path codeDir;
  // Further read-only binds: host path -> sandbox path (e.g. the runtime shims at /runtime). The
  // sandbox path must be absolute and outside /, /usr, /etc, /code, /tmp, /proc and /dev.
  std::vector<std::pair<std::filesystem::path, std::filesystem::path>> readOnlyBinds;
  // Memory limit of the cgroup (at least 16), swap included. /tmp and /dev/shm are tmpfs of
  // min(512 MiB, memoryMb) each; their pages are charged to this same limit, so below 512 MiB a
  // writer that fills /tmp meets the memory limit (an OOM kill) before ENOSPC.
  uint32_t memoryMb = 128;
  // Processes and threads in the cgroup, bubblewrap's two processes included (at least 3).
  uint32_t pidsMax = 256;
  // CPU quota in cores once throttleCpu() is called; 0 means max(0.25, memoryMb / 1024).
  double cpuCores = 0;
  // Starts with the smallest CPU weight, until foreground(): a sandbox started ahead of need
  // (the engine's pool) then takes CPU only when nothing else wants it.
  bool background = false;
  // Program and environment inside the sandbox. The environment is exactly this plus
  // PWD=/code, which bubblewrap always sets after its chdir; it cannot be turned off.
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;
  // Host-side descriptor passed to the sandboxed process as fd 3 (e.g. one end of a
  // socketpair), or -1. The launcher does not take ownership.
  int protocolFd = -1;
  // Fork the sandbox from the Python zygote (engine/zygote.h) instead of exec'ing bubblewrap:
  // the same namespaces, uid, mounts, capabilities, cgroup and seccomp filter, built by the
  // zygote's child from the same SandboxLayout (engine/sandbox_layout.h) bubblewrap's arguments
  // are made from. A `/usr/bin/python3 -S` argv running the
  // shim or `-c CODE` then runs in the zygote's already-loaded interpreter; any other program is
  // exec'd inside the finished sandbox. Falls back to bubblewrap when no zygote is configured or
  // none can serve (SandboxProcess::zygote says which).
  bool viaZygote = false;
  // Outbound IPv4 through the launcher's SandboxNetwork (engine/sandbox_network.h) instead of a
  // network namespace with loopback only; the sandbox also gets /etc/resolv.conf (10.0.2.3),
  // DNS in nsswitch.conf, and /etc/ssl/certs read-only. Always started by bubblewrap (the
  // zygote only makes namespaces of its own). UNAVAILABLE when the server has no network for
  // sandboxes (the message says why).
  bool network = false;
};

struct SandboxProcess {
  // bubblewrap's outer process, a child of the caller, to wait for. It exits when the sandboxed
  // program does, with its exit status, or 128 + signal when the program was killed by a signal
  // (the OOM killer's SIGKILL gives 137); bubblewrap's init inside the pid namespace turns the
  // signal into that code. Only when bubblewrap itself is killed (destroy(), a signal from the
  // host) does waitpid() report that signal instead (WIFSIGNALED). Exit code 1 with a
  // "bwrap: ..." line on stderr means bubblewrap could not set the sandbox up.
  pid_t pid = -1;
  // Read ends of the program's stdout and stderr (non-blocking, close-on-exec); the caller owns them.
  int stdoutFd = -1;
  int stderrFd = -1;
  // The instance's cgroup (v1: one directory per controller).
  std::vector<std::filesystem::path> cgroupDirs;
  // Forked by the zygote: pid is then the zygote's child A (docs/sandbox.md), a child of the
  // caller all the same, with bubblewrap's exit-status conventions ("surge-zygote: ..." on
  // stderr and exit 1 when the set-up fails).
  bool zygote = false;
  // With SandboxSpec::network: its namespace and helper, released by destroy().
  NetworkAttachment network;
};

struct LauncherOptions {
  std::filesystem::path bwrap = "/usr/bin/bwrap";
  // Where the cgroup hierarchies are mounted.
  std::filesystem::path cgroupRoot = "/sys/fs/cgroup";
  // Cgroups live under <controller root>/<cgroupParent>/<sandbox name>. [A-Za-z0-9._-] only;
  // everything below it belongs to the launcher (create() removes it).
  std::string cgroupParent = "surge";
  // The Python zygote for SandboxSpec::viaZygote; an empty program: none.
  ZygoteOptions zygote;
  // Outbound network for SandboxSpec::network. Its cgroup2Root and cgroupParent are filled in by
  // create(). Without slirp4netns (or cgroup v2, or BPF) the launcher still works, and network
  // sandboxes are refused, saying why.
  NetworkOptions network;
};

// Thread-safe. Must run as root (it writes cgroups and switches to the functions' uids).
// launch() must be called from a thread that outlives the sandboxes it starts: bubblewrap's
// --die-with-parent is the kernel's parent-death signal, which fires when the *thread* that
// forked it exits, not the process.
// Sandboxes forked by the Python zygote are tied the same way to the thread that started the
// zygote (warmUp(), or the first launch() with viaZygote): launch from one long-lived thread.
class SandboxLauncher {
public:
  // Detects cgroup v1 or v2, creates the parent cgroup, and removes sandboxes a crashed
  // predecessor left: their processes are killed and their cgroups removed. Also compiles the
  // seccomp filter once. INVALID_ARGUMENT for a bad cgroupParent; FAILED_PRECONDITION when not
  // root, when bwrap is missing, when the cgroup controllers are not usable, or when a leftover
  // cannot be removed (the message names it).
  static absl::StatusOr<std::unique_ptr<SandboxLauncher>> create(LauncherOptions options);
  virtual ~SandboxLauncher() = default;

  // Creates the cgroup (CPU unthrottled so that loading the handler runs at full speed),
  // starts the program inside it, and returns at once. Blocks only for fork/exec.
  // INVALID_ARGUMENT for a bad spec (the message names the field), ALREADY_EXISTS when a
  // sandbox of that name is alive, INTERNAL when the process could not be started.
  virtual absl::StatusOr<SandboxProcess> launch(const SandboxSpec& spec) = 0;
  // Gives a sandbox launched with `background` the normal CPU weight.
  virtual absl::Status foreground(const SandboxProcess& process) = 0;
  // Applies the CPU quota (10 ms CFS period) after the cold start.
  virtual absl::Status throttleCpu(const SandboxProcess& process, const SandboxSpec& spec) = 0;
  // Whether the memory cgroup has OOM-killed a process of this sandbox.
  virtual bool oomKilled(const SandboxProcess& process) const = 0;
  // The cgroup file holding the sandbox's memory high-water mark in bytes (memory.peak on v2,
  // memory.max_usage_in_bytes on v1); empty when there is none.
  virtual std::filesystem::path memoryPeakFile(const SandboxProcess& process) const = 0;
  // Kills every process left in the sandbox's cgroup and removes the cgroup, and stops its
  // network helper. Call after the
  // process was reaped (an unreaped bwrap keeps the cgroup busy: destroy() then gives up after
  // 5 s, logs, and leaves it to the next create()); safe to call twice. Don't wait for the
  // output pipes to close before calling it: a bwrap killed right after launch() may not yet
  // have armed its child's parent-death signal, and that child, holding the pipes, lives until
  // destroy() kills it.
  virtual void destroy(SandboxProcess& process) = 0;

  // "v1" or "v2".
  virtual std::string cgroupVersion() const = 0;

  // Starts the zygote, if one is configured, on the calling thread: call it from the thread
  // that will call launch(), so that no start waits for it to load. launch() starts it too.
  virtual void warmUp() = 0;
  // The zygote serving now, or -1 (for tests and monitoring).
  virtual pid_t zygotePid() const = 0;
};

} // namespace surge::engine
