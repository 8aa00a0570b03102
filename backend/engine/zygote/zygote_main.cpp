// surge-zygote: Debian's Python 3.11, embedded, with the runtime shim already loaded, forking
// sandboxed instances on request. Started by the engine's Zygote (engine/zygote.h), never by hand;
// docs/engine.md says why it exists and docs/sandbox.md why it keeps the sandbox's isolation.
//
//   surge-zygote /usr/bin/python3 -S <shim path inside the sandbox>   (argv[0] as shown)
//
// with the control socket at fd 3 and the shim's source open at fd 4. The argv is the one a
// direct start's interpreter has, since the children's /proc/self/cmdline shows it; nothing of
// the host's paths is in it or in the environment (LANG only). The control descriptor is a
// SOCK_SEQPACKET socket. The zygote sends "READY" once loaded, then
// answers each request with "OK <pid>" or "ERR <message>" (nothing was started), or A answers
// "REFUSED <pid> <reason>" (A read the request, refused it and exits; reap it). The zygote never
// reads a request itself (see serve()). A request is an encoded SandboxLayout
// (engine/sandbox_layout.h, the same description bubblewrap's arguments are made from), with the
// descriptors as SCM_RIGHTS, one per entry of its fds. End of stream: the zygote exits.
//
// Each request is served by three processes, as bubblewrap does it:
//   A (clone with CLONE_PARENT, so a child of the engine, which waits for it): reads the request,
//     resets signal dispositions, joins the cgroup
//     as root, becomes the function's uid, clones B into new namespaces, and exits with B's code;
//   B (pid 1 of the new pid namespace): maps the uid to itself, builds the mounts, pivots, drops
//     every capability, applies the seccomp filter, forks C, and reaps until C exits;
//   C: the program. Python with the shim in this very interpreter (after PyOS_AfterFork_Child),
//     `python3 -S -c CODE` likewise, anything else by execve.
// This process is single-threaded and runs no function code; every child runs C code only
// until its sandbox is complete.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "engine/sandbox_constants.h"
#include "engine/sandbox_layout.h"

namespace {

namespace sandbox = surge::engine::sandbox;
using surge::engine::MountOp;
using surge::engine::SandboxLayout;

constexpr int kMaxFds = sandbox::kZygoteFdCount;                 // 0-2 stdio, 3 protocol, 4 seccomp, 5-8 /etc data
constexpr size_t kMaxRequest = surge::engine::kMaxEncodedLayout; // far above what the launcher sends

// A request's sandbox, and the descriptor received for each of its numbers (or -1).
struct Plan {
  SandboxLayout layout;
  std::array<int, kMaxFds> fds{};
};

std::string gShimInside;  // the shim's path inside the sandbox, as the engine's argv names it
PyObject* gRun = nullptr; // the bootstrap's run(argv, env)

// ---- the request (read by A, never by the zygote: see serve()) ----

// Fills `plan` from the request: decode() checks the layout itself; this, what only the zygote
// can do. An empty string, or what was wrong.
std::string acceptRequest(std::string_view bytes, const std::vector<int>& received, Plan& plan) {
  std::string error;
  if (!surge::engine::decode(bytes, plan.layout, error)) return error;
  const std::vector<int>& targets = plan.layout.fds;
  if (targets.size() != received.size())
    return "the sandbox names " + std::to_string(targets.size()) + " descriptors, but " +
           std::to_string(received.size()) + " were sent";
  plan.fds.fill(-1);
  for (size_t i = 0; i < targets.size(); ++i) {
    if (targets[i] >= kMaxFds)
      return "descriptor " + std::to_string(targets[i]) + " is beyond the zygote's 0-" + std::to_string(kMaxFds - 1);
    plan.fds[targets[i]] = received[i];
  }
  if (!plan.layout.ownNetwork) return "a sandbox that joins a prepared network namespace starts by bubblewrap";
  return "";
}

// ---- the children (C code only until the sandbox is complete) ----

// Reports on the sandbox's stderr, as bubblewrap does ("bwrap: ..."), and exits 1.
[[noreturn]] void fail(int errFd, const char* step, const std::string& detail = "") {
  const int error = errno;
  std::string line = std::string("surge-zygote: ") + step;
  if (!detail.empty()) line += " " + detail;
  line += std::string(": ") + std::strerror(error) + "\n";
  [[maybe_unused]] ssize_t n = ::write(errFd, line.data(), line.size());
  ::_exit(1);
}

bool writeFile(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

// mkdir -p, 0755.
bool makeDirs(const std::string& path) {
  for (size_t slash = 1; slash != std::string::npos;) {
    slash = path.find('/', slash + 1);
    const std::string prefix = path.substr(0, slash);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) return false;
  }
  return true;
}

std::string parentOf(const std::string& path) { return path.substr(0, path.rfind('/')); }

// Remounts the bind mount at `path` with `flags` added, keeping the flags a user namespace may
// not clear (those of a mount made outside it are locked).
bool remount(const std::string& path, unsigned long flags) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) return false;
  flags |= MS_REMOUNT | MS_BIND;
  if (st.f_flag & ST_RDONLY) flags |= MS_RDONLY;
  if (st.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (st.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (st.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (st.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (st.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return ::mount(nullptr, path.c_str(), nullptr, flags, nullptr) == 0;
}

// Read-only, nosuid and nodev.
bool remountReadOnly(const std::string& path) { return remount(path, MS_RDONLY | MS_NOSUID | MS_NODEV); }

bool bindReadOnly(const std::string& source, const std::string& target) {
  struct stat st {};
  if (::stat(source.c_str(), &st) != 0) return false;
  if (!makeDirs(S_ISDIR(st.st_mode) ? target : parentOf(target))) return false;
  if (!S_ISDIR(st.st_mode)) {
    const int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
    if (fd < 0) return false;
    ::close(fd);
  }
  // Not recursive: nothing mounted below the source is exposed (the kernel refuses the bind if
  // it would reveal what a locked mount hides).
  if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) return false;
  return remountReadOnly(target);
}

// bubblewrap's --dev: a tmpfs with the harmless devices bound from the host, a private devpts.
void makeDev(int errFd, const std::string& dev) {
  if (!makeDirs(dev) || ::mount("tmpfs", dev.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0)
    fail(errFd, "mounting", dev);
  // Binds of the host's nodes, remounted nosuid but not nodev, as bubblewrap's.
  for (const char* node : {"null", "zero", "full", "random", "urandom", "tty"}) {
    const std::string path = dev + "/" + node;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
    if (fd < 0) fail(errFd, "creating", path);
    ::close(fd);
    if (::mount((std::string("/oldroot/dev/") + node).c_str(), path.c_str(), nullptr, MS_BIND, nullptr) != 0 ||
        !remount(path, MS_NOSUID))
      fail(errFd, "binding device", node);
  }
  const std::pair<const char*, const char*> links[] = {{"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
                                                       {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
                                                       {"/proc/kcore", "core"},       {"pts/ptmx", "ptmx"}};
  for (const auto& [text, name] : links) {
    if (::symlink(text, (dev + "/" + name).c_str()) != 0) fail(errFd, "linking", dev + "/" + name);
  }
  if (::mkdir((dev + "/shm").c_str(), 0755) != 0 || ::mkdir((dev + "/pts").c_str(), 0755) != 0)
    fail(errFd, "creating", dev + "/shm and /pts");
  if (::mount("devpts", (dev + "/pts").c_str(), "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=620") != 0)
    fail(errFd, "mounting", dev + "/pts");
}

void mapSelf(int errFd, uid_t uid, gid_t gid) {
  if (!writeFile("/proc/self/setgroups", "deny") ||
      !writeFile("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1\n") ||
      !writeFile("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1\n"))
    fail(errFd, "writing the user namespace's uid and gid maps");
}

void loopbackUp(int errFd) {
  const int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  if (sock < 0 || ::ioctl(sock, SIOCGIFFLAGS, &request) != 0) fail(errFd, "reading the loopback's flags");
  request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP | IFF_RUNNING);
  if (::ioctl(sock, SIOCSIFFLAGS, &request) != 0) fail(errFd, "bringing up the loopback");
  ::close(sock);
}

void dropCapabilities(int errFd) {
  for (int cap = 0; cap <= 63; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) fail(errFd, "dropping the bounding set");
  }
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) fail(errFd, "clearing ambient capabilities");
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capset, &header, data) != 0) fail(errFd, "dropping capabilities");
}

std::vector<char> readAll(int fd) {
  std::vector<char> bytes;
  char buffer[4096];
  ::lseek(fd, 0, SEEK_SET);
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n <= 0) break;
    bytes.insert(bytes.end(), buffer, buffer + n);
  }
  return bytes;
}

// C: the program, in its finished sandbox.
[[noreturn]] void runProgram(const Plan& plan) {
  const auto& argv = plan.layout.argv;
  std::vector<std::string> env;
  // As bubblewrap, which sets PWD after its chdir, over any PWD of the spec's.
  for (const auto& [key, value] : plan.layout.env) {
    if (key != "PWD") env.push_back(key + "=" + value);
  }
  env.push_back("PWD=" + plan.layout.chdir);
  const bool python =
      argv[0] == sandbox::kPython && argv.size() >= 3 && argv[1] == "-S" &&
      ((argv[2] == "-c" && argv.size() >= 4) || argv[2] == gShimInside || argv[2] == sandbox::kCompiledPythonShim);
  if (!python) {
    std::vector<char*> args, envp;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    for (const auto& entry : env) envp.push_back(const_cast<char*>(entry.c_str()));
    args.push_back(nullptr);
    envp.push_back(nullptr);
    ::execve(args[0], args.data(), envp.data());
    fail(2, "execve", argv[0]);
  }
  // As a direct start's interpreter is called (A and B keep "surge-zygote").
  ::prctl(PR_SET_NAME, "python3", 0, 0, 0);

  PyOS_AfterFork_Child();
  PyObject* pyArgv = PyList_New(0);
  for (size_t i = 1; i < argv.size(); ++i) {
    PyObject* item = PyUnicode_DecodeFSDefault(argv[i].c_str());
    PyList_Append(pyArgv, item);
    Py_DECREF(item);
  }
  PyObject* pyEnv = PyDict_New();
  for (const auto& entry : env) {
    const size_t eq = entry.find('=');
    PyObject* key = PyUnicode_DecodeFSDefaultAndSize(entry.data(), static_cast<Py_ssize_t>(eq));
    PyObject* value = PyUnicode_DecodeFSDefault(entry.c_str() + eq + 1);
    PyDict_SetItem(pyEnv, key, value);
    Py_DECREF(key);
    Py_DECREF(value);
  }
  PyObject* result = PyObject_CallFunctionObjArgs(gRun, pyArgv, pyEnv, nullptr);
  int code = 0;
  if (result == nullptr) {
    PyErr_Print(); // SystemExit exits from here with its code, as python3 does
    code = 1;
  }
  Py_XDECREF(result);
  if (Py_FinalizeEx() < 0) code = 120;
  ::_exit(code);
}

// B: pid 1 of the new namespaces. Builds the sandbox, starts C, and reaps until C exits.
[[noreturn]] void runInit(const Plan& plan) {
  const int err = 2;
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) fail(err, "setting the parent-death signal");
  const SandboxLayout& layout = plan.layout;
  mapSelf(err, layout.uid, layout.gid);
  if (!layout.hostname.empty() && ::sethostname(layout.hostname.data(), layout.hostname.size()) != 0)
    fail(err, "setting the hostname");
  loopbackUp(err);

  // A tmpfs base with the new root and the host's old one side by side, as bubblewrap does.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail(err, "making mounts private");
  if (::mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=65536") != 0 ||
      ::mkdir("/tmp/newroot", 0755) != 0 || ::mkdir("/tmp/oldroot", 0755) != 0 || ::chdir("/tmp") != 0 ||
      ::syscall(SYS_pivot_root, ".", "oldroot") != 0 || ::chdir("/") != 0)
    fail(err, "preparing the new root");
  if (::mount("tmpfs", "/newroot", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0)
    fail(err, "mounting the root tmpfs");

  for (const MountOp& op : layout.mounts) {
    const std::string target = "/newroot" + op.target;
    switch (op.kind) {
    case MountOp::Kind::kRoBind:
      if (!bindReadOnly("/oldroot" + op.source, target)) fail(err, "binding", op.source);
      break;
    case MountOp::Kind::kSymlink:
      if (!makeDirs(parentOf(target)) || ::symlink(op.source.c_str(), target.c_str()) != 0)
        fail(err, "linking", op.target);
      break;
    case MountOp::Kind::kData: {
      const std::vector<char> bytes = readAll(plan.fds[op.fd]);
      const int fd =
          makeDirs(parentOf(target)) ? ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
      if (fd < 0 || ::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()) ||
          ::fchmod(fd, op.perms) != 0)
        fail(err, "writing", op.target);
      ::close(fd);
      break;
    }
    case MountOp::Kind::kProc:
      if (!makeDirs(target) || ::mount("proc", target.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
        fail(err, "mounting", op.target);
      break;
    case MountOp::Kind::kDev: makeDev(err, target); break;
    case MountOp::Kind::kTmpfs: {
      const std::string options = "mode=0755" + (op.size ? ",size=" + std::to_string(op.size) : std::string());
      if (!makeDirs(target) || ::mount("tmpfs", target.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0)
        fail(err, "mounting", op.target);
      break;
    }
    case MountOp::Kind::kRemountRo:
      if (op.target == "/") break; // after the /proc covers below
      if (!remountReadOnly(target)) fail(err, "remounting read-only", op.target);
      break;
    }
  }
  // No further user namespaces: at most one below this one, which we enter ourselves below
  // (as bubblewrap's --disable-userns). The seccomp filter refuses them as well.
  if (!writeFile("/newroot/proc/sys/user/max_user_namespaces", "1")) fail(err, "limiting user namespaces");
  // As bubblewrap: what in /proc could change the host stays read-only.
  for (const char* dir : {"sys", "sysrq-trigger", "irq", "bus"}) {
    const std::string path = std::string("/newroot/proc/") + dir;
    if (::access(path.c_str(), F_OK) != 0) continue;
    if (::mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0 || !remountReadOnly(path))
      fail(err, "covering", path);
  }
  if (!remountReadOnly("/newroot")) fail(err, "remounting the root read-only");
  if (::chdir("/newroot") != 0 || ::syscall(SYS_pivot_root, ".", ".") != 0 || ::umount2(".", MNT_DETACH) != 0 ||
      ::chdir("/") != 0)
    fail(err, "entering the new root");
  if (::unshare(CLONE_NEWUSER) != 0) fail(err, "entering the nested user namespace");
  mapSelf(err, layout.uid, layout.gid);
  if (::chdir(layout.chdir.c_str()) != 0) fail(err, "changing directory to", layout.chdir);

  dropCapabilities(err);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(err, "setting no_new_privs");
  const std::vector<char> program = readAll(plan.fds[layout.seccompFd]);
  if (program.empty() || program.size() % sizeof(sock_filter) != 0) {
    errno = EINVAL;
    fail(err, "reading the seccomp program");
  }
  // Only stdio and the protocol pass into the sandbox; the data descriptors are consumed.
  if (::syscall(SYS_close_range, sandbox::kProtocolFd + 1, ~0U, 0) != 0) fail(err, "closing descriptors");
  // Last: the filter refuses mount, unshare and the rest of what the set-up needed.
  sock_fprog filter{static_cast<unsigned short>(program.size() / sizeof(sock_filter)),
                    reinterpret_cast<sock_filter*>(const_cast<char*>(program.data()))};
  if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &filter, 0, 0) != 0) fail(err, "applying the seccomp filter");

  const pid_t child = ::fork();
  if (child < 0) fail(err, "forking the program");
  if (child == 0) runProgram(plan);
  for (int fd = 0; fd <= sandbox::kProtocolFd; ++fd) ::close(fd);
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) ::_exit(1);
    if (pid == child) ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  }
}

// A: the engine's child. Into the cgroup as root, then the function's uid, then B.
[[noreturn]] void runOuter(const Plan& plan, pid_t engine) {
  const int err = plan.fds[2];
  // The zygote's interpreter set dispositions (SIGPIPE and SIGXFSZ ignored, SIGINT caught) that
  // bubblewrap's sandboxes do not have: back to the defaults, nothing blocked. The forked
  // runtime sets Python's own again (run() in kBootstrap).
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  const SandboxLayout& layout = plan.layout;
  for (const auto& file : layout.cgroupFiles) {
    if (!writeFile(file, "0")) fail(err, "joining the cgroup", file);
  }
  // Descriptors: everything above the targets first, then in place; the rest closed.
  constexpr int kFree = 16;
  std::array<int, kMaxFds> moved{};
  for (int target = 0; target < kMaxFds; ++target) {
    moved[target] = plan.fds[target] < 0 ? -1 : ::fcntl(plan.fds[target], F_DUPFD, kFree + target);
    if (plan.fds[target] >= 0 && moved[target] < 0) fail(err, "arranging descriptors");
  }
  for (int target = 0; target < kMaxFds; ++target) {
    if (moved[target] < 0) {
      ::close(target);
    } else if (::dup2(moved[target], target) != target) {
      fail(err, "arranging descriptors");
    }
  }
  if (::syscall(SYS_close_range, kMaxFds, ~0U, 0) != 0) fail(2, "closing descriptors");
  Plan placed = plan;
  for (int target = 0; target < kMaxFds; ++target) placed.fds[target] = moved[target] < 0 ? -1 : target;

  if (::setsid() < 0) fail(2, "starting a new session");
  const rlimit noCore{0, 0};
  ::setrlimit(RLIMIT_CORE, &noCore);
  ::umask(022);
  if (::setgroups(0, nullptr) != 0 || ::setresgid(layout.gid, layout.gid, layout.gid) != 0 ||
      ::setresuid(layout.uid, layout.uid, layout.uid) != 0 || ::getuid() != layout.uid || ::geteuid() != layout.uid)
    fail(2, "switching to the sandbox uid");
  // The uid change made this process undumpable, and so its /proc files root's, which the user
  // namespace below could then not write its own maps to. bubblewrap, exec'd as this uid, is
  // dumpable too. The parent-death signal is set after the change, which clears it.
  if (::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0 || ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
    fail(2, "setting dumpable, no_new_privs and the parent-death signal");
  if (::getppid() != engine) ::_exit(1); // the engine is gone already
  // Bind sources as the host sees them, as this uid, as bubblewrap resolves them: after the
  // first pivot an absolute symlink on the way would resolve against the temporary root.
  for (MountOp& op : placed.layout.mounts) {
    if (op.kind != MountOp::Kind::kRoBind) continue;
    char resolved[PATH_MAX];
    if (::realpath(op.source.c_str(), resolved) == nullptr) fail(2, "resolving", op.source);
    op.source = resolved;
  }

  const long child = ::syscall(SYS_clone,
                               CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS |
                                   CLONE_NEWCGROUP | SIGCHLD,
                               nullptr, nullptr, nullptr, nullptr);
  if (child < 0) fail(2, "creating the namespaces");
  if (child == 0) runInit(placed);
  for (int fd = 0; fd < kMaxFds; ++fd) ::close(fd);
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(static_cast<pid_t>(child), &status, 0);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) ::_exit(1);
    ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  }
}

// ---- the zygote's loop ----

void reply(int control, const std::string& text) {
  [[maybe_unused]] ssize_t n = ::send(control, text.data(), text.size(), MSG_NOSIGNAL);
}

// A's first step: reads its own copy of the request. A refusal is A's to send, with its pid so
// that the engine reaps it; it then exits. Either way it tells the zygote over `status`: 'K'
// for a request it serves, 'R' for one it refused and answered.
Plan readRequest(const char* bytes, size_t size, const std::vector<int>& received, int control, int status) {
  Plan plan;
  const std::string error = acceptRequest(std::string_view(bytes, size), received, plan);
  const char outcome = error.empty() ? 'K' : 'R';
  if (!error.empty()) reply(control, "REFUSED " + std::to_string(::getpid()) + " " + error);
  if (::write(status, &outcome, 1) != 1 || !error.empty()) ::_exit(1);
  ::close(status);
  return plan;
}

// Serves requests until the engine closes the control socket.
//
// Every child is a copy of this process, and the next request may be another function's, so
// nothing of a request may ever be in this process's memory or registers outside `buffer`,
// which is wiped after each request: the bytes arrive there from the kernel, and only A, the
// request's own child, reads and parses them (a review found request strings that the zygote
// had parsed itself left in glibc's cache of freed blocks, and in vector registers that the
// next children spilled to their stacks).
int serve(int control, pid_t engine) {
  std::vector<char> buffer(kMaxRequest);
  for (;;) {
    iovec iov{buffer.data(), buffer.size()};
    alignas(cmsghdr) char control_buffer[CMSG_SPACE(sizeof(int) * kMaxFds)];
    msghdr message{};
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control_buffer;
    message.msg_controllen = sizeof(control_buffer);
    const ssize_t got = ::recvmsg(control, &message, MSG_CMSG_CLOEXEC);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return 0;
    std::vector<int> received;
    for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      const int* fds = reinterpret_cast<const int*>(CMSG_DATA(c));
      received.insert(received.end(), fds, fds + count);
    }
    int status[2] = {-1, -1};
    if (message.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
      reply(control, "ERR the request is larger than " + std::to_string(kMaxRequest) + " bytes or carries more than " +
                         std::to_string(kMaxFds) + " descriptors");
    } else if (::pipe2(status, O_CLOEXEC) != 0) {
      reply(control, std::string("ERR pipe: ") + std::strerror(errno));
    } else {
      PyOS_BeforeFork();
      // CLONE_PARENT: the engine is A's parent, waits for it and gets its exit status, exactly
      // as with bubblewrap's outer process.
      const long pid = ::syscall(SYS_clone, CLONE_PARENT, nullptr, nullptr, nullptr, nullptr);
      if (pid == 0) {
        ::close(status[0]);
        runOuter(readRequest(buffer.data(), static_cast<size_t>(got), received, control, status[1]), engine);
      }
      const int forkError = errno;
      PyOS_AfterFork_Parent();
      ::close(status[1]);
      if (pid < 0) {
        reply(control, std::string("ERR clone: ") + std::strerror(forkError));
      } else {
        char outcome = 0;
        ssize_t n;
        do {
          n = ::read(status[0], &outcome, 1);
        } while (n < 0 && errno == EINTR);
        if (n == 1 && outcome == 'K') {
          reply(control, "OK " + std::to_string(pid));
        } else if (n != 1 || outcome != 'R') {
          reply(control,
                "REFUSED " + std::to_string(pid) + " the sandbox's first process died before it read the request");
        } // 'R': A has answered
      }
      ::close(status[0]);
    }
    for (int fd : received) ::close(fd);
    ::explicit_bzero(buffer.data(), static_cast<size_t>(got));
  }
}

// Defines run(argv, env) for the children and loads the shim, as `python3 -S shim` would.
const char kBootstrap[] = R"PY(
import _signal, os, sys

def preload(source_fd, inside):
    sys.path.insert(0, os.path.dirname(inside))
    with open(source_fd, 'rb') as f:
        code = compile(f.read(), inside, 'exec', dont_inherit=True)
    module = type(sys)('__main__')
    module.__file__ = inside
    module.__name__ = '__surge_preload__'  # not '__main__': the shim must not start here
    exec(code, module.__dict__)
    module.__name__ = '__main__'
    # What is loaded now stays out of the children's garbage collections: a collection writes to
    # every object it visits, which would copy the zygote's pages into each child.
    import gc
    gc.freeze()
    return module

def run(argv, env):
    """In a forked child: argv as python3 got it after its own name (['-S', ...])."""
    # As python3 starts: the sandbox's first process reset every disposition to the default.
    _signal.signal(_signal.SIGPIPE, _signal.SIG_IGN)
    _signal.signal(_signal.SIGXFSZ, _signal.SIG_IGN)
    _signal.signal(_signal.SIGINT, _signal.default_int_handler)
    os.environ.clear()
    os.environ.update(env)
    sys.orig_argv = ['/usr/bin/python3'] + argv
    if argv[1] == '-c':
        sys.argv = ['-c'] + argv[3:]
        sys.path[0] = ''
        main = type(sys)('__main__')
        sys.modules['__main__'] = main
        exec(compile(argv[2], '<string>', 'exec'), main.__dict__)
        return
    shim.__file__ = argv[1]
    sys.argv = argv[1:]
    sys.path[0] = os.path.dirname(argv[1])
    sys.modules['__main__'] = shim
    shim.main()
)PY";

} // namespace

int main(int argc, char** argv) {
  if (argc != 3 || std::strcmp(argv[1], "-S") != 0) {
    std::fprintf(stderr, "usage: surge-zygote -S <shim path inside>, control socket at fd 3, shim source at fd 4\n");
    return 2;
  }
  const int control = sandbox::kZygoteControlFd;
  gShimInside = argv[2];
  const pid_t engine = ::getppid();

  PyConfig config;
  PyConfig_InitIsolatedConfig(&config);
  config.site_import = 0;             // -S
  config.write_bytecode = 0;          // as PYTHONDONTWRITEBYTECODE=1
  config.install_signal_handlers = 1; // as python3: SIGPIPE ignored, SIGINT a KeyboardInterrupt
  PyConfig_SetString(&config, &config.program_name, L"/usr/bin/python3");
  PyConfig_SetString(&config, &config.executable, L"/usr/bin/python3");
  const PyStatus status = Py_InitializeFromConfig(&config);
  PyConfig_Clear(&config);
  if (PyStatus_Exception(status)) Py_ExitStatusException(status);

  PyObject* globals = PyDict_New();
  PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins());
  PyObject* done = PyRun_String(kBootstrap, Py_file_input, globals, globals);
  PyObject* preload = PyDict_GetItemString(globals, "preload");
  PyObject* module = done && preload ? PyObject_CallFunction(preload, "is", sandbox::kZygoteShimFd, argv[2]) : nullptr;
  if (module == nullptr) {
    PyErr_Print();
    return 1;
  }
  PyDict_SetItemString(globals, "shim", module);
  gRun = PyDict_GetItemString(globals, "run");
  reply(control, "READY");
  return serve(control, engine);
}
