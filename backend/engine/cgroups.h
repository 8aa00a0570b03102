// The sandboxes' cgroups under one parent, on cgroup v1 (one hierarchy per controller, as on
// these hybrid machines) or v2 (one unified hierarchy): creation with limits, CPU throttling, OOM
// detection, and killing and removal, including leftovers from a crashed predecessor.
#pragma once

#include "common/peak_memory.h"

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace surge::engine {

// Opens `file` (Cgroups::memoryPeakFile) now and returns what reads it later: one pread, from
// any thread, for as long as the cgroup exists (nullopt once it is gone). Null when it cannot
// be opened.
common::PeakMemoryReaderPtr memoryPeakReader(const std::filesystem::path& file);

enum class CgroupVersion { kV1, kV2 };

struct CgroupLimits {
  uint64_t memoryBytes = 0;
  uint32_t pidsMax = 0;
  // A minimal CPU weight from the start (setBackground()).
  bool background = false;
};

// Immutable after open(); all methods are safe to call from several threads at once for
// different groups.
class Cgroups {
public:
  // CPU quota period: short, so that a throttled instance waits at most ~10 ms per period
  // instead of the default 100 ms, which would show as latency spikes.
  static constexpr uint32_t kCpuPeriodUs = 10000;

  // Detects the layout under `root` (normally /sys/fs/cgroup): v2 when `root` is a unified
  // hierarchy offering memory, pids and cpu, otherwise v1 with memory, pids and cpu (and cpuacct
  // when mounted) each under root/<controller>. Creates `parent` in every hierarchy and, on v2,
  // enables the controllers for its children. FAILED_PRECONDITION when a controller is missing
  // or the parent cannot be created.
  static absl::StatusOr<Cgroups> open(const std::filesystem::path& root, const std::string& parent);

  CgroupVersion version() const { return version_; }

  // Kills the processes of every cgroup below the parent and removes those cgroups: what a
  // crashed predecessor left. FAILED_PRECONDITION, naming the cgroup, when one cannot be removed.
  absl::Status removeChildren() const;

  // Creates <parent>/<name> in every hierarchy, with the memory limit (swap included) and the
  // pids limit; the CPU is left unthrottled. Returns the directories, one per hierarchy.
  // ALREADY_EXISTS when a cgroup of that name exists; nothing is left behind on failure.
  absl::StatusOr<std::vector<std::filesystem::path>> createGroup(const std::string& name,
                                                                 const CgroupLimits& limits) const;

  // The files a single-threaded process writes "0" to in order to join the group: on v1 each
  // hierarchy's `tasks`, which moves only the calling thread and so skips the kernel's global
  // threadgroup lock (taking it waits for an RCU grace period: 8-20 ms on these VMs, for one
  // launch in three); on v2 `cgroup.procs`. Everything the process starts afterwards inherits
  // the group.
  std::vector<std::filesystem::path> joinFiles(const std::vector<std::filesystem::path>& groupDirs) const;

  // Background: the smallest CPU weight (v1 cpu.shares 2, v2 cpu.weight 1), so that the group
  // gets CPU only when no other group wants it; foreground: the default (1024, 100).
  absl::Status setBackground(const std::vector<std::filesystem::path>& groupDirs, bool background) const;

  // Applies a CFS quota of `cores` CPUs with a kCpuPeriodUs period.
  absl::Status throttleCpu(const std::vector<std::filesystem::path>& groupDirs, double cores) const;

  // Whether the memory controller has OOM-killed a process of the group.
  bool oomKilled(const std::vector<std::filesystem::path>& groupDirs) const;
  // The file with the group's memory high-water mark: memory.peak (v2, since Linux 5.19) or
  // memory.max_usage_in_bytes (v1). Empty when the group has no memory directory.
  std::filesystem::path memoryPeakFile(const std::vector<std::filesystem::path>& groupDirs) const;

  // Kills every process in the group (again and again, so that forks racing the kill are caught
  // too) and removes its directories, waiting at most `timeout` for the processes to be gone.
  // Missing directories are not an error. DEADLINE_EXCEEDED when processes remain, which also
  // happens while an exited process of the group has not been reaped by its parent.
  absl::Status removeGroup(const std::vector<std::filesystem::path>& groupDirs,
                           std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

  // Removes the parent's directories if no group is left in them (a stopped launcher leaves no
  // empty parent behind); a busy parent stays.
  void removeParentIfEmpty() const;

private:
  // One mounted hierarchy: v2 has one carrying every controller; v1 has one per controller, or
  // one for several when they are mounted together (e.g. cpu,cpuacct).
  struct Hierarchy {
    std::vector<std::string> controllers;
    std::filesystem::path parentDir;
  };

  Cgroups(CgroupVersion version, std::vector<Hierarchy> hierarchies)
      : version_(version), hierarchies_(std::move(hierarchies)) {}

  // The group's directory in the hierarchy that carries `controller`, or empty.
  std::filesystem::path dirFor(const std::vector<std::filesystem::path>& groupDirs,
                               const std::string& controller) const;

  CgroupVersion version_;
  std::vector<Hierarchy> hierarchies_;
};

} // namespace surge::engine
