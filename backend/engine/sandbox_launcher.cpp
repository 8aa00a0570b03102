// The bubblewrap sandbox launcher: a forked child joins the cgroup, drops to the function's uid,
// and execs an unprivileged bwrap that builds the namespaces, mounts and seccomp filter.
#include "engine/sandbox_launcher.h"

#include "common/files.h"
#include "common/mutex.h"
#include "common/unique_fd.h"
#include "engine/cgroups.h"
#include "engine/child_signals.h"
#include "engine/sandbox_constants.h"
#include "engine/sandbox_layout.h"
#include "engine/sandbox_layout_builder.h"
#include "engine/seccomp_filter.h"

#include <absl/base/thread_annotations.h>
#include <absl/strings/str_cat.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <string_view>
#include <tuple>
#include <utility>

namespace surge::engine {
namespace fs = std::filesystem;

namespace {

using namespace sandbox; // its descriptor numbers and paths are this file's vocabulary

constexpr uint32_t kMinMemoryMb = 16;
// bubblewrap's outer process and its init in the pid namespace, plus the program.
constexpr uint32_t kMinPids = 3;
constexpr size_t kMaxNameLength = 64;

// The child's own descriptors, above the sandbox's.
constexpr int kErrorReportFd = kFdCount; // close-on-exec: EOF tells the parent that exec succeeded
constexpr int kFirstFreeFd = kErrorReportFd + 1;

// Where the child failed before exec; reported through the error pipe.
enum class ChildStep : int32_t { kSignals, kCgroup, kNetwork, kDescriptors, kCredentials, kPrctl, kExec };
struct ChildError {
  ChildStep step;
  int32_t error;
};

const char* describe(ChildStep step) {
  switch (step) {
  case ChildStep::kSignals: return "resetting signals";
  case ChildStep::kCgroup: return "joining the cgroup";
  case ChildStep::kNetwork: return "joining the network namespace";
  case ChildStep::kDescriptors: return "arranging file descriptors";
  case ChildStep::kCredentials: return "switching to the sandbox uid";
  case ChildStep::kPrctl: return "setting no_new_privs and the parent-death signal";
  case ChildStep::kExec: return "executing bwrap";
  }
  return "starting";
}

absl::StatusOr<std::array<common::UniqueFd, 2>> makePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError(absl::StrCat("pipe2: ", std::strerror(errno)));
  return std::array<common::UniqueFd, 2>{common::UniqueFd(fds[0]), common::UniqueFd(fds[1])};
}

bool hasNul(std::string_view text) { return text.find('\0') != std::string_view::npos; }

bool validName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

bool validParent(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
  });
}

absl::Status validate(const SandboxSpec& spec) {
  if (!validName(spec.name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("sandbox name '", spec.name, "' must be 1-", kMaxNameLength, " characters of [a-z0-9-]"));
  }
  for (const auto& [what, id] : {std::pair<const char*, uint32_t>{"uid", spec.uid}, {"gid", spec.gid}}) {
    if (id < kMinId || id == kOverflowId) {
      return absl::InvalidArgumentError(
          absl::StrCat("sandbox ", what, " ", id, " must be at least ", kMinId, " and not ", kOverflowId, " (nobody)"));
    }
  }
  std::error_code ec;
  if (!spec.codeDir.is_absolute() || !fs::is_directory(spec.codeDir, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("code directory '", spec.codeDir.string(), "' must be an absolute path to a directory"));
  }
  static const fs::path kReserved[] = {"/usr", "/etc", kCodeDir, "/tmp", "/proc", "/dev"};
  for (const auto& [host, inside] : spec.readOnlyBinds) {
    if (!host.is_absolute() || !fs::exists(host, ec)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bind source '", host.string(), "' must be an absolute path that exists"));
    }
    const bool normal = inside.is_absolute() && inside == inside.lexically_normal() &&
                        std::none_of(inside.begin(), inside.end(), [](const fs::path& p) { return p == ".."; });
    if (!normal || inside == inside.root_path() || hasNul(inside.native()) || hasNul(host.native()) ||
        std::any_of(std::begin(kReserved), std::end(kReserved),
                    [&target = inside](const fs::path& r) { return common::isWithin(target, r); })) {
      return absl::InvalidArgumentError(
          absl::StrCat("bind target '", inside.string(),
                       "' must be a normalised absolute path outside /, /usr, /etc, /code, /tmp, /proc and /dev"));
    }
  }
  if (spec.memoryMb < kMinMemoryMb) {
    return absl::InvalidArgumentError(
        absl::StrCat("memoryMb ", spec.memoryMb, " is below the minimum of ", kMinMemoryMb));
  }
  if (spec.pidsMax < kMinPids) {
    return absl::InvalidArgumentError(absl::StrCat("pidsMax ", spec.pidsMax, " is below the minimum of ", kMinPids,
                                                   ": bubblewrap needs 2 processes besides the program"));
  }
  if (!std::isfinite(spec.cpuCores) || spec.cpuCores < 0) {
    return absl::InvalidArgumentError(absl::StrCat("cpuCores ", spec.cpuCores, " must be 0 (default) or positive"));
  }
  if (spec.argv.empty() || spec.argv.front().empty()) {
    return absl::InvalidArgumentError("argv must name the program to run");
  }
  if (std::any_of(spec.argv.begin(), spec.argv.end(), [](const std::string& arg) { return hasNul(arg); })) {
    return absl::InvalidArgumentError("argv entries must not contain NUL characters");
  }
  for (const auto& [key, value] : spec.env) {
    if (key.empty() || key.find('=') != std::string::npos || hasNul(key) || hasNul(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("environment variable name '", key, "' must be non-empty, without '=' or NUL"));
    }
  }
  if (spec.protocolFd < -1 || (spec.protocolFd >= 0 && ::fcntl(spec.protocolFd, F_GETFD) < 0)) {
    return absl::InvalidArgumentError(absl::StrCat("protocolFd ", spec.protocolFd, " is not an open descriptor"));
  }
  return absl::OkStatus();
}

// Everything the forked child needs, prepared before fork(): after it, in a multi-threaded
// process, only async-signal-safe calls are allowed (no allocation).
struct ChildPlan {
  std::array<int, kFdCount> sources{}; // host fd to place at index, or -1 to leave closed
  int errorFd = -1;
  std::vector<const char*> joinFiles; // the child is single-threaded: it moves itself
  int netnsFd = -1;                   // join this network namespace (bwrap then makes none)
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t parent = 0;
  const char* program = nullptr;
  std::vector<char*> argv;
};

[[noreturn]] void childFail(int errorFd, ChildStep step) {
  const ChildError report{step, errno};
  [[maybe_unused]] const ssize_t written = ::write(errorFd, &report, sizeof(report));
  ::_exit(127);
}

[[noreturn]] void runChild(const ChildPlan& plan) {
  int errorFd = plan.errorFd;

  // The daemon may block or ignore signals (SIGPIPE); exec keeps both, the sandbox must not.
  if (!restoreDefaultSignals()) childFail(errorFd, ChildStep::kSignals);

  // Into the cgroup first, while still root: every process bwrap starts inherits it.
  for (const char* file : plan.joinFiles) {
    const int fd = ::open(file, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ::write(fd, "0", 1) != 1) childFail(errorFd, ChildStep::kCgroup);
    ::close(fd);
  }
  // Also while root: the namespace belongs to the host's user namespace, and the sandbox's own
  // user namespace, made by bwrap later, gets no power over it.
  if (plan.netnsFd >= 0 && ::setns(plan.netnsFd, CLONE_NEWNET) != 0) childFail(errorFd, ChildStep::kNetwork);

  // Descriptors: copy every source above the target range first, so that placing one cannot
  // overwrite another that happens to sit at a target number; then close everything else.
  std::array<int, kFdCount> moved{};
  for (int target = 0; target < kFdCount; ++target) {
    moved[target] = plan.sources[target] < 0 ? -1 : ::fcntl(plan.sources[target], F_DUPFD_CLOEXEC, kFirstFreeFd);
    if (plan.sources[target] >= 0 && moved[target] < 0) childFail(errorFd, ChildStep::kDescriptors);
  }
  const int movedError = ::fcntl(errorFd, F_DUPFD_CLOEXEC, kFirstFreeFd);
  if (movedError < 0) childFail(errorFd, ChildStep::kDescriptors);
  errorFd = movedError;
  for (int target = 0; target < kFdCount; ++target) {
    if (moved[target] < 0) {
      ::close(target); // e.g. no protocol descriptor: fd 3 stays closed
      continue;
    }
    // dup2 clears close-on-exec on the copy: these are the descriptors bwrap inherits.
    if (::dup2(moved[target], target) != target) childFail(errorFd, ChildStep::kDescriptors);
  }
  if (::dup3(errorFd, kErrorReportFd, O_CLOEXEC) != kErrorReportFd) childFail(errorFd, ChildStep::kDescriptors);
  errorFd = kErrorReportFd;
  if (::syscall(SYS_close_range, kFirstFreeFd, ~0U, 0) != 0) childFail(errorFd, ChildStep::kDescriptors);

  // No core files from a crashing function, a predictable umask, and a cwd bwrap can read.
  const rlimit noCore{0, 0};
  ::setrlimit(RLIMIT_CORE, &noCore);
  ::umask(022);
  if (::chdir("/") != 0) childFail(errorFd, ChildStep::kCredentials);

  // Raw syscalls: glibc's wrappers coordinate all threads of the process, which a forked child
  // of a multi-threaded parent must not attempt. Groups first, uid last (it drops the right
  // to change the others).
  if (::syscall(SYS_setgroups, 0, nullptr) != 0 || ::syscall(SYS_setresgid, plan.gid, plan.gid, plan.gid) != 0 ||
      ::syscall(SYS_setresuid, plan.uid, plan.uid, plan.uid) != 0 || ::getuid() != plan.uid ||
      ::geteuid() != plan.uid || ::getgid() != plan.gid) {
    childFail(errorFd, ChildStep::kCredentials);
  }
  // bwrap sets no_new_privs itself; setting it here too covers a setuid-root bwrap (which then
  // runs unprivileged, as intended). The parent-death signal covers the gap before bwrap's
  // own --die-with-parent: it is set after the uid change, which would clear it.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
    childFail(errorFd, ChildStep::kPrctl);
  }
  if (::getppid() != plan.parent) ::_exit(127); // the launcher died already

  char* const emptyEnv[] = {nullptr};
  ::execve(plan.program, plan.argv.data(), emptyEnv);
  childFail(errorFd, ChildStep::kExec);
}

class BwrapSandboxLauncher final : public SandboxLauncher {
public:
  BwrapSandboxLauncher(LauncherOptions options, Cgroups cgroups, SeccompFilter filter,
                       absl::StatusOr<std::unique_ptr<SandboxNetwork>> network)
      : options_(std::move(options)), cgroups_(std::move(cgroups)), filter_(std::move(filter)),
        layouts_(SandboxLayoutBuilder::forHost()), network_(std::move(network)) {
    if (options_.zygote.program.empty()) return;
    if (::access(options_.zygote.program.c_str(), X_OK) != 0) {
      spdlog::warn("the Python zygote is not executable at '{}': Python sandboxes start by bubblewrap",
                   options_.zygote.program.string());
      return;
    }
    zygote_ = std::make_unique<Zygote>(options_.zygote);
  }
  ~BwrapSandboxLauncher() override {
    network_ = absl::CancelledError(); // its helpers' cgroup goes first, on v2 inside the parent
    cgroups_.removeParentIfEmpty();
  }

  absl::StatusOr<SandboxProcess> launch(const SandboxSpec& spec) override;
  absl::Status throttleCpu(const SandboxProcess& process, const SandboxSpec& spec) override;
  absl::Status foreground(const SandboxProcess& process) override {
    return cgroups_.setBackground(process.cgroupDirs, false);
  }
  bool oomKilled(const SandboxProcess& process) const override { return cgroups_.oomKilled(process.cgroupDirs); }
  std::filesystem::path memoryPeakFile(const SandboxProcess& process) const override {
    return cgroups_.memoryPeakFile(process.cgroupDirs);
  }
  void destroy(SandboxProcess& process) override;
  std::string cgroupVersion() const override { return cgroups_.version() == CgroupVersion::kV2 ? "v2" : "v1"; }
  void warmUp() override {
    common::MutexLock lock(zygoteMu_);
    if (zygote_) zygote_->warmUp();
  }
  pid_t zygotePid() const override {
    common::MutexLock lock(zygoteMu_);
    return zygote_ ? zygote_->pid() : -1;
  }

private:
  // launch() once the network, if any, is attached.
  absl::StatusOr<SandboxProcess> launchWith(const SandboxSpec& spec, const NetworkAttachment& network);

  const LauncherOptions options_;
  const Cgroups cgroups_;
  const SeccompFilter filter_;
  const SandboxLayoutBuilder layouts_;
  // Outbound network for SandboxSpec::network, or why there is none.
  absl::StatusOr<std::unique_ptr<SandboxNetwork>> network_;
  mutable common::Mutex zygoteMu_; // launch() is thread-safe; the zygote serves one request at a time
  std::unique_ptr<Zygote> zygote_ ABSL_PT_GUARDED_BY(zygoteMu_);
};

absl::StatusOr<SandboxProcess> BwrapSandboxLauncher::launch(const SandboxSpec& spec) {
  if (auto status = validate(spec); !status.ok()) return status;
  if (!spec.network) return launchWith(spec, NetworkAttachment{});
  if (!network_.ok()) {
    // The platform's fault, not the function's: UNAVAILABLE, as any sandbox that cannot be made.
    return absl::UnavailableError(
        absl::StrCat("this server gives sandboxes no network: ", network_.status().message()));
  }
  auto attachment = (*network_)->attach();
  if (!attachment.ok()) return attachment.status();
  auto process = launchWith(spec, *attachment);
  if (!process.ok()) (*network_)->detach(*attachment);
  return process;
}

absl::StatusOr<SandboxProcess> BwrapSandboxLauncher::launchWith(const SandboxSpec& spec,
                                                                const NetworkAttachment& network) {
  // The generated /etc: only the sandbox user and group, and loopback names.
  const std::string passwd = absl::StrCat("sandbox:x:", spec.uid, ":", spec.gid,
                                          ":Surge function:/tmp:/usr/sbin/nologin\n"
                                          "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
  const std::string group = absl::StrCat("sandbox:x:", spec.gid, ":\nnogroup:x:65534:\n");
  const std::string hosts = "127.0.0.1\tlocalhost surge\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  const std::string nsswitch =
      spec.network ? "passwd: files\ngroup: files\nhosts: files dns\n" : "passwd: files\ngroup: files\nhosts: files\n";
  const std::string resolv = "nameserver 10.0.2.3\n"; // slirp4netns's forwarder
  std::array<common::UniqueFd, kFdCount> sources;
  {
    auto seccomp = filter_.toMemfd();
    if (!seccomp.ok()) return seccomp.status();
    sources[kSeccompFd].reset(*seccomp);
    for (const auto& [index, name, text] :
         {std::tuple<int, const char*, const std::string*>{kPasswdFd, "surge-passwd", &passwd},
          {kGroupFd, "surge-group", &group},
          {kHostsFd, "surge-hosts", &hosts},
          {kNsswitchFd, "surge-nsswitch", &nsswitch},
          {kResolvFd, "surge-resolv", spec.network ? &resolv : nullptr}}) {
      if (text == nullptr) continue;
      auto fd = sealedMemfd(name, text->data(), text->size());
      if (!fd.ok()) return fd.status();
      sources[index].reset(*fd);
    }
    sources[0].reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!sources[0].valid()) return absl::InternalError(absl::StrCat("open /dev/null: ", std::strerror(errno)));
  }
  auto outPipe = makePipe();
  auto errPipe = makePipe();
  auto reportPipe = makePipe();
  for (const auto* pipe : {&outPipe, &errPipe, &reportPipe}) {
    if (!pipe->ok()) return pipe->status();
  }
  sources[1] = std::move((*outPipe)[1]);
  sources[2] = std::move((*errPipe)[1]);

  auto dirs = cgroups_.createGroup(spec.name, {uint64_t{spec.memoryMb} << 20, spec.pidsMax, spec.background});
  if (!dirs.ok()) return dirs.status();

  std::vector<std::string> joinFiles;
  for (const auto& file : cgroups_.joinFiles(*dirs)) joinFiles.push_back(file.string());
  // The one description of this sandbox, which the zygote or bubblewrap carries out.
  const SandboxLayout layout = layouts_.build(spec, std::move(joinFiles));
  if (spec.viaZygote && !spec.network) {
    common::MutexLock lock(zygoteMu_);
    if (zygote_) {
      std::vector<int> fds;
      for (const int target : layout.fds)
        fds.push_back(target == kProtocolFd ? spec.protocolFd : sources[target].get());
      auto pid = zygote_->spawn(layout, fds);
      if (pid.ok()) {
        SandboxProcess process;
        process.pid = *pid;
        process.zygote = true;
        process.stdoutFd = (*outPipe)[0].release();
        process.stderrFd = (*errPipe)[0].release();
        for (const int fd : {process.stdoutFd, process.stderrFd})
          ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
        process.cgroupDirs = std::move(*dirs);
        return process;
      }
      if (pid.status().code() != absl::StatusCode::kUnavailable) {
        (void)cgroups_.removeGroup(*dirs);
        return pid.status();
      }
      // No zygote could serve: bubblewrap starts this one, from a fresh cgroup. A zygote that
      // died between forking and answering may have left its child A (ours, by CLONE_PARENT)
      // in this one: reap it, or, a zombie, it would keep the cgroup from being removed.
      for (const auto& dir : *dirs) {
        std::ifstream procs(dir / "cgroup.procs");
        for (pid_t member = 0; procs >> member;) {
          ::kill(member, SIGKILL);
          ::waitpid(member, nullptr, 0); // ECHILD at once for its descendants, which are not ours
        }
      }
      if (auto removed = cgroups_.removeGroup(*dirs); !removed.ok()) return removed;
      dirs = cgroups_.createGroup(spec.name, {uint64_t{spec.memoryMb} << 20, spec.pidsMax, spec.background});
      if (!dirs.ok()) return dirs.status();
    }
  }
  std::vector<std::string> args = toBwrapArgs(layout, options_.bwrap.string());
  ChildPlan plan;
  plan.sources.fill(-1);
  for (const int target : layout.fds)
    plan.sources[target] = target == kProtocolFd ? spec.protocolFd : sources[target].get();
  plan.errorFd = (*reportPipe)[1].get();
  for (const auto& file : layout.cgroupFiles) plan.joinFiles.push_back(file.c_str());
  plan.netnsFd = network.netnsFd;
  plan.uid = layout.uid;
  plan.gid = layout.gid;
  plan.parent = ::getpid();
  plan.program = args.front().c_str();
  for (auto& arg : args) plan.argv.push_back(arg.data());
  plan.argv.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid == 0) runChild(plan);
  const int forkError = errno;
  for (auto& fd : sources) fd.reset();
  (*reportPipe)[1].reset();
  if (pid < 0) {
    (void)cgroups_.removeGroup(*dirs);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(forkError)));
  }

  // Blocks until the child execs (EOF) or reports why it could not.
  ChildError report{};
  ssize_t got;
  do {
    got = ::read((*reportPipe)[0].get(), &report, sizeof(report));
  } while (got < 0 && errno == EINTR);
  if (got != 0) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    (void)cgroups_.removeGroup(*dirs);
    if (got != static_cast<ssize_t>(sizeof(report))) {
      return absl::InternalError(absl::StrCat("sandbox '", spec.name, "' failed before exec"));
    }
    return absl::InternalError(absl::StrCat("sandbox '", spec.name, "' failed while ", describe(report.step), ": ",
                                            std::strerror(report.error)));
  }

  SandboxProcess process;
  process.pid = pid;
  process.stdoutFd = (*outPipe)[0].release();
  process.stderrFd = (*errPipe)[0].release();
  for (const int fd : {process.stdoutFd, process.stderrFd}) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  process.cgroupDirs = std::move(*dirs);
  process.network = network;
  return process;
}

absl::Status BwrapSandboxLauncher::throttleCpu(const SandboxProcess& process, const SandboxSpec& spec) {
  const double cores = spec.cpuCores > 0 ? spec.cpuCores : std::max(0.25, spec.memoryMb / 1024.0);
  return cgroups_.throttleCpu(process.cgroupDirs, cores);
}

void BwrapSandboxLauncher::destroy(SandboxProcess& process) {
  if (network_.ok()) (*network_)->detach(process.network);
  if (process.cgroupDirs.empty()) return;
  if (auto status = cgroups_.removeGroup(process.cgroupDirs); !status.ok()) {
    // The next create() removes what is left.
    spdlog::warn("sandbox cleanup incomplete: {}", status.ToString());
  }
  process.cgroupDirs.clear();
}

} // namespace

absl::StatusOr<std::unique_ptr<SandboxLauncher>> SandboxLauncher::create(LauncherOptions options) {
  if (::geteuid() != 0) {
    return absl::FailedPreconditionError(
        "the sandbox launcher must run as root: it writes cgroups and switches to the functions' uids");
  }
  if (!validParent(options.cgroupParent)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cgroup parent '", options.cgroupParent, "' must be 1-64 characters of [A-Za-z0-9._-]"));
  }
  if (!options.bwrap.is_absolute() || ::access(options.bwrap.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("bubblewrap is not executable at '", options.bwrap.string(), "': install the bubblewrap package"));
  }
  auto filter = SeccompFilter::build();
  if (!filter.ok()) return filter.status();
  auto cgroups = Cgroups::open(options.cgroupRoot, options.cgroupParent);
  if (!cgroups.ok()) return cgroups.status();
  if (auto status = cgroups->removeChildren(); !status.ok()) return status;
  absl::StatusOr<std::unique_ptr<SandboxNetwork>> network = absl::UnknownError("");
  if (auto cgroup2 = findCgroup2(options.cgroupRoot); cgroup2.ok()) {
    options.network.cgroup2Root = *cgroup2;
    options.network.cgroupParent = options.cgroupParent;
    network = SandboxNetwork::create(options.network);
  } else {
    network =
        absl::FailedPreconditionError(absl::StrCat("the network filter needs cgroup v2: ", cgroup2.status().message()));
  }
  if (!network.ok()) {
    spdlog::warn("functions with network on cannot start: {}", network.status().ToString());
  }
  return std::make_unique<BwrapSandboxLauncher>(std::move(options), std::move(*cgroups), std::move(*filter),
                                                std::move(network));
}

} // namespace surge::engine
