// Hostile programs against the bubblewrap sandbox launcher: each isolation property of
// docs/sandbox.md is attacked from inside a real sandbox and the exact outcome is checked. Runs as
// root (as on CI), under a cgroup parent of its own so that it never meets a running surged.
#include "engine/sandbox_launcher.h"

#include "support/process.h"
#include "support/temp_dir.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace surge::engine {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr uid_t kUid = 100001;
constexpr uid_t kOtherUid = 100002;
constexpr char kPython[] = "/usr/bin/python3";
constexpr char kCgroupRoot[] = "/sys/fs/cgroup";
// Time allowed for anything to happen; generous because these machines are noisy, and only
// spent in full when a test is about to fail anyway.
constexpr milliseconds kDeadline = seconds(60);

std::string testParent() { return "surge-test-" + std::to_string(::getpid()); }

std::string readText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void writeText(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

int pidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// Whether the process behind `pidfd` ends within `timeout` (readable pidfd = exited).
bool exitsWithin(int pidfd, milliseconds timeout) {
  pollfd fd{pidfd, POLLIN, 0};
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    const int rc = ::poll(&fd, 1, static_cast<int>(std::max<int64_t>(left, 0)));
    if (rc > 0) return true;
    if (rc == 0 || errno != EINTR) return false;
  }
}

// Reaps our child `pid` within `timeout`; the wait status, or nullopt (then it is killed).
std::optional<int> reap(pid_t pid, milliseconds timeout = kDeadline) {
  const int pidfd = pidfdOpen(pid);
  const bool exited = pidfd >= 0 && exitsWithin(pidfd, timeout);
  if (pidfd >= 0) ::close(pidfd);
  if (!exited) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!exited) return std::nullopt;
  return status;
}

// What a sandboxed program did: its wait status and its whole output.
struct Outcome {
  int status = -1; // raw wait status of bwrap; -1 when it ran past the deadline
  std::string out;
  std::string err;
  int exitCode() const { return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
};

// Drains stdout and stderr until both close and bwrap has exited, then reaps it.
Outcome collect(const SandboxProcess& process, milliseconds timeout = kDeadline) {
  Outcome outcome;
  const int pidfd = pidfdOpen(process.pid);
  pollfd fds[3] = {{process.stdoutFd, POLLIN, 0}, {process.stderrFd, POLLIN, 0}, {pidfd, POLLIN, 0}};
  std::string* sinks[2] = {&outcome.out, &outcome.err};
  const auto deadline = Clock::now() + timeout;
  bool exited = false;
  while (fds[0].fd >= 0 || fds[1].fd >= 0 || !exited) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    if (::poll(fds, 3, static_cast<int>(left)) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buffer[65536];
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof(buffer));
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EAGAIN) {
        fds[i].fd = -1; // the caller still owns and closes the descriptor
      }
    }
    if (fds[2].revents & POLLIN) {
      exited = true;
      fds[2].fd = -1;
    }
  }
  ::close(pidfd);
  if (!exited) {
    ADD_FAILURE() << "sandbox did not finish in time; stdout so far: " << outcome.out << "\nstderr: " << outcome.err;
    ::kill(process.pid, SIGKILL);
  }
  int status = 0;
  while (::waitpid(process.pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (exited) outcome.status = status;
  return outcome;
}

// Reads from a non-blocking descriptor until `text` has arrived (or the deadline passed).
std::string readUntil(int fd, const std::string& text, milliseconds timeout = kDeadline) {
  std::string got;
  const auto deadline = Clock::now() + timeout;
  pollfd pfd{fd, POLLIN, 0};
  while (got.find(text) == std::string::npos) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0 || ::poll(&pfd, 1, static_cast<int>(left)) <= 0) break;
    char buffer[4096];
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n == 0) break;
    if (n > 0) got.append(buffer, static_cast<size_t>(n));
  }
  return got;
}

// Whether every writer of the (non-blocking) pipe `fd` is gone within `timeout`: drains it
// until end of file.
bool reachesEof(int fd, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  pollfd pfd{fd, POLLIN, 0};
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0 || ::poll(&pfd, 1, static_cast<int>(left)) <= 0) return false;
    char buffer[4096];
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n == 0) return true;
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
  }
}

// A host process tree standing for "something else on the machine": sh (our child) waiting for
// a background `sleep 1000`, the process tests act on. sh reaps the sleep, so that a cgroup
// holding it can be removed without this test reaping anything.
struct HostSleeper {
  pid_t shell = -1;
  pid_t sleep = -1;
  int sleepPidfd = -1;
};

HostSleeper startHostSleeper(uid_t uid) {
  HostSleeper sleeper;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return sleeper;
  sleeper.shell = ::fork();
  if (sleeper.shell == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    const int devNull = ::open("/dev/null", O_WRONLY);
    ::dup2(devNull, STDERR_FILENO); // sh reports its killed job ("Killed"): noise here
    if (uid != 0 &&
        (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0)) {
      ::_exit(126);
    }
    ::execl("/bin/sh", "sh", "-c", "sleep 1000 & echo $!; wait $!", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
  const std::string line = readUntil(fds[0], "\n");
  ::close(fds[0]);
  sleeper.sleep = std::atoi(line.c_str());
  sleeper.sleepPidfd = sleeper.sleep > 0 ? pidfdOpen(sleeper.sleep) : -1;
  return sleeper;
}

// Kills what is left of the sleeper and reaps the shell; the shell's wait status.
std::optional<int> stopHostSleeper(HostSleeper& sleeper) {
  if (sleeper.sleepPidfd >= 0) {
    ::syscall(SYS_pidfd_send_signal, sleeper.sleepPidfd, SIGKILL, nullptr, 0);
    ::close(sleeper.sleepPidfd);
    sleeper.sleepPidfd = -1;
  }
  std::optional<int> status;
  if (sleeper.shell > 0) status = reap(sleeper.shell);
  sleeper.shell = -1;
  return status;
}

// The cgroup v1 controllers the launcher uses, or the v2 root.
std::vector<fs::path> hierarchyRoots(const std::string& version) {
  if (version == "v2") return {kCgroupRoot};
  std::vector<fs::path> roots;
  for (const char* controller : {"memory", "pids", "cpu", "cpuacct"}) {
    if (fs::exists(fs::path(kCgroupRoot) / controller / "cgroup.procs"))
      roots.push_back(fs::path(kCgroupRoot) / controller);
  }
  return roots;
}

void removeParent(const std::string& version, const std::string& parent) {
  for (const auto& root : hierarchyRoots(version)) ::rmdir((root / parent).c_str());
}

std::vector<pid_t> cgroupMembers(const fs::path& dir) {
  std::vector<pid_t> pids;
  std::ifstream in(dir / "cgroup.procs");
  pid_t pid = 0;
  while (in >> pid) pids.push_back(pid);
  return pids;
}

// A python3 program: `-S` skips site-packages, as the runtimes do (8 ms instead of 16).
std::vector<std::string> python(const std::string& code) { return {kPython, "-S", "-c", code}; }

// Every test runs twice: sandboxes started by bubblewrap, and forked from the Python zygote.
class SandboxLauncherTest : public ::testing::TestWithParam<bool> {
protected:
  void SetUp() override {
    auto launcher = SandboxLauncher::create({.cgroupParent = parent_, .zygote = {}, .network = {}});
    ASSERT_TRUE(launcher.ok()) << launcher.status();
    launcher_ = std::move(*launcher);
    // The zygote's children are tied to the thread that started it (their parent-death signal),
    // as bubblewrap's are to the thread that launched them: start it on this long-lived one.
    if (viaZygote()) launcher_->warmUp();
    // mkdtemp makes 0700; bubblewrap resolves the code directory as the sandbox user.
    fs::permissions(dir_.path(), fs::perms(0755));
    codeDir_ = dir_.path() / "code";
    fs::create_directories(codeDir_);
    writeText(codeDir_ / "handler.py", "def handle(event): return event\n");
    // Owned by the sandbox user, so that only the read-only mount can refuse writes.
    ASSERT_EQ(::chown(codeDir_.c_str(), kUid, kUid), 0);
  }

  void TearDown() override {
    for (auto& process : live_) {
      if (process.pid > 0) {
        ::kill(process.pid, SIGKILL);
        reap(process.pid);
      }
      closeOutputs(process);
      if (launcher_) launcher_->destroy(process);
    }
    const std::string version = launcher_ ? launcher_->cgroupVersion() : "v1";
    launcher_.reset();
    removeParent(version, parent_);
  }

  SandboxSpec spec(const std::string& name, std::vector<std::string> argv) const {
    SandboxSpec spec;
    spec.name = name;
    spec.uid = kUid;
    spec.gid = kUid;
    spec.codeDir = codeDir_;
    spec.memoryMb = 128;
    spec.argv = std::move(argv);
    spec.env = {{"PATH", "/usr/bin:/bin"}};
    spec.viaZygote = viaZygote();
    return spec;
  }

  // Starts a sandbox the fixture cleans up if the test does not.
  SandboxProcess& launch(const SandboxSpec& spec) {
    auto process = launcher_->launch(spec);
    EXPECT_TRUE(process.ok()) << process.status();
    // No silent fallback: the zygote's runs must have been forked by the zygote.
    if (process.ok()) {
      EXPECT_EQ(process->zygote, spec.viaZygote);
    }
    live_.push_back(process.ok() ? *process : SandboxProcess{});
    return live_.back();
  }

  static void closeOutputs(SandboxProcess& process) {
    for (int* fd : {&process.stdoutFd, &process.stderrFd}) {
      if (*fd >= 0) ::close(*fd);
      *fd = -1;
    }
  }

  // Waits for the program, then removes the sandbox and checks that nothing of it remains.
  Outcome finish(SandboxProcess& process) {
    Outcome outcome = collect(process);
    process.pid = -1;
    closeOutputs(process);
    const auto dirs = process.cgroupDirs;
    launcher_->destroy(process);
    for (const auto& dir : dirs) EXPECT_FALSE(fs::exists(dir)) << dir;
    return outcome;
  }

  Outcome run(const SandboxSpec& spec) {
    SandboxProcess& process = launch(spec);
    if (process.pid < 0) return {};
    return finish(process);
  }

  // Kills bwrap as the engine does when it stops an instance, then cleans up.
  void killAndDestroy(SandboxProcess& process) {
    ::kill(process.pid, SIGKILL);
    EXPECT_TRUE(reap(process.pid).has_value());
    process.pid = -1;
    closeOutputs(process);
    launcher_->destroy(process);
  }

  bool viaZygote() const { return GetParam(); }

  const std::string parent_ = testParent();
  testing::TempDir dir_;
  fs::path codeDir_;
  std::unique_ptr<SandboxLauncher> launcher_;
  std::deque<SandboxProcess> live_; // a deque: launch() hands out references
};

TEST_P(SandboxLauncherTest, RunsAsTheSpecUidWithoutCapabilitiesWithNoNewPrivsAndSeccomp) {
  const Outcome outcome = run(spec("i-ids", {"/bin/sh", "-c",
                                             "id -u; id -g; id -G; grep -E "
                                             "'^(Uid|Gid|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' "
                                             "/proc/self/status"}));
  EXPECT_EQ(outcome.exitCode(), 0) << outcome.err;
  EXPECT_EQ(outcome.out, "100001\n100001\n100001\n"
                         "Uid:\t100001\t100001\t100001\t100001\n"
                         "Gid:\t100001\t100001\t100001\t100001\n"
                         "CapInh:\t0000000000000000\n"
                         "CapPrm:\t0000000000000000\n"
                         "CapEff:\t0000000000000000\n"
                         "CapBnd:\t0000000000000000\n"
                         "CapAmb:\t0000000000000000\n"
                         "NoNewPrivs:\t1\n"
                         "Seccomp:\t2\n");
  EXPECT_EQ(outcome.err, "");
}

// What bubblewrap gives every sandbox beyond the isolation table, on both paths: device nodes
// mounted nosuid, and a program that starts with no signal ignored or blocked.
TEST_P(SandboxLauncherTest, DevicesAreNosuidAndTheProgramStartsWithDefaultSignals) {
  const Outcome outcome = run(spec("i-defaults", {"/bin/sh", "-c",
                                                  "grep -E '^(SigBlk|SigIgn):' /proc/self/status; "
                                                  "for d in null zero full random urandom tty; do "
                                                  "grep \" /dev/$d \" /proc/self/mountinfo | grep -c nosuid; done"}));
  EXPECT_EQ(outcome.exitCode(), 0) << outcome.err;
  EXPECT_EQ(outcome.out, "SigBlk:\t0000000000000000\n"
                         "SigIgn:\t0000000000000000\n"
                         "1\n1\n1\n1\n1\n1\n");
}

// ... while Python itself, forked or started, has python3's own: SIGPIPE and SIGXFSZ ignored,
// SIGINT a KeyboardInterrupt.
TEST_P(SandboxLauncherTest, PythonStartsWithPythonsOwnSignalHandlers) {
  // The kernel's view, which is what counts (the signal module only remembers what it set).
  const Outcome outcome = run(spec("i-py-signals", python("for line in open('/proc/self/status'):\n"
                                                          "    if line.startswith(('SigIgn', 'SigCgt')):\n"
                                                          "        print(line, end='')\n")));
  EXPECT_EQ(outcome.exitCode(), 0) << outcome.err;
  EXPECT_EQ(outcome.out, "SigIgn:\t0000000001001000\n"
                         "SigCgt:\t0000000000000002\n");
}

TEST_P(SandboxLauncherTest, EveryProcessOfTheSandboxIsTheSpecUidOnTheHost) {
  int sockets[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets), 0);
  SandboxSpec s = spec("i-host-uid", python("import os\nprint('ready', flush=True)\nos.read(3, 1)\n"));
  s.protocolFd = sockets[1];
  SandboxProcess& process = launch(s);
  ::close(sockets[1]);
  ASSERT_EQ(readUntil(process.stdoutFd, "\n"), "ready\n");

  // bwrap, its init in the pid namespace, and python: none of them root, seen from the host.
  const std::vector<pid_t> members = cgroupMembers(process.cgroupDirs.front());
  ASSERT_EQ(members.size(), 3u);
  for (const pid_t pid : members) {
    std::string uidLine;
    std::istringstream status(readText(fs::path("/proc") / std::to_string(pid) / "status"));
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("Uid:", 0) == 0) uidLine = line;
    }
    EXPECT_EQ(uidLine, "Uid:\t100001\t100001\t100001\t100001") << "pid " << pid;
  }
  ::close(sockets[0]); // EOF on fd 3: the program exits
  const Outcome outcome = finish(process);
  EXPECT_EQ(outcome.exitCode(), 0) << outcome.err;
}

// A code folder reached through an absolute symlink is bound as the host resolves it.
TEST_P(SandboxLauncherTest, ABindThroughAnAbsoluteSymlinkShowsItsTarget) {
  writeText(codeDir_ / "index.py", "print('through the link')\n");
  const fs::path link = dir_.path() / "code-link";
  fs::create_directory_symlink(fs::absolute(codeDir_), link);
  SandboxSpec s = spec("i-link", python("exec(open('/code/index.py').read())"));
  s.codeDir = link;
  const Outcome outcome = run(s);
  EXPECT_EQ(outcome.exitCode(), 0) << outcome.err;
  EXPECT_EQ(outcome.out, "through the link\n");
}

TEST_P(SandboxLauncherTest, SeesOnlyTheRuntimeItsCodeAndItsBinds) {
  // Things a hostile function would look for: a fake data dir with a secret, another
  // function's code, and the host's private directories.
  const fs::path dataDir = dir_.path() / "data";
  fs::create_directories(dataDir);
  writeText(dataDir / "surge.db", "secret\n");
  fs::permissions(dataDir / "surge.db", fs::perms(0644));
  const fs::path otherCode = dir_.path() / "other-function";
  fs::create_directories(otherCode);
  writeText(otherCode / "handler.py", "SECRET = 1\n");
  const fs::path runtimeDir = dir_.path() / "runtime";
  fs::create_directories(runtimeDir);
  writeText(runtimeDir / "shim.py", "shim\n");

  const std::string script = R"(import os, sys, errno
def probe(path):
    try:
        with open(path, 'rb') as f:
            f.read(1)
        return 'readable'
    except OSError as e:
        return errno.errorcode[e.errno]
for path in sys.argv[1:]:
    print(path, probe(path))
print('/', sorted(os.listdir('/')))
print('/etc', sorted(os.listdir('/etc')))
print('/dev', sorted(os.listdir('/dev')))
print('passwd', open('/etc/passwd').read().splitlines()[0])
)";
  SandboxSpec s = spec("i-fs", python(script));
  for (const fs::path& path :
       {fs::path("/etc/shadow"), dataDir / "surge.db", otherCode / "handler.py", fs::path("/root"), fs::path("/home"),
        fs::path("/var"), fs::path("/sys"), fs::path("/code/handler.py"), fs::path("/runtime/shim.py")}) {
    s.argv.push_back(path.string());
  }
  s.readOnlyBinds.emplace_back(runtimeDir, "/runtime");
  const Outcome outcome = run(s);
  EXPECT_EQ(outcome.exitCode(), 0) << outcome.err;

  // The expected listings follow the host's layout (merged /usr here: symlinks).
  std::vector<std::string> tops = {"code", "dev", "etc", "proc", "runtime", "tmp", "usr"};
  for (const char* top : {"bin", "lib", "lib32", "lib64", "libx32", "sbin"}) {
    if (fs::exists(fs::symlink_status(fs::path("/") / top))) tops.push_back(top);
  }
  std::sort(tops.begin(), tops.end());
  std::string topList;
  for (const auto& top : tops) topList += (topList.empty() ? "'" : ", '") + top + "'";
  std::vector<std::string> etc = {"group", "hosts", "nsswitch.conf", "passwd"};
  for (const char* file : {"alternatives", "ld.so.cache", "localtime"}) {
    if (fs::exists(fs::symlink_status(fs::path("/etc") / file))) etc.push_back(file);
  }
  std::sort(etc.begin(), etc.end());
  std::string etcList;
  for (const auto& file : etc) etcList += (etcList.empty() ? "'" : ", '") + file + "'";

  EXPECT_EQ(outcome.out, "/etc/shadow ENOENT\n" + (dataDir / "surge.db").string() + " ENOENT\n" +
                             (otherCode / "handler.py").string() +
                             " ENOENT\n"
                             "/root ENOENT\n/home ENOENT\n/var ENOENT\n/sys ENOENT\n"
                             "/code/handler.py readable\n/runtime/shim.py readable\n"
                             "/ [" +
                             topList + "]\n/etc [" + etcList +
                             "]\n"
                             "/dev ['core', 'fd', 'full', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', "
                             "'stdin', 'stdout', 'tty', 'urandom', 'zero']\n"
                             "passwd sandbox:x:100001:100001:Surge function:/tmp:/usr/sbin/nologin\n");
}

TEST_P(SandboxLauncherTest, OnlyTmpAndDevShmAreWritable) {
  const fs::path runtimeDir = dir_.path() / "runtime";
  fs::create_directories(runtimeDir);
  ASSERT_EQ(::chown(runtimeDir.c_str(), kUid, kUid), 0);
  const std::string script = R"(import os, sys, errno
for path in sys.argv[1:]:
    try:
        with open(path, 'w') as f:
            f.write('x')
        print(path, 'written')
    except OSError as e:
        print(path, errno.errorcode[e.errno])
)";
  SandboxSpec s = spec("i-ro", python(script));
  for (const char* path : {"/code/x", "/code/handler.py", "/runtime/x", "/x", "/etc/x", "/etc/passwd", "/dev/x",
                           "/usr/x", "/proc/sys/kernel/hostname", "/tmp/x", "/dev/shm/x"}) {
    s.argv.push_back(path);
  }
  s.readOnlyBinds.emplace_back(runtimeDir, "/runtime");
  const Outcome outcome = run(s);
  EXPECT_EQ(outcome.exitCode(), 0) << outcome.err;
  // /proc/sys: bubblewrap leaves it to the permission check (the files are the host root's);
  // the zygote also covers it read-only, as bubblewrap does when privileged.
  EXPECT_EQ(outcome.out, std::string("/code/x EROFS\n/code/handler.py EROFS\n/runtime/x EROFS\n/x EROFS\n/etc/x EROFS\n"
                                     "/etc/passwd EROFS\n/dev/x EROFS\n/usr/x EROFS\n/proc/sys/kernel/hostname ") +
                             (viaZygote() ? "EROFS" : "EACCES") + "\n/tmp/x written\n/dev/shm/x written\n");
  EXPECT_FALSE(fs::exists(codeDir_ / "x"));
  EXPECT_FALSE(fs::exists(runtimeDir / "x"));
}

TEST_P(SandboxLauncherTest, NetworkNamespaceHasOnlyLoopbackAndNoRouteToTheHost) {
  // A service on the host's loopback: the sandbox's own loopback is a different one.
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(listener, 16), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const int port = ntohs(address.sin_port);

  const std::string script = R"(import socket, sys, errno
s = socket.socket()
try:
    s.connect(('127.0.0.1', int(sys.argv[1])))
    print('connect ok')
except OSError as e:
    print('connect', errno.errorcode[e.errno])
lines = open('/proc/net/dev').read().splitlines()[2:]
print('interfaces', [line.split(':')[0].strip() for line in lines])
print('hostname', socket.gethostname())
)";
  SandboxSpec s = spec("i-net", python(script));
  s.argv.push_back(std::to_string(port));
  const Outcome outcome = run(s);
  EXPECT_EQ(outcome.exitCode(), 0) << outcome.err;
  EXPECT_EQ(outcome.out, "connect ECONNREFUSED\ninterfaces ['lo']\nhostname surge\n");
  EXPECT_EQ(::accept(listener, nullptr, nullptr), -1);
  EXPECT_EQ(errno, EAGAIN);
  ::close(listener);
}

TEST_P(SandboxLauncherTest, ForkBombStopsAtPidsMaxAndLeavesTheHostAlone) {
  const std::string script = R"(import os, errno, signal
forked = 0
failure = 'none'
for attempt in range(2000):
    try:
        pid = os.fork()
    except OSError as e:
        failure = errno.errorcode[e.errno]
        break
    if pid == 0:
        signal.pause()
        os._exit(0)
    forked += 1
print(forked, failure, flush=True)
signal.pause()
)";
  SandboxSpec s = spec("i-forkbomb", python(script));
  s.pidsMax = 32;
  SandboxProcess& process = launch(s);
  // bwrap's two processes and python count too: 32 - 3 children.
  ASSERT_EQ(readUntil(process.stdoutFd, "\n"), "29 EAGAIN\n");

  // The host still forks.
  EXPECT_EQ(testing::runCommand({"/bin/true"}).exitCode, 0);
  const std::vector<pid_t> members = cgroupMembers(process.cgroupDirs.front());
  EXPECT_EQ(members.size(), 32u);
  std::vector<int> pidfds;
  for (const pid_t pid : members) pidfds.push_back(pidfdOpen(pid));

  const auto dirs = process.cgroupDirs;
  killAndDestroy(process);
  for (const auto& dir : dirs) EXPECT_FALSE(fs::exists(dir)) << dir;
  // A killed process leaves its cgroup (cgroup_exit) a moment before its exit is reported
  // (exit_notify), so one may still be finishing its exit, never to run again, when the group is
  // gone: wait for each, with a deadline. One that survived would pause until it.
  for (size_t i = 0; i < pidfds.size(); ++i) {
    ASSERT_GE(pidfds[i], 0);
    EXPECT_TRUE(exitsWithin(pidfds[i], kDeadline)) << "pid " << members[i] << " survived";
    ::close(pidfds[i]);
  }
}

TEST_P(SandboxLauncherTest, DestroyKillsProcessesLeftInTheCgroup) {
  int sockets[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets), 0);
  SandboxSpec s = spec("i-escapee", python("import os\nprint('ready', flush=True)\nos.read(3, 1)\n"));
  s.protocolFd = sockets[1];
  SandboxProcess& process = launch(s);
  ::close(sockets[1]);
  ASSERT_EQ(readUntil(process.stdoutFd, "\n"), "ready\n");
  // A process in the cgroup but outside bwrap's process tree, as if it had escaped the pid
  // namespace: only destroy() can find it.
  HostSleeper escapee = startHostSleeper(kUid);
  ASSERT_GT(escapee.sleep, 0);
  for (const auto& dir : process.cgroupDirs) writeText(dir / "cgroup.procs", std::to_string(escapee.sleep));
  ASSERT_EQ(cgroupMembers(process.cgroupDirs.front()).size(), 4u);

  ::close(sockets[0]);
  const Outcome outcome = finish(process);
  EXPECT_EQ(outcome.exitCode(), 0) << outcome.err;
  // Bounded, not 0: it leaves the cgroup just before its exit is reported (see above).
  EXPECT_TRUE(exitsWithin(escapee.sleepPidfd, kDeadline));
  const auto shellStatus = stopHostSleeper(escapee);
  ASSERT_TRUE(shellStatus.has_value());
  EXPECT_EQ(WEXITSTATUS(*shellStatus), 128 + SIGKILL); // sh's `wait` saw the sleep SIGKILLed
}

TEST_P(SandboxLauncherTest, MemoryHogIsOomKilled) {
  SandboxSpec s = spec("i-memhog", python("chunks = [b'\\x01' * (1 << 20) for _ in range(200)]\nprint('survived')\n"));
  s.memoryMb = 64;
  SandboxProcess& process = launch(s);
  const Outcome outcome = collect(process);
  EXPECT_EQ(outcome.exitCode(), 128 + SIGKILL);
  EXPECT_EQ(outcome.out, "");
  EXPECT_TRUE(launcher_->oomKilled(process));
  process.pid = -1;
  closeOutputs(process);
  launcher_->destroy(process);
}

TEST_P(SandboxLauncherTest, ProgramThatStaysWithinItsMemoryIsNotReportedOomKilled) {
  SandboxSpec s = spec("i-modest", python("chunks = [b'\\x01' * (1 << 20) for _ in range(16)]\nprint(len(chunks))\n"));
  s.memoryMb = 64;
  SandboxProcess& process = launch(s);
  const Outcome outcome = collect(process);
  EXPECT_EQ(outcome.exitCode(), 0) << outcome.err;
  EXPECT_EQ(outcome.out, "16\n");
  EXPECT_FALSE(launcher_->oomKilled(process));
  process.pid = -1;
  closeOutputs(process);
  launcher_->destroy(process);
}

// /tmp is a tmpfs of min(512 MiB, memory). Its pages count against the memory cgroup, so a
// writer either meets the 512 MiB cap (ENOSPC) or, below 512 MiB of memory, the memory limit
// first (an OOM kill): contained either way, and nothing reaches the host's /tmp.
constexpr const char* kFillTmp = R"(import os, sys, errno
fd = os.open('/tmp/' + sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o600)
chunk = b'x' * (1 << 20)
total = 0
while True:
    try:
        total += os.write(fd, chunk)
    except OSError as e:
        print(total, errno.errorcode[e.errno])
        break
)";

TEST_P(SandboxLauncherTest, FillingTmpStopsAtTheCapOf512Mib) {
  const std::string name = "surge-fill-" + std::to_string(::getpid());
  SandboxSpec s = spec("i-tmpcap", python(kFillTmp));
  s.argv.push_back(name);
  s.memoryMb = 1024;
  SandboxProcess& process = launch(s);
  const Outcome outcome = collect(process);
  EXPECT_EQ(outcome.exitCode(), 0) << outcome.err;
  EXPECT_EQ(outcome.out, std::to_string(512 << 20) + " ENOSPC\n");
  EXPECT_FALSE(launcher_->oomKilled(process));
  EXPECT_FALSE(fs::exists(fs::path("/tmp") / name));
  process.pid = -1;
  closeOutputs(process);
  launcher_->destroy(process);
}

TEST_P(SandboxLauncherTest, FillingTmpBelow512MibMeetsTheMemoryLimit) {
  const std::string name = "surge-fill-" + std::to_string(::getpid());
  SandboxSpec s = spec("i-tmpfill", python(kFillTmp));
  s.argv.push_back(name);
  s.memoryMb = 128;
  SandboxProcess& process = launch(s);
  const Outcome outcome = collect(process);
  EXPECT_EQ(outcome.exitCode(), 137) << outcome.out << outcome.err; // 128 + SIGKILL
  EXPECT_TRUE(launcher_->oomKilled(process));
  EXPECT_FALSE(fs::exists(fs::path("/tmp") / name));
  process.pid = -1;
  closeOutputs(process);
  launcher_->destroy(process);
}

TEST_P(SandboxLauncherTest, KillAllInsideKillsOnlyTheSandboxsProcesses) {
  // Same uid as the sandbox: only the pid namespace stands between them.
  HostSleeper neighbour = startHostSleeper(kUid);
  ASSERT_GT(neighbour.sleep, 0);
  const std::string script = R"(import os, signal
child = os.fork()
if child == 0:
    signal.pause()
    os._exit(0)
os.kill(-1, signal.SIGKILL)
_, status = os.waitpid(child, 0)
print('sibling killed by', os.WTERMSIG(status) if os.WIFSIGNALED(status) else 'nothing')
)";
  const Outcome outcome = run(spec("i-killall", python(script)));
  EXPECT_EQ(outcome.exitCode(), 0) << outcome.err;
  EXPECT_EQ(outcome.out, "sibling killed by 9\n");
  EXPECT_FALSE(exitsWithin(neighbour.sleepPidfd, milliseconds(0)));
  EXPECT_EQ(::kill(neighbour.sleep, 0), 0);
  stopHostSleeper(neighbour);
}

TEST_P(SandboxLauncherTest, DangerousSyscallsFailWithEperm) {
  // x86_64 syscall numbers through ctypes, so that glibc cannot get in the way.
  const std::string script = R"(import ctypes, errno, os, signal, threading
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
L = ctypes.c_long
S = ctypes.c_char_p
buf = ctypes.create_string_buffer(256)
def call(name, nr, *args):
    ctypes.set_errno(0)
    result = libc.syscall(L(nr), *args)
    if result == 0 and name.startswith('clone'):
        os._exit(0)
    error = ctypes.get_errno()
    print(name, errno.errorcode.get(error, error) if result == -1 else 'succeeded')
sibling = os.fork()
if sibling == 0:
    signal.pause()
    os._exit(0)
netns = os.open('/proc/self/ns/net', os.O_RDONLY)
call('mount', 165, S(b'none'), S(b'/tmp'), S(b'tmpfs'), L(0), L(0))
call('umount2', 166, S(b'/tmp'), L(0))
call('pivot_root', 155, S(b'/tmp'), S(b'/tmp'))
call('chroot', 161, S(b'/tmp'))
call('fsopen', 430, S(b'tmpfs'), L(0))
call('open_tree', 428, L(-100), S(b'/tmp'), L(1))
call('unshare(CLONE_NEWUSER)', 272, L(0x10000000))
call('unshare(CLONE_NEWNS)', 272, L(0x20000))
call('setns', 308, L(netns), L(0))
call('clone(CLONE_NEWNET)', 56, L(0x40000000 | 17), L(0), L(0), L(0), L(0))
call('clone(CLONE_NEWUSER)', 56, L(0x10000000 | 17), L(0), L(0), L(0), L(0))
call('clone3', 435, buf, L(88))
call('ptrace(sibling)', 101, L(16), L(sibling), L(0), L(0))
call('ptrace(parent)', 101, L(16), L(os.getppid()), L(0), L(0))
call('process_vm_readv', 310, L(sibling), buf, L(1), buf, L(1), L(0))
call('bpf', 321, L(5), buf, L(128))
call('perf_event_open', 298, buf, L(0), L(-1), L(-1), L(0))
call('userfaultfd', 323, L(0))
call('io_uring_setup', 425, L(1), buf)
call('keyctl', 250, L(0), L(-3), L(0))
call('add_key', 248, S(b'user'), S(b'k'), S(b'v'), L(1), L(-3))
call('request_key', 249, S(b'user'), S(b'k'), L(0), L(-3))
call('open_by_handle_at', 304, L(-100), buf, L(0))
call('kexec_load', 246, L(0), L(0), L(0), L(0))
call('init_module', 175, buf, L(0), S(b''))
call('delete_module', 176, S(b'x'), L(0))
call('reboot', 169, L(0xfee1dead), L(672274793), L(0x4321fedc), L(0))
call('swapon', 167, S(b'/tmp/swap'), L(0))
call('socket(AF_VSOCK)', 41, L(40), L(1), L(0))
call('socket(AF_PACKET)', 41, L(17), L(3), L(0))
call('socket(AF_ALG)', 41, L(38), L(5), L(0))
call('socket(AF_VSOCK + 2**32)', 41, L(40 + 2**32), L(1), L(0))
call('socket(AF_INET + 2**32)', 41, L(2 + 2**32), L(1), L(0))
call('socket(AF_UNIX)', 41, L(1), L(1), L(0))
call('socket(AF_INET6)', 41, L(10), L(1), L(0))
call('socket(AF_NETLINK)', 41, L(16), L(3), L(0))
os.kill(sibling, signal.SIGKILL)
os.waitpid(sibling, 0)
# What the filter must leave alone: fork (clone without namespace flags) and threads (glibc
# tries clone3, gets ENOSYS, and falls back to clone).
child = os.fork()
if child == 0:
    os._exit(7)
print('fork', os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]))
results = []
thread = threading.Thread(target=lambda: results.append('thread ran'))
thread.start()
thread.join()
print(results[0])
)";
  const Outcome outcome = run(spec("i-syscalls", python(script)));
  EXPECT_EQ(outcome.exitCode(), 0) << outcome.err;
  EXPECT_EQ(outcome.out, "mount EPERM\numount2 EPERM\npivot_root EPERM\nchroot EPERM\nfsopen EPERM\n"
                         "open_tree EPERM\nunshare(CLONE_NEWUSER) EPERM\nunshare(CLONE_NEWNS) EPERM\nsetns EPERM\n"
                         "clone(CLONE_NEWNET) EPERM\nclone(CLONE_NEWUSER) EPERM\nclone3 ENOSYS\n"
                         "ptrace(sibling) EPERM\nptrace(parent) EPERM\nprocess_vm_readv EPERM\nbpf EPERM\n"
                         "perf_event_open EPERM\nuserfaultfd EPERM\nio_uring_setup EPERM\nkeyctl EPERM\n"
                         "add_key EPERM\nrequest_key EPERM\nopen_by_handle_at EPERM\nkexec_load EPERM\n"
                         "init_module EPERM\ndelete_module EPERM\nreboot EPERM\nswapon EPERM\n"
                         "socket(AF_VSOCK) EAFNOSUPPORT\nsocket(AF_PACKET) EAFNOSUPPORT\nsocket(AF_ALG) EAFNOSUPPORT\n"
                         "socket(AF_VSOCK + 2**32) EAFNOSUPPORT\nsocket(AF_INET + 2**32) EAFNOSUPPORT\n"
                         "socket(AF_UNIX) succeeded\nsocket(AF_INET6) succeeded\nsocket(AF_NETLINK) succeeded\n"
                         "fork 7\nthread ran\n");
}

TEST_P(SandboxLauncherTest, SyscallsOfAnotherAbiKillTheProcess) {
  // x32: the x86_64 syscall instruction with bit 30 set in the number.
  const Outcome x32 = run(spec("i-x32", python("import ctypes\nctypes.CDLL(None).syscall(0x40000000 | 39)\n"
                                               "print('x32 getpid ran')\n")));
  EXPECT_EQ(x32.exitCode(), 128 + SIGSYS) << x32.out << x32.err;
  EXPECT_EQ(x32.out, "");

  // i386: `mov eax, 20 (getpid); int 0x80; ret` in an executable page.
  const std::string i386 = R"(import ctypes, mmap
code = b'\xb8\x14\x00\x00\x00\xcd\x80\xc3'
page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
page.write(code)
address = ctypes.addressof(ctypes.c_char.from_buffer(page))
ctypes.CFUNCTYPE(ctypes.c_int)(address)()
print('int 0x80 ran')
)";
  const Outcome int80 = run(spec("i-i386", python(i386)));
  // Some kernels have no i386 entry at all (IA32 emulation off at run time, as on some VMs): there
  // `int 0x80` is a general protection fault (SIGSEGV) even on the host, before seccomp is asked.
  // The same code run on the host, outside any sandbox, tells which kernel this is.
  const std::string probe = (dir_.path() / "i386.py").string();
  std::ofstream(probe) << i386;
  const int onHost = std::system(("/usr/bin/python3 -S " + probe + " >/dev/null 2>&1").c_str());
  const bool kernelHasI386 = !(WIFEXITED(onHost) && WEXITSTATUS(onHost) == 128 + SIGSEGV);
  EXPECT_EQ(int80.exitCode(), 128 + (kernelHasI386 ? SIGSYS : SIGSEGV)) << int80.out << int80.err;
  EXPECT_EQ(int80.out, "");
}

TEST_P(SandboxLauncherTest, ProtocolFdArrivesAsFd3AndNoOtherDescriptorLeaks) {
  // A descriptor the test process leaves inheritable: it must not reach the sandbox.
  const int leaky = ::open("/etc/hostname", O_RDONLY);
  ASSERT_GE(leaky, 0);
  int sockets[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets), 0);
  const std::string script = R"(import os
os.write(3, b'hello over fd 3\n')
for fd in sorted(int(name) for name in os.listdir('/proc/self/fd')):
    try:
        target = os.readlink('/proc/self/fd/%d' % fd)
    except FileNotFoundError:
        continue  # the descriptor listdir used, closed by now
    print(fd, target.split(':')[0])
)";
  SandboxSpec s = spec("i-fds", python(script));
  s.protocolFd = sockets[1];
  SandboxProcess& process = launch(s);
  ::close(sockets[1]);
  ::fcntl(sockets[0], F_SETFL, O_NONBLOCK);
  EXPECT_EQ(readUntil(sockets[0], "\n"), "hello over fd 3\n");
  const Outcome outcome = finish(process);
  EXPECT_EQ(outcome.exitCode(), 0) << outcome.err;
  EXPECT_EQ(outcome.out, "0 /dev/null\n1 pipe\n2 pipe\n3 socket\n");
  ::close(sockets[0]);
  ::close(leaky);
}

TEST_P(SandboxLauncherTest, WithoutProtocolFdOnlyStdioIsOpen) {
  const Outcome outcome = run(spec("i-nofd", python("import os\nprint(sorted(os.listdir('/proc/self/fd')))\n")));
  EXPECT_EQ(outcome.exitCode(), 0) << outcome.err;
  EXPECT_EQ(outcome.out, "['0', '1', '2', '3']\n"); // 3 is listdir's own descriptor
}

TEST_P(SandboxLauncherTest, ConcurrentLaunchesLeakNoDescriptorsIntoEachOther) {
  // While one thread forks, the other holds fresh pipes and memfds: none may reach a sandbox.
  auto worker = [this](int thread) {
    for (int i = 0; i < 5; ++i) {
      auto process = launcher_->launch(spec("i-thread" + std::to_string(thread) + "-" + std::to_string(i),
                                            python("import os\nprint(sorted(os.listdir('/proc/self/fd')))\n")));
      if (!process.ok()) {
        ADD_FAILURE() << process.status();
        continue;
      }
      const Outcome outcome = collect(*process);
      closeOutputs(*process);
      launcher_->destroy(*process);
      EXPECT_EQ(outcome.exitCode(), 0) << outcome.err;
      EXPECT_EQ(outcome.out, "['0', '1', '2', '3']\n"); // 3 is listdir's own descriptor
    }
  };
  std::thread first(worker, 1);
  std::thread second(worker, 2);
  first.join();
  second.join();
}

TEST_P(SandboxLauncherTest, EnvironmentIsTheSpecsPlusPwd) {
  ::setenv("SURGE_HOST_SECRET", "must not leak", 1);
  SandboxSpec s = spec("i-env", {"/usr/bin/env"});
  s.env = {{"B", "two words"}, {"A", "1"}, {"EMPTY", ""}};
  const Outcome outcome = run(s);
  ::unsetenv("SURGE_HOST_SECRET");
  EXPECT_EQ(outcome.exitCode(), 0) << outcome.err;
  EXPECT_EQ(outcome.out, "A=1\nB=two words\nEMPTY=\nPWD=/code\n");
}

TEST_P(SandboxLauncherTest, LimitsAreInTheCgroupAndCpuIsThrottledOnlyOnRequest) {
  int sockets[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets), 0);
  // The program's first act: where it is. Its cgroup namespace was made by bwrap, so "/" means
  // the cgroup bwrap was in when it started: the sandbox's, joined before exec.
  const std::string script = R"(import os
for line in open('/proc/self/cgroup').read().splitlines():
    number, controllers, path = line.split(':', 2)
    if set(controllers.split(',')) & {'memory', 'pids', 'cpu', ''}:
        print(controllers or 'unified', path)
print('ready', flush=True)
os.read(3, 1)
)";
  SandboxSpec s = spec("i-limits", python(script));
  s.protocolFd = sockets[1];
  s.memoryMb = 192;
  s.pidsMax = 100;
  SandboxProcess& process = launch(s);
  ::close(sockets[1]);
  ASSERT_FALSE(process.cgroupDirs.empty());
  const std::string whereami = readUntil(process.stdoutFd, "ready\n");
  auto dirWith = [&](const char* file) {
    for (const auto& dir : process.cgroupDirs) {
      if (fs::exists(dir / file)) return dir / file;
    }
    return fs::path();
  };
  if (launcher_->cgroupVersion() == "v1") {
    ASSERT_EQ(process.cgroupDirs.size(), hierarchyRoots("v1").size());
    std::vector<std::string> lines;
    std::istringstream in(whereami);
    for (std::string line; std::getline(in, line);) {
      if (line != "unified /") lines.push_back(line); // the hybrid layout's empty cgroup2, when mounted
    }
    std::sort(lines.begin(), lines.end());
    EXPECT_EQ(lines, (std::vector<std::string>{"cpu /", "memory /", "pids /", "ready"}));
    EXPECT_EQ(readText(dirWith("memory.limit_in_bytes")), std::to_string(192 << 20) + "\n");
    if (!dirWith("memory.memsw.limit_in_bytes").empty()) {
      EXPECT_EQ(readText(dirWith("memory.memsw.limit_in_bytes")), std::to_string(192 << 20) + "\n");
    }
    EXPECT_EQ(readText(dirWith("pids.max")), "100\n");
    EXPECT_EQ(readText(dirWith("cpu.cfs_quota_us")), "-1\n");
    ASSERT_TRUE(launcher_->throttleCpu(process, s).ok());
    EXPECT_EQ(readText(dirWith("cpu.cfs_period_us")), "10000\n");
    EXPECT_EQ(readText(dirWith("cpu.cfs_quota_us")), "2500\n"); // max(0.25, 192 / 1024) cores
    s.cpuCores = 1.5;
    ASSERT_TRUE(launcher_->throttleCpu(process, s).ok());
    EXPECT_EQ(readText(dirWith("cpu.cfs_quota_us")), "15000\n");
    s.cpuCores = 0;
    s.memoryMb = 2048;
    ASSERT_TRUE(launcher_->throttleCpu(process, s).ok());
    EXPECT_EQ(readText(dirWith("cpu.cfs_quota_us")), "20000\n"); // 2048 / 1024 cores
  } else {
    ASSERT_EQ(process.cgroupDirs.size(), 1u);
    EXPECT_EQ(whereami, "unified /\nready\n");
    EXPECT_EQ(readText(dirWith("memory.max")), std::to_string(192 << 20) + "\n");
    EXPECT_EQ(readText(dirWith("pids.max")), "100\n");
    EXPECT_EQ(readText(dirWith("cpu.max")), "max 100000\n");
    ASSERT_TRUE(launcher_->throttleCpu(process, s).ok());
    EXPECT_EQ(readText(dirWith("cpu.max")), "2500 10000\n");
    s.cpuCores = 1.5;
    ASSERT_TRUE(launcher_->throttleCpu(process, s).ok());
    EXPECT_EQ(readText(dirWith("cpu.max")), "15000 10000\n");
  }
  // bwrap, its init and the program, in every hierarchy.
  for (const auto& dir : process.cgroupDirs) EXPECT_EQ(cgroupMembers(dir).size(), 3u) << dir;
  ::close(sockets[0]);
  EXPECT_EQ(finish(process).exitCode(), 0);
}

TEST_P(SandboxLauncherTest, ABackgroundSandboxHasTheSmallestCpuWeightUntilForeground) {
  SandboxSpec s = spec("i-background", python("import os\nos.read(0, 1)\n"));
  s.background = true;
  SandboxProcess& process = launch(s);
  const bool v1 = launcher_->cgroupVersion() == "v1";
  const char* file = v1 ? "cpu.shares" : "cpu.weight";
  fs::path weight;
  for (const auto& dir : process.cgroupDirs) {
    if (fs::exists(dir / file)) weight = dir / file;
  }
  ASSERT_FALSE(weight.empty());
  EXPECT_EQ(readText(weight), v1 ? "2\n" : "1\n");
  ASSERT_TRUE(launcher_->foreground(process).ok());
  EXPECT_EQ(readText(weight), v1 ? "1024\n" : "100\n");
  EXPECT_EQ(finish(process).exitCode(), 0); // stdin is /dev/null: the read returns at once
}

TEST_P(SandboxLauncherTest, CreateRemovesLeftoversOfACrashedPredecessor) {
  const std::string parent = parent_ + "-crashed";
  const std::string version = launcher_->cgroupVersion();
  // What a killed surged leaves: a sandbox cgroup with a live process, and an empty one.
  std::vector<fs::path> stale;
  for (const auto& root : hierarchyRoots(version)) {
    fs::create_directories(root / parent / "i-7");
    fs::create_directories(root / parent / "i-8");
    stale.push_back(root / parent / "i-7");
    stale.push_back(root / parent / "i-8");
  }
  HostSleeper leftover = startHostSleeper(0);
  ASSERT_GT(leftover.sleep, 0);
  for (const auto& root : hierarchyRoots(version)) {
    writeText(root / parent / "i-7" / "cgroup.procs", std::to_string(leftover.sleep));
  }
  ASSERT_EQ(cgroupMembers(stale.front()), std::vector<pid_t>{leftover.sleep});

  auto successor = SandboxLauncher::create({.cgroupParent = parent, .zygote = {}, .network = {}});
  ASSERT_TRUE(successor.ok()) << successor.status();
  // Bounded, not 0: it leaves the cgroup just before its exit is reported (see the fork bomb).
  EXPECT_TRUE(exitsWithin(leftover.sleepPidfd, kDeadline));
  for (const auto& dir : stale) EXPECT_FALSE(fs::exists(dir)) << dir;
  const auto shellStatus = stopHostSleeper(leftover);
  ASSERT_TRUE(shellStatus.has_value());
  EXPECT_EQ(WEXITSTATUS(*shellStatus), 128 + SIGKILL);
  successor->reset();
  removeParent(version, parent);
  for (const auto& root : hierarchyRoots(version)) EXPECT_FALSE(fs::exists(root / parent));
}

TEST_P(SandboxLauncherTest, SandboxesOfTwoFunctionsHaveSeparateTmp) {
  int sockets[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets), 0);
  SandboxSpec first = spec("i-first", python("import os\nopen('/tmp/mine', 'w').write('secret')\n"
                                             "print('written', flush=True)\nos.read(3, 1)\n"));
  first.protocolFd = sockets[1];
  SandboxProcess& writer = launch(first);
  ::close(sockets[1]);
  ASSERT_EQ(readUntil(writer.stdoutFd, "\n"), "written\n");

  SandboxSpec second = spec("i-second", python("import os\nprint(os.path.exists('/tmp/mine'), os.listdir('/tmp'))\n"));
  second.uid = second.gid = kOtherUid;
  const Outcome reader = run(second);
  EXPECT_EQ(reader.exitCode(), 0) << reader.err;
  EXPECT_EQ(reader.out, "False []\n");
  ::close(sockets[0]);
  EXPECT_EQ(finish(writer).exitCode(), 0);
}

TEST_P(SandboxLauncherTest, ExitStatusIsTheProgramsCodeOr128PlusItsSignal) {
  EXPECT_EQ(run(spec("i-exit7", {"/bin/sh", "-c", "exit 7"})).exitCode(), 7);
  EXPECT_EQ(run(spec("i-term", {"/bin/sh", "-c", "kill -TERM $$"})).exitCode(), 128 + SIGTERM);
  EXPECT_EQ(run(spec("i-kill", {"/bin/sh", "-c", "kill -KILL $$"})).exitCode(), 128 + SIGKILL);
  // A bubblewrap setup failure: exit code 1 and its reason on stderr.
  const Outcome missing = run(spec("i-missing", {"/code/does-not-exist"}));
  EXPECT_EQ(missing.exitCode(), 1);
  EXPECT_EQ(missing.err, viaZygote() ? "surge-zygote: execve /code/does-not-exist: No such file or directory\n"
                                     : "bwrap: execvp /code/does-not-exist: No such file or directory\n");

  // Only a signal to bubblewrap itself shows as a signal.
  int sockets[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets), 0);
  SandboxSpec s = spec("i-bwrap-killed", python("import os\nos.read(3, 1)\n"));
  s.protocolFd = sockets[1];
  SandboxProcess& process = launch(s);
  ::close(sockets[1]);
  ::kill(process.pid, SIGKILL);
  const auto status = reap(process.pid);
  process.pid = -1;
  ASSERT_TRUE(status.has_value());
  ASSERT_TRUE(WIFSIGNALED(*status));
  EXPECT_EQ(WTERMSIG(*status), SIGKILL);
  // Killed this early, bwrap may not yet have armed its child's parent-death signal, and the
  // child lives on, holding the output pipes. destroy() kills it through the cgroup: only then
  // do the pipes close.
  const auto dirs = process.cgroupDirs;
  launcher_->destroy(process);
  for (const auto& dir : dirs) EXPECT_FALSE(fs::exists(dir)) << dir;
  EXPECT_TRUE(reachesEof(process.stdoutFd, kDeadline));
  EXPECT_TRUE(reachesEof(process.stderrFd, kDeadline));
  ::close(sockets[0]);
}

TEST_P(SandboxLauncherTest, RejectsSpecsThatWouldWeakenTheSandbox) {
  auto expectInvalid = [&](SandboxSpec s, const std::string& message) {
    auto process = launcher_->launch(s);
    ASSERT_FALSE(process.ok());
    EXPECT_EQ(process.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(process.status().message(), message);
  };
  SandboxSpec root = spec("i-root", {"/bin/true"});
  root.uid = 0;
  expectInvalid(root, "sandbox uid 0 must be at least 10000 and not 65534 (nobody)");
  SandboxSpec nobody = spec("i-nobody", {"/bin/true"});
  nobody.gid = 65534;
  expectInvalid(nobody, "sandbox gid 65534 must be at least 10000 and not 65534 (nobody)");
  expectInvalid(spec("../escape", {"/bin/true"}), "sandbox name '../escape' must be 1-64 characters of [a-z0-9-]");
  SandboxSpec etc = spec("i-etc", {"/bin/true"});
  etc.readOnlyBinds.emplace_back("/etc", "/etc/host");
  expectInvalid(etc, "bind target '/etc/host' must be a normalised absolute path outside /, /usr, /etc, /code, /tmp, "
                     "/proc and /dev");
  SandboxSpec tiny = spec("i-tiny", {"/bin/true"});
  tiny.memoryMb = 8;
  expectInvalid(tiny, "memoryMb 8 is below the minimum of 16");
  SandboxSpec fewPids = spec("i-pids", {"/bin/true"});
  fewPids.pidsMax = 2;
  expectInvalid(fewPids, "pidsMax 2 is below the minimum of 3: bubblewrap needs 2 processes besides the program");

  auto duplicate = launcher_->launch(spec("i-dup", {"/bin/sh", "-c", "exit 0"}));
  ASSERT_TRUE(duplicate.ok()) << duplicate.status();
  live_.push_back(*duplicate);
  auto again = launcher_->launch(spec("i-dup", {"/bin/true"}));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
}

TEST(SandboxLauncherCreate, RefusesAMissingBubblewrapAndABadParent) {
  auto noBwrap = SandboxLauncher::create(
      {.bwrap = "/nonexistent/bwrap", .cgroupParent = testParent(), .zygote = {}, .network = {}});
  EXPECT_EQ(noBwrap.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(noBwrap.status().message(),
            "bubblewrap is not executable at '/nonexistent/bwrap': install the bubblewrap package");
  auto badParent = SandboxLauncher::create({.cgroupParent = "../surge", .zygote = {}, .network = {}});
  EXPECT_EQ(badParent.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(badParent.status().message(), "cgroup parent '../surge' must be 1-64 characters of [A-Za-z0-9._-]");
}

// The bare start-up cost (launch, /bin/true, exit, destroy), for docs/sandbox.md. Recorded, not
// asserted: these machines are too noisy for a time limit.
TEST_P(SandboxLauncherTest, FiftyBareSandboxesStartAndExitCleanly) {
  std::vector<double> launchToExitMs;
  std::vector<double> wholeCycleMs;
  for (int i = 0; i < 50; ++i) {
    const auto start = Clock::now();
    SandboxProcess& process = launch(spec("i-bare-" + std::to_string(i), {"/bin/true"}));
    ASSERT_GT(process.pid, 0);
    const auto status = reap(process.pid);
    const auto exited = Clock::now();
    process.pid = -1;
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(WEXITSTATUS(*status), 0);
    closeOutputs(process);
    launcher_->destroy(process);
    const auto destroyed = Clock::now();
    launchToExitMs.push_back(std::chrono::duration<double, std::milli>(exited - start).count());
    wholeCycleMs.push_back(std::chrono::duration<double, std::milli>(destroyed - start).count());
    live_.pop_back();
  }
  std::sort(launchToExitMs.begin(), launchToExitMs.end());
  std::sort(wholeCycleMs.begin(), wholeCycleMs.end());
  const double medianExit = (launchToExitMs[24] + launchToExitMs[25]) / 2;
  const double medianCycle = (wholeCycleMs[24] + wholeCycleMs[25]) / 2;
  RecordProperty("median_launch_to_exit_us", static_cast<int>(medianExit * 1000));
  RecordProperty("median_with_destroy_us", static_cast<int>(medianCycle * 1000));
  std::cout << "bare sandbox (/bin/true), median of 50: launch to exit " << medianExit << " ms, with destroy "
            << medianCycle << " ms (min " << launchToExitMs.front() << ", max " << launchToExitMs.back() << ")\n";
}

} // namespace
} // namespace surge::engine

namespace surge::engine {
namespace {
INSTANTIATE_TEST_SUITE_P(StartPaths, SandboxLauncherTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Zygote" : "Bubblewrap";
                         });
} // namespace
} // namespace surge::engine

namespace surge::engine {
namespace {

// The zygote's own failure modes, on the zygote start path only.
class SandboxLauncherZygoteTest : public SandboxLauncherTest {
protected:
  void recreate(ZygoteOptions zygote) {
    launcher_.reset();
    auto launcher = SandboxLauncher::create({.cgroupParent = parent_, .zygote = std::move(zygote), .network = {}});
    ASSERT_TRUE(launcher.ok()) << launcher.status();
    launcher_ = std::move(*launcher);
    launcher_->warmUp();
  }
  // Launches, expecting `zygote` to say which path started it.
  SandboxProcess& launchVia(const SandboxSpec& spec, bool zygote) {
    auto process = launcher_->launch(spec);
    EXPECT_TRUE(process.ok()) << process.status();
    if (process.ok()) {
      EXPECT_EQ(process->zygote, zygote) << spec.name;
    }
    live_.push_back(process.ok() ? *process : SandboxProcess{});
    return live_.back();
  }
};

TEST_P(SandboxLauncherZygoteTest, AZygoteKilledMidFlightLeavesItsSandboxesAloneAndIsReplaced) {
  ZygoteOptions options;
  options.bootWait = kDeadline; // deterministic: never fall back because the new one loads slowly
  recreate(options);
  // A sandbox forked by the zygote, blocked on its protocol descriptor.
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  SandboxSpec waiting = spec("i-waiting", python("import os\nos.read(3, 1)\nprint('still here')\n"));
  waiting.protocolFd = pair[1];
  SandboxProcess& before = launchVia(waiting, true);
  ::close(pair[1]);

  const pid_t zygote = launcher_->zygotePid();
  ASSERT_GT(zygote, 0);
  const int pidfd = pidfdOpen(zygote);
  ASSERT_EQ(::kill(zygote, SIGKILL), 0);
  ASSERT_TRUE(exitsWithin(pidfd, kDeadline));
  ::close(pidfd);

  // The start that finds it dead is started by bubblewrap, and succeeds.
  Outcome fallback = finish(launchVia(spec("i-fallback", python("print('fallback')")), false));
  EXPECT_EQ(fallback.exitCode(), 0) << fallback.err;
  EXPECT_EQ(fallback.out, "fallback\n");
  // A new zygote serves the next one.
  Outcome after = finish(launchVia(spec("i-after", python("print('after')")), true));
  EXPECT_EQ(after.exitCode(), 0) << after.err;
  EXPECT_EQ(after.out, "after\n");
  EXPECT_NE(launcher_->zygotePid(), zygote);
  // The sandbox forked before the kill is the engine's child, not the zygote's: unaffected.
  ASSERT_EQ(::write(pair[0], "x", 1), 1);
  Outcome survivor = finish(before);
  ::close(pair[0]);
  EXPECT_EQ(survivor.exitCode(), 0) << survivor.err;
  EXPECT_EQ(survivor.out, "still here\n");
}

TEST_P(SandboxLauncherZygoteTest, AZygoteThatCannotStartLeavesEveryStartToBubblewrap) {
  ZygoteOptions options;
  options.program = "/nonexistent/surge-zygote";
  recreate(options);
  Outcome outcome = finish(launchVia(spec("i-no-zygote", python("print('bwrap')")), false));
  EXPECT_EQ(outcome.exitCode(), 0) << outcome.err;
  EXPECT_EQ(outcome.out, "bwrap\n");
}

TEST_P(SandboxLauncherZygoteTest, AZygoteThatExitsWhileLoadingIsNotRetriedDuringTheBackoff) {
  // A stand-in for a broken shim: it notes each start and exits before it says READY.
  const fs::path starts = dir_.path() / "zygote-starts";
  const fs::path program = dir_.path() / "failing-zygote";
  {
    std::ofstream script(program);
    script << "#!/bin/sh\necho started >> '" << starts.string() << "'\nexit 1\n";
  }
  fs::permissions(program, fs::perms::owner_all);
  ZygoteOptions options;
  options.program = program;
  options.bootWait = kDeadline;
  options.loadFailureBackoff = std::chrono::hours(1);
  recreate(options);
  for (const char* name : {"i-first", "i-second", "i-third"}) {
    Outcome outcome = finish(launchVia(spec(name, python("print('bwrap')")), false));
    EXPECT_EQ(outcome.exitCode(), 0) << outcome.err;
    EXPECT_EQ(outcome.out, "bwrap\n");
  }
  launcher_->warmUp();
  std::ifstream noted(starts);
  const std::string all((std::istreambuf_iterator<char>(noted)), std::istreambuf_iterator<char>());
  EXPECT_EQ(all, "started\n") << "only the first zygote was started";
  EXPECT_EQ(launcher_->zygotePid(), -1);
}

TEST_P(SandboxLauncherZygoteTest, AZygoteIsReplacedAfterItsForkBudgetSoChildrenStopSharingItsLayout) {
  ZygoteOptions options;
  options.forksPerZygote = 2;
  options.bootWait = kDeadline;
  recreate(options);
  // id(None) is an address inside libpython: the same for every child of one zygote, and
  // different between zygotes (each is exec'd, so ASLR places it anew).
  std::vector<pid_t> zygotes;
  std::vector<std::string> layouts;
  for (int i = 0; i < 8; ++i) {
    Outcome outcome = finish(launchVia(spec("i-aslr-" + std::to_string(i), python("print(id(None))")), true));
    ASSERT_EQ(outcome.exitCode(), 0) << outcome.err;
    zygotes.push_back(launcher_->zygotePid());
    layouts.push_back(outcome.out);
  }
  std::sort(zygotes.begin(), zygotes.end());
  std::sort(layouts.begin(), layouts.end());
  const auto distinctZygotes = std::unique(zygotes.begin(), zygotes.end()) - zygotes.begin();
  const auto distinctLayouts = std::unique(layouts.begin(), layouts.end()) - layouts.begin();
  // At most 4 forks each (twice the budget while the replacement loads): at least 2 zygotes.
  EXPECT_GE(distinctZygotes, 2);
  EXPECT_EQ(distinctLayouts, distinctZygotes);
}

TEST_P(SandboxLauncherZygoteTest, AnInstanceFindsNothingOfAnotherFunctionsRequestInItsMemory) {
  ZygoteOptions options;
  options.bootWait = kDeadline;
  recreate(options);
  // Another function's sandbox: its request carries a marker in environment values of many sizes
  // (strings of each size end up in different places: the allocator's caches, vector registers),
  // in its code directory's path and in its arguments.
  const std::string half1 = "surge-zygote-leak-", half2 = "marker-4711";
  const std::string marker = half1 + half2;
  const fs::path otherCode = dir_.path() / marker;
  fs::create_directories(otherCode);
  fs::permissions(otherCode, fs::perms(0755));
  SandboxSpec other = spec("i-other", python("pass"));
  other.uid = other.gid = kOtherUid;
  other.codeDir = otherCode;
  for (size_t size : {32, 40, 100, 300, 700, 1500, 4000}) {
    std::string value;
    while (value.size() < size) value += marker;
    other.env["OTHER_SECRET_" + std::to_string(size)] = value.substr(0, size);
  }
  // A longer request than the next one, the marker at its end: a reused buffer would keep it.
  other.argv.push_back(std::string(4096, '-'));
  other.argv.push_back(marker);
  Outcome first = finish(launchVia(other, true));
  ASSERT_EQ(first.exitCode(), 0) << first.err;
  // This one reads all of its own memory, and its init's (pid 1, the sandbox's B, which another
  // copy of the request would have reached the same way), and counts the marker. It is built from
  // its halves so that the whole marker is never in this program's own memory.
  const std::string scan =
      "import sys\n"
      "h1, h2 = sys.argv[1].encode(), sys.argv[2].encode()\n"
      "found = 0\n"
      "for pid in ('self', '1'):\n"
      "    try:\n"
      "        mem = open('/proc/%s/mem' % pid, 'rb', 0)\n"
      "        maps = open('/proc/%s/maps' % pid).read().splitlines()\n"
      "    except OSError as e:\n"
      "        print('cannot read the memory of', pid, e)\n"
      "        sys.exit(1)\n"
      "    for line in maps:\n"
      "        fields = line.split()\n"
      "        if fields[1][0] != 'r' or (len(fields) > 5 and fields[5] in ('[vvar]', '[vsyscall]')):\n"
      "            continue\n"
      "        start, end = (int(x, 16) for x in fields[0].split('-'))\n"
      "        try:\n"
      "            mem.seek(start)\n"
      "            data = mem.read(end - start)\n"
      "        except OSError:\n"
      "            continue\n"
      "        i = data.find(h1)\n"
      "        while i >= 0:\n"
      "            if data[i + len(h1):i + len(h1) + len(h2)] == h2:\n"
      "                found += 1\n"
      "            i = data.find(h1, i + 1)\n"
      "print(found)\n";
  // From a file: this request is then shorter than the other's and cannot overwrite it.
  writeText(codeDir_ / "scan.py", scan);
  SandboxSpec mine = spec("i-mine", python("exec(open('/code/scan.py').read())"));
  mine.argv.push_back(half1);
  mine.argv.push_back(half2);
  Outcome outcome = finish(launchVia(mine, true));
  EXPECT_EQ(outcome.exitCode(), 0) << outcome.err << outcome.out;
  EXPECT_EQ(outcome.out, "0\n") << "another function's request is readable in this instance's memory";
}

TEST(Zygote, RefusesABadRequestWithTheReasonAndServesOn) {
  ZygoteOptions options;
  options.bootWait = kDeadline;
  Zygote zygote(options);
  const int devNull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  ASSERT_GE(devNull, 0);
  SandboxLayout layout;
  layout.uid = kUid;
  layout.gid = kUid;
  layout.fds = {0, 1, 2, 4};
  std::vector<int> fds = {devNull, devNull, devNull, devNull};
  layout.seccompFd = 4;
  layout.argv = {"/bin/true"};
  MountOp bogus;
  bogus.kind = static_cast<MountOp::Kind>(99);
  bogus.target = "/x";
  layout.mounts = {bogus};
  auto refused = zygote.spawn(layout, fds);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message(), "the Python zygote refused the sandbox: unknown mount operation 99");
  const pid_t first = zygote.pid();
  EXPECT_GT(first, 0);

  layout.mounts.clear();
  layout.seccompFd = -1;
  refused = zygote.spawn(layout, fds);
  EXPECT_EQ(refused.status().message(),
            "the Python zygote refused the sandbox: a sandbox without a seccomp program is refused");

  layout.seccompFd = 4;
  layout.uid = 0;
  refused = zygote.spawn(layout, fds);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message(),
            "the Python zygote refused the sandbox: uid '0' must be a number >= 10000 and not 65534");

  layout.uid = kUid;
  layout.fds = {0};
  fds = {devNull};
  refused = zygote.spawn(layout, fds);
  EXPECT_EQ(refused.status().message(), "the Python zygote refused the sandbox: descriptors 0, 1 and 2 are required");

  layout.seccompFd = 9;
  layout.fds = {0, 1, 2};
  fds = {devNull, devNull, devNull};
  refused = zygote.spawn(layout, fds);
  EXPECT_EQ(refused.status().message(), "the Python zygote refused the sandbox: seccomp descriptor '9' was not sent");

  // What only the zygote checks, beyond decode(): the descriptors that arrived, and its limits.
  layout.seccompFd = 4;
  layout.fds = {0, 1, 2, 4};
  refused = zygote.spawn(layout, fds);
  EXPECT_EQ(refused.status().message(),
            "the Python zygote refused the sandbox: the sandbox names 4 descriptors, but 3 were sent");
  layout.fds = {0, 1, 2, 4, 9};
  fds = {devNull, devNull, devNull, devNull, devNull};
  refused = zygote.spawn(layout, fds);
  EXPECT_EQ(refused.status().message(),
            "the Python zygote refused the sandbox: descriptor 9 is beyond the zygote's 0-8");
  layout.fds = {0, 1, 2, 4};
  fds = {devNull, devNull, devNull, devNull};
  layout.ownNetwork = false;
  refused = zygote.spawn(layout, fds);
  EXPECT_EQ(refused.status().message(),
            "the Python zygote refused the sandbox: a sandbox that joins a prepared network namespace starts by "
            "bubblewrap");
  // Refusing is no failure of the zygote: the same one still serves.
  EXPECT_EQ(zygote.pid(), first);
  ::close(devNull);
}

INSTANTIATE_TEST_SUITE_P(ZygoteOnly, SandboxLauncherZygoteTest, ::testing::Values(true),
                         [](const ::testing::TestParamInfo<bool>&) { return "Zygote"; });

} // namespace
} // namespace surge::engine
