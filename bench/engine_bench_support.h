// Shared pieces of the engine benchmarks: a caller thread, an observer with waits, statistics,
// and a no-op Python function on disk.
#pragma once

#include "engine/engine.h"
#include "engine/sandbox_engine.h"
#include "engine/sandbox_launcher.h"
#include "support/task_thread.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

namespace surge::bench {

class WaitingObserver final : public engine::InstanceObserver {
public:
  void onReady(engine::InstanceId id, const absl::Status& status) override {
    std::lock_guard lock(mu_);
    ready_[id] = status;
    cv_.notify_all();
  }
  void onExit(engine::InstanceId id, const engine::InstanceExit&) override {
    std::lock_guard lock(mu_);
    exited_[id] = true;
    cv_.notify_all();
  }
  std::optional<absl::Status> waitReady(engine::InstanceId id) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(60), [&] { return ready_.contains(id); })) return std::nullopt;
    return ready_[id];
  }
  bool waitExit(engine::InstanceId id) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(60), [&] { return exited_.contains(id); });
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<engine::InstanceId, absl::Status> ready_;
  std::map<engine::InstanceId, bool> exited_;
};

// Percentile of a sample (p in [0, 1]).
inline double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(p * static_cast<double>(values.size())));
  return values[index];
}

// A no-op Python handler in `dir`.
inline void writeNoopFunction(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "index.py") << "def handler(event, context):\n    return b''\n";
}

// A SandboxEngine whose completions run on `caller`, with a cgroup parent of this process's own.
inline absl::StatusOr<std::unique_ptr<engine::SandboxEngine>> makeEngine(testing::TaskThread& caller,
                                                                         engine::InstanceObserver& observer) {
  engine::LauncherOptions launcherOptions;
  launcherOptions.cgroupParent = "surge-bench-" + std::to_string(::getpid());
  auto launcher = engine::SandboxLauncher::create(launcherOptions);
  if (!launcher.ok()) return launcher.status();
  engine::SandboxEngineOptions options;
  options.runtimeDir = SURGE_SOURCE_RUNTIME_DIR;
  return std::make_unique<engine::SandboxEngine>(
      options, std::move(*launcher), [&caller](std::function<void()> task) { caller.post(std::move(task)); }, observer);
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

} // namespace surge::bench
