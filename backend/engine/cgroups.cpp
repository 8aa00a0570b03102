// Sandbox cgroups on v1 and v2: the files written, and killing and removing groups safely.
#include "engine/cgroups.h"

#include "common/absl_compat.h"
#include "common/unique_fd.h"

#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_split.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <optional>
#include <span>
#include <sstream>
#include <string_view>
#include <system_error>
#include <thread>

namespace surge::engine {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

// The v1 controllers used, and a file proving the controller is active in a child cgroup.
struct ControllerProbe {
  const char* controller;
  const char* file;
  bool required;
};
constexpr ControllerProbe kV1Controllers[] = {
    {"memory", "memory.limit_in_bytes", true},
    {"pids", "pids.max", true},
    {"cpu", "cpu.cfs_quota_us", true},
    // Only accounting (CPU time per instance for metrics): used when mounted.
    {"cpuacct", "cpuacct.usage", false},
};
constexpr ControllerProbe kV2Controllers[] = {
    {"memory", "memory.max", true},
    {"pids", "pids.max", true},
    {"cpu", "cpu.max", true},
};

std::span<const ControllerProbe> probesFor(CgroupVersion version) {
  if (version == CgroupVersion::kV2) return kV2Controllers;
  return kV1Controllers;
}

absl::Status writeFile(const fs::path& path, std::string_view value) {
  const common::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return absl::InternalError(absl::StrCat("cannot open ", path.string(), ": ", std::strerror(errno)));
  }
  const ssize_t written = ::write(fd.get(), value.data(), value.size());
  const int error = errno;
  if (written != static_cast<ssize_t>(value.size())) {
    return absl::InternalError(absl::StrCat("cannot write '", common::toAbsl(value), "' to ", path.string(), ": ",
                                            written < 0 ? std::strerror(error) : "short write"));
  }
  return absl::OkStatus();
}

std::optional<std::string> readFile(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The value of `key` in a flat keyed file such as memory.events ("oom_kill 3").
std::optional<uint64_t> keyedValue(const std::string& contents, absl::string_view key) {
  for (absl::string_view line : absl::StrSplit(contents, '\n')) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
    uint64_t value = 0;
    if (fields.size() == 2 && fields[0] == key && absl::SimpleAtoi(fields[1], &value)) return value;
  }
  return std::nullopt;
}

std::vector<pid_t> readProcs(const fs::path& dir) {
  std::vector<pid_t> pids;
  std::ifstream in(dir / "cgroup.procs");
  pid_t pid = 0;
  while (in >> pid) pids.push_back(pid);
  return pids;
}

// Whether /proc/<pid>/cgroup places the process at `relPath` (e.g. "/surge/i-3") or below, in
// any hierarchy.
bool processInCgroup(pid_t pid, const std::string& relPath) {
  const auto contents = readFile(fs::path("/proc") / std::to_string(pid) / "cgroup");
  if (!contents) return false;
  for (absl::string_view line : absl::StrSplit(*contents, '\n')) {
    // "4:memory:/surge/i-3" on v1, "0::/surge/i-3" on v2.
    std::vector<absl::string_view> fields = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (fields.size() != 3) continue;
    const absl::string_view path = fields[2];
    if (path == relPath ||
        (path.size() > relPath.size() && path.substr(0, relPath.size()) == relPath && path[relPath.size()] == '/')) {
      return true;
    }
  }
  return false;
}

// SIGKILLs `pid` if it is still a member of the cgroup. The pidfd pins the process, so a pid
// recycled between reading cgroup.procs and the kill is never signalled: the membership is
// checked on the process the pidfd refers to.
void killMember(pid_t pid, const std::string& relPath) {
  const common::UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.valid()) return; // already gone
  if (processInCgroup(pid, relPath)) ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
}

// Directories of the cgroup at `dir` and all below it, deepest first (rmdir order).
std::vector<fs::path> subtreePostOrder(const fs::path& dir) {
  std::vector<fs::path> result;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_directory(ec) && !entry.is_symlink(ec)) {
      auto below = subtreePostOrder(entry.path());
      result.insert(result.end(), below.begin(), below.end());
    }
  }
  result.push_back(dir);
  return result;
}

// Kills everything in the cgroup at `dir` (and below) and removes it. `hierarchyRoot` is the
// mount point, to name the cgroup as /proc/<pid>/cgroup does.
absl::Status killAndRemove(const fs::path& dir, const fs::path& hierarchyRoot, Clock::time_point deadline) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return absl::OkStatus();
  // v2 (Linux 5.14+) kills the whole subtree atomically, forks included.
  if (fs::exists(dir / "cgroup.kill", ec)) (void)writeFile(dir / "cgroup.kill", "1");
  for (const fs::path& group : subtreePostOrder(dir)) {
    const std::string relPath = "/" + group.lexically_relative(hierarchyRoot).string();
    auto pause = std::chrono::microseconds(100);
    for (;;) {
      const std::vector<pid_t> pids = readProcs(group);
      if (pids.empty()) {
        if (::rmdir(group.c_str()) == 0 || errno == ENOENT) break;
        // EBUSY: the processes are dead but not yet reaped, or one was forked just now.
        if (errno != EBUSY) {
          return absl::InternalError(absl::StrCat("cannot remove cgroup ", group.string(), ": ", std::strerror(errno)));
        }
      }
      // A process forking while we kill may add a child after the read: hence the loop.
      for (const pid_t pid : pids) killMember(pid, relPath);
      if (Clock::now() >= deadline) {
        if (pids.empty()) {
          return absl::DeadlineExceededError(
              absl::StrCat("cgroup ", group.string(), " stays busy: a dead member has not been reaped by its parent"));
        }
        return absl::DeadlineExceededError(
            absl::StrCat("cgroup ", group.string(), " still has ", pids.size(), " processes after SIGKILL"));
      }
      // Dying processes release their memory asynchronously; back off instead of spinning.
      std::this_thread::sleep_for(pause);
      pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(10));
    }
  }
  return absl::OkStatus();
}

absl::Status makeDir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("cannot create cgroup ", dir.string(), ": ", std::strerror(errno)));
}

} // namespace

absl::StatusOr<Cgroups> Cgroups::open(const fs::path& root, const std::string& parent) {
  std::error_code ec;
  std::vector<Hierarchy> hierarchies;
  CgroupVersion version;
  if (fs::exists(root / "cgroup.controllers", ec)) {
    version = CgroupVersion::kV2;
    const std::string available = readFile(root / "cgroup.controllers").value_or("");
    const std::vector<absl::string_view> names = absl::StrSplit(available, absl::ByAnyChar(" \n"), absl::SkipEmpty());
    Hierarchy unified{{}, root / parent};
    for (const auto& probe : kV2Controllers) {
      if (std::find(names.begin(), names.end(), probe.controller) == names.end()) {
        return absl::FailedPreconditionError(absl::StrCat("cgroup v2 at ", root.string(), " does not offer the ",
                                                          probe.controller, " controller (it offers: ", available,
                                                          ")"));
      }
      unified.controllers.push_back(probe.controller);
    }
    // Children get a controller only when every ancestor enables it for its subtree.
    for (const auto& controller : unified.controllers) {
      if (auto status = writeFile(root / "cgroup.subtree_control", "+" + controller); !status.ok()) {
        return absl::FailedPreconditionError(status.message());
      }
    }
    if (auto status = makeDir(unified.parentDir); !status.ok()) return status;
    for (const auto& controller : unified.controllers) {
      if (auto status = writeFile(unified.parentDir / "cgroup.subtree_control", "+" + controller); !status.ok()) {
        return absl::FailedPreconditionError(status.message());
      }
    }
    hierarchies.push_back(std::move(unified));
  } else {
    version = CgroupVersion::kV1;
    std::vector<fs::path> mountPoints; // canonical, to spot co-mounted controllers
    for (const auto& probe : kV1Controllers) {
      const fs::path mount = root / probe.controller;
      if (!fs::exists(mount / "cgroup.procs", ec)) {
        if (!probe.required) continue;
        return absl::FailedPreconditionError(absl::StrCat("no cgroup v1 ", probe.controller, " controller at ",
                                                          mount.string(), " and no cgroup v2 at ", root.string()));
      }
      const fs::path canonical = fs::canonical(mount, ec);
      const auto known = std::find(mountPoints.begin(), mountPoints.end(), canonical);
      if (known != mountPoints.end()) {
        hierarchies[static_cast<size_t>(known - mountPoints.begin())].controllers.push_back(probe.controller);
        continue;
      }
      mountPoints.push_back(canonical);
      hierarchies.push_back(Hierarchy{{probe.controller}, mount / parent});
      if (auto status = makeDir(mount / parent); !status.ok()) return status;
    }
  }
  // A controller's files appear in a child cgroup only when the controller is active there.
  for (const auto& hierarchy : hierarchies) {
    for (const auto& probe : probesFor(version)) {
      const auto& names = hierarchy.controllers;
      if (std::find(names.begin(), names.end(), probe.controller) == names.end()) continue;
      if (!fs::exists(hierarchy.parentDir / probe.file, ec)) {
        return absl::FailedPreconditionError(absl::StrCat("the ", probe.controller, " controller is not usable in ",
                                                          hierarchy.parentDir.string(), ": ", probe.file,
                                                          " is missing"));
      }
    }
  }
  return Cgroups(version, std::move(hierarchies));
}

absl::Status Cgroups::removeChildren() const {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  std::error_code ec;
  for (const auto& hierarchy : hierarchies_) {
    // Listed first, removed after: no removal while the directory is being read.
    std::vector<fs::path> leftovers;
    for (const auto& entry : fs::directory_iterator(hierarchy.parentDir, ec)) {
      if (entry.is_directory(ec) && !entry.is_symlink(ec)) leftovers.push_back(entry.path());
    }
    if (ec) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot list ", hierarchy.parentDir.string(), ": ", ec.message()));
    }
    for (const auto& leftover : leftovers) {
      if (auto status = killAndRemove(leftover, hierarchy.parentDir.parent_path(), deadline); !status.ok()) {
        return absl::FailedPreconditionError(
            absl::StrCat("cannot remove a leftover sandbox cgroup: ", status.message()));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<fs::path>> Cgroups::createGroup(const std::string& name, const CgroupLimits& limits) const {
  std::vector<fs::path> dirs;
  auto fail = [&](absl::Status status) {
    // Nothing can be inside yet, so removal is immediate.
    for (const auto& dir : dirs) ::rmdir(dir.c_str());
    return status;
  };
  for (const auto& hierarchy : hierarchies_) {
    const fs::path dir = hierarchy.parentDir / name;
    if (::mkdir(dir.c_str(), 0755) != 0) {
      if (errno == EEXIST) {
        return fail(absl::AlreadyExistsError(
            absl::StrCat("cgroup ", dir.string(), " already exists: a live sandbox is named '", name, "'")));
      }
      return fail(absl::InternalError(absl::StrCat("cannot create cgroup ", dir.string(), ": ", std::strerror(errno))));
    }
    dirs.push_back(dir);
  }
  const std::string memory = std::to_string(limits.memoryBytes);
  const std::string pids = std::to_string(limits.pidsMax);
  std::error_code ec;
  if (version_ == CgroupVersion::kV2) {
    const fs::path& dir = dirs.front();
    for (const auto& [file, value] : {std::pair<const char*, std::string>{"memory.max", memory}, {"pids.max", pids}}) {
      if (auto status = writeFile(dir / file, value); !status.ok()) return fail(status);
    }
    // Swap would let the group exceed memory.max; absent when the kernel has no swap support.
    if (fs::exists(dir / "memory.swap.max", ec)) {
      if (auto status = writeFile(dir / "memory.swap.max", "0"); !status.ok()) return fail(status);
    }
    if (limits.background) {
      if (auto status = setBackground(dirs, true); !status.ok()) return fail(status);
    }
    return dirs;
  }
  const fs::path memoryDir = dirFor(dirs, "memory");
  if (auto status = writeFile(memoryDir / "memory.limit_in_bytes", memory); !status.ok()) return fail(status);
  // memory+swap, so that swapping out cannot take the group past its limit. Written second: it
  // may never be below memory.limit_in_bytes.
  if (fs::exists(memoryDir / "memory.memsw.limit_in_bytes", ec)) {
    if (auto status = writeFile(memoryDir / "memory.memsw.limit_in_bytes", memory); !status.ok()) return fail(status);
  }
  if (auto status = writeFile(dirFor(dirs, "pids") / "pids.max", pids); !status.ok()) return fail(status);
  if (limits.background) {
    if (auto status = setBackground(dirs, true); !status.ok()) return fail(status);
  }
  return dirs;
}

absl::Status Cgroups::setBackground(const std::vector<fs::path>& groupDirs, bool background) const {
  const fs::path dir = dirFor(groupDirs, "cpu");
  if (dir.empty()) return absl::NotFoundError("the sandbox has no cpu cgroup");
  if (version_ == CgroupVersion::kV2) return writeFile(dir / "cpu.weight", background ? "1" : "100");
  return writeFile(dir / "cpu.shares", background ? "2" : "1024");
}

std::vector<fs::path> Cgroups::joinFiles(const std::vector<fs::path>& groupDirs) const {
  std::vector<fs::path> files;
  for (const auto& dir : groupDirs) files.push_back(dir / (version_ == CgroupVersion::kV1 ? "tasks" : "cgroup.procs"));
  return files;
}

absl::Status Cgroups::throttleCpu(const std::vector<fs::path>& groupDirs, double cores) const {
  if (!(cores > 0)) return absl::InvalidArgumentError(absl::StrCat("CPU quota must be positive, got ", cores));
  // The kernel refuses quotas below 1 ms.
  const auto quota = std::max<int64_t>(1000, std::llround(cores * kCpuPeriodUs));
  const fs::path dir = dirFor(groupDirs, "cpu");
  if (dir.empty()) return absl::NotFoundError("the sandbox has no cpu cgroup");
  if (version_ == CgroupVersion::kV2) return writeFile(dir / "cpu.max", absl::StrCat(quota, " ", kCpuPeriodUs));
  // Period first: the quota is checked against it.
  if (auto status = writeFile(dir / "cpu.cfs_period_us", std::to_string(kCpuPeriodUs)); !status.ok()) return status;
  return writeFile(dir / "cpu.cfs_quota_us", std::to_string(quota));
}

bool Cgroups::oomKilled(const std::vector<fs::path>& groupDirs) const {
  const fs::path dir = dirFor(groupDirs, "memory");
  if (dir.empty()) return false;
  const auto contents =
      readFile(dir / (version_ == CgroupVersion::kV2 ? "memory.events" : "memory.oom_control")).value_or("");
  return keyedValue(contents, "oom_kill").value_or(0) > 0;
}

common::PeakMemoryReaderPtr memoryPeakReader(const fs::path& file) {
  if (file.empty()) return nullptr;
  auto fd = std::make_shared<common::UniqueFd>(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd->get() < 0) return nullptr;
  return std::make_shared<const common::PeakMemoryReader>([fd]() -> std::optional<uint64_t> {
    char buffer[32];
    const ssize_t n = ::pread(fd->get(), buffer, sizeof(buffer) - 1, 0);
    if (n <= 0) return std::nullopt;
    uint64_t value = 0;
    // SimpleAtoi allows the trailing newline.
    if (!absl::SimpleAtoi(common::toAbsl(std::string_view(buffer, static_cast<size_t>(n))), &value))
      return std::nullopt;
    return value;
  });
}

fs::path Cgroups::memoryPeakFile(const std::vector<fs::path>& groupDirs) const {
  const fs::path dir = dirFor(groupDirs, "memory");
  if (dir.empty()) return {};
  return dir / (version_ == CgroupVersion::kV2 ? "memory.peak" : "memory.max_usage_in_bytes");
}

absl::Status Cgroups::removeGroup(const std::vector<fs::path>& groupDirs, std::chrono::milliseconds timeout) const {
  const auto deadline = Clock::now() + timeout;
  absl::Status result;
  for (const auto& dir : groupDirs) {
    // Only directories directly below one of our parents: never anything else in the tree.
    const auto hierarchy = std::find_if(hierarchies_.begin(), hierarchies_.end(),
                                        [&](const Hierarchy& h) { return dir.parent_path() == h.parentDir; });
    if (hierarchy == hierarchies_.end() || dir.filename().empty()) {
      result.Update(absl::InvalidArgumentError(absl::StrCat(dir.string(), " is not a sandbox cgroup")));
      continue;
    }
    result.Update(killAndRemove(dir, hierarchy->parentDir.parent_path(), deadline));
  }
  return result;
}

fs::path Cgroups::dirFor(const std::vector<fs::path>& groupDirs, const std::string& controller) const {
  for (const auto& hierarchy : hierarchies_) {
    const auto& names = hierarchy.controllers;
    if (std::find(names.begin(), names.end(), controller) == names.end()) continue;
    for (const auto& dir : groupDirs) {
      if (dir.parent_path() == hierarchy.parentDir) return dir;
    }
  }
  return {};
}

void Cgroups::removeParentIfEmpty() const {
  for (const Hierarchy& hierarchy : hierarchies_) ::rmdir(hierarchy.parentDir.c_str());
}

} // namespace surge::engine
