// The engine's side of the Python zygote (zygote/zygote_main.cpp): starts it, sends it spawn
// requests, and replaces it when it dies or has forked its budget. docs/engine.md explains it.
#pragma once

#include "engine/sandbox_constants.h"
#include "engine/sandbox_layout.h"

#include <absl/status/statusor.h>

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace surge::engine {

struct ZygoteOptions {
  // The surge-zygote executable; empty: no zygote, every sandbox is started by bubblewrap.
  std::filesystem::path program = SURGE_ZYGOTE_PROGRAM;
  // The Python shim the zygote loads from the host, and the path the sandbox's argv names it by
  // (bound there read-only; the compiled copy at /runtime-compiled is accepted as well).
  std::filesystem::path shimSource = SURGE_ZYGOTE_SHIM;
  std::string shimInside = sandbox::kPythonShim;
  // Every child of one zygote shares its address-space layout (ASLR is chosen at exec). After
  // this many forks it is replaced by a freshly exec'd one, prepared while it still serves.
  int forksPerZygote = 64;
  // How long a start waits for a zygote that is still loading before bubblewrap takes over.
  std::chrono::milliseconds bootWait{1000};
  // After a zygote exits while loading (a broken shim or interpreter), starts go by bubblewrap
  // this long before another zygote is tried.
  std::chrono::milliseconds loadFailureBackoff{5000};
};

// Not thread-safe: one thread (the launcher's caller) uses it. That thread must outlive the
// zygotes and their children: the children's parent-death signal is tied to it, as bwrap's is.
class Zygote {
public:
  explicit Zygote(ZygoteOptions options);
  ~Zygote();
  Zygote(const Zygote&) = delete;
  Zygote& operator=(const Zygote&) = delete;

  // Starts a zygote now (on the calling thread), if none is running or loading.
  void warmUp();
  // Forks a sandboxed process as `layout` describes it, given `fds`: one open descriptor of the
  // caller's for each of layout.fds, in that order (the zygote takes 0-8: no network). Its pid,
  // a child of the caller (CLONE_PARENT): wait for it as for bubblewrap's outer process.
  // UNAVAILABLE when no zygote could serve (it died, or is still loading past bootWait): the
  // caller falls back to bubblewrap, and a new zygote is on its way (loadFailureBackoff later
  // when the last one exited while loading). INVALID_ARGUMENT when the zygote refused the
  // request, with its reason (what decode() or the zygote's own checks reject), or when the
  // encoded layout is larger than kMaxEncodedLayout.
  absl::StatusOr<pid_t> spawn(const SandboxLayout& layout, const std::vector<int>& fds);
  // The zygote serving now, or -1 (for tests and monitoring).
  pid_t pid() const { return current_.pid; }

private:
  struct Process {
    pid_t pid = -1;
    int control = -1;
    bool ready = false;
    int forks = 0;
    bool waited = false; // a start has waited for it to load once
  };
  Process start();
  // Whether `process` has said READY, waiting at most `wait`.
  bool awaitReady(Process& process, std::chrono::milliseconds wait);
  void retire(Process& process, bool kill);
  void reapRetired();

  const ZygoteOptions options_;
  // After a zygote failed to load, none is started again before this (a broken shim or
  // interpreter would otherwise cost every start a doomed fork and exec).
  std::chrono::steady_clock::time_point retryAfter_{};
  Process current_;
  Process next_; // the replacement, loading while current_ serves
  std::vector<pid_t> retired_;
};

} // namespace surge::engine
