// Shared pieces of the engine benchmarks: statistics and a no-op Python function on disk. The
// observer with waits is the tests' testing::InstanceRecorder.
#pragma once

#include "engine/engine.h"
#include "engine/sandbox_engine.h"
#include "engine/sandbox_launcher.h"
#include "engine/uid_block.h"
#include "support/instance_recorder.h"
#include "support/task_thread.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace surge::bench {

// How long a benchmark waits for one instance's onReady or onExit.
inline constexpr std::chrono::seconds kObserverWait{60};

// Percentile of a sample (p in [0, 1]); NaN for an empty one (e.g. --node-samples 0).
inline double percentile(std::vector<double> values, double p) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(p * static_cast<double>(values.size())));
  return values[index];
}

// A no-op Python handler in `dir`.
inline void writeNoopFunction(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "index.py") << "def handler(event, context):\n    return b''\n";
}

// The cgroup parent of makeEngine()'s launcher: one of this process's own, so that runs don't meet.
// Its sandboxes' cgroups are <controller root>/<this>/<sandbox name>.
inline std::string cgroupParent() { return "surge-bench-" + std::to_string(::getpid()); }

// A SandboxEngine whose completions run on `caller`, with a cgroup parent of this process's own
// (cgroupParent()). `options` sets the pool; an empty runtimeDir means the source tree's shims.
// Only one at a time per process: a new launcher removes the cgroups below its parent.
// `observer` must outlive `caller`'s thread, not just the engine: that thread runs the last events.
inline absl::StatusOr<std::unique_ptr<engine::SandboxEngine>>
makeEngine(testing::TaskThread& caller, engine::InstanceObserver& observer, engine::SandboxEngineOptions options = {}) {
  engine::LauncherOptions launcherOptions;
  launcherOptions.cgroupParent = cgroupParent();
  auto launcher = engine::SandboxLauncher::create(launcherOptions);
  if (!launcher.ok()) return launcher.status();
  if (options.runtimeDir.empty()) options.runtimeDir = SURGE_SOURCE_RUNTIME_DIR;
  // A uid block held for the life of the process, as a server holds one.
  static absl::StatusOr<std::unique_ptr<engine::UidBlock>> uids = engine::UidBlock::claim("benchmark");
  if (!uids.ok()) return uids.status();
  options.uidBase = (*uids)->first();
  options.uidRange = (*uids)->size() / 2;
  return std::make_unique<engine::SandboxEngine>(
      std::move(options), std::move(*launcher), [&caller](std::function<void()> task) { caller.post(std::move(task)); },
      observer);
}

// The InstanceSpec of the no-op function in `codeDir`.
inline engine::InstanceSpec noopSpec(const std::filesystem::path& codeDir, uint32_t memoryMb = 128) {
  engine::InstanceSpec spec;
  spec.function = "default/noop";
  spec.functionId = 1;
  spec.version = 1;
  spec.codeDir = codeDir;
  spec.handler = "index.handler";
  spec.memoryMb = memoryMb;
  return spec;
}

// The naive start the engine is compared with: the same minimal bwrap sandbox without the engine
// (no cgroup, seccomp or uid switch), python3 importing the handler, calling it once, printing.
inline std::vector<std::string> naivePythonCommand(const std::filesystem::path& code) {
  return {"/usr/bin/bwrap",
          "--unshare-all",
          "--die-with-parent",
          "--ro-bind",
          "/usr",
          "/usr",
          "--symlink",
          "usr/lib",
          "/lib",
          "--symlink",
          "usr/lib64",
          "/lib64",
          "--symlink",
          "usr/bin",
          "/bin",
          "--proc",
          "/proc",
          "--dev",
          "/dev",
          "--tmpfs",
          "/tmp",
          "--ro-bind",
          code.string(),
          "/code",
          "--chdir",
          "/code",
          "/usr/bin/python3",
          "-S",
          "-c",
          "import sys; sys.path.insert(0, '/code'); import index; sys.stdout.write(repr(index.handler(b'', None)))"};
}

} // namespace surge::bench
