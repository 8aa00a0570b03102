// Child processes for integration tests.
#include "support/process.h"

#include "support/client.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace surge::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> mergedEnvironment(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    const size_t eq = entry.find('=');
    if (eq != std::string::npos) merged[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [key, value] : extra) {
    if (value.empty()) {
      merged.erase(key);
    } else {
      merged[key] = value;
    }
  }
  std::vector<std::string> result;
  for (const auto& [key, value] : merged) result.push_back(key + "=" + value);
  return result;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> result;
  for (auto& s : strings) result.push_back(s.data());
  result.push_back(nullptr);
  return result;
}

// Spawns argv with stdout/stderr redirected to the given fds (or inherited when -1).
pid_t spawn(std::vector<std::string> argv, const std::map<std::string, std::string>& env, int outFd, int errFd,
            const std::filesystem::path& workingDir = {}) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!workingDir.empty()) posix_spawn_file_actions_addchdir_np(&actions, workingDir.c_str());
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (outFd >= 0) posix_spawn_file_actions_adddup2(&actions, outFd, STDOUT_FILENO);
  if (errFd >= 0) posix_spawn_file_actions_adddup2(&actions, errFd, STDERR_FILENO);
  std::vector<std::string> envStrings = mergedEnvironment(env);
  auto argvPtrs = pointers(argv);
  auto envPtrs = pointers(envStrings);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argvPtrs[0], &actions, nullptr, argvPtrs.data(), envPtrs.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

// Waits for the child's exit with a deadline: a pidfd becomes readable when the process ends.
std::optional<int> waitPid(pid_t pid, std::chrono::milliseconds timeout) {
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    pollfd fd{pidfd, POLLIN, 0};
    int rc;
    do {
      rc = ::poll(&fd, 1, static_cast<int>(timeout.count()));
    } while (rc < 0 && errno == EINTR);
    ::close(pidfd);
    if (rc == 0) return std::nullopt;
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return std::nullopt;
  return status;
}

// surgectl's command line and environment for talking to `surged` with its admin key: the
// caller's SURGE_* variables are unset unless `env` sets them.
std::vector<std::string> surgectlArgv(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {surgectlPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::map<std::string, std::string> surgectlEnvironment(const SurgedProcess& surged,
                                                       std::map<std::string, std::string> env) {
  env.try_emplace("SURGE_SERVER", surged.address());
  env.try_emplace("SURGE_DATA_DIR", surged.dataDir().string());
  for (const char* name : {"SURGE_NAMESPACE", "SURGE_API_KEY", "SURGE_TLS_CA", "SURGE_TLS_CERT", "SURGE_TLS_KEY"}) {
    env.try_emplace(name, "");
  }
  return env;
}

} // namespace

CommandResult runSurgectl(const SurgedProcess& surged, const std::vector<std::string>& args,
                          std::map<std::string, std::string> env) {
  return runCommand(surgectlArgv(args), surgectlEnvironment(surged, std::move(env)));
}

BackgroundSurgectl::BackgroundSurgectl(const SurgedProcess& surged, const std::vector<std::string>& args,
                                       std::map<std::string, std::string> env) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  out_ = fds[0];
  try {
    pid_ = spawn(surgectlArgv(args), surgectlEnvironment(surged, std::move(env)), fds[1], -1);
  } catch (...) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw;
  }
  ::close(fds[1]);
}

BackgroundSurgectl::~BackgroundSurgectl() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  ::close(out_);
}

bool BackgroundSurgectl::waitForOutput(std::string_view text, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (out.find(text) == std::string::npos) {
    if (!readSome(deadline)) return false;
  }
  return true;
}

bool BackgroundSurgectl::waitForLines(long count, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (std::count(out.begin(), out.end(), '\n') < count) {
    if (!readSome(deadline)) return false;
  }
  return true;
}

int BackgroundSurgectl::interruptAndWait(std::chrono::milliseconds timeout) {
  ::kill(pid_, SIGINT);
  const auto deadline = Clock::now() + timeout;
  while (readSome(deadline)) {
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return -1;
  const std::optional<int> status = waitPid(pid_, left);
  if (!status) return -1;
  pid_ = -1;
  return WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
}

bool BackgroundSurgectl::readSome(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return false;
  pollfd fd{out_, POLLIN, 0};
  if (::poll(&fd, 1, static_cast<int>(left)) <= 0) return false;
  char buffer[4096];
  const ssize_t n = ::read(out_, buffer, sizeof(buffer));
  if (n <= 0) return false;
  out.append(buffer, static_cast<size_t>(n));
  return true;
}

std::string surgedPath() { return SURGE_SURGED_PATH; }
std::string surgectlPath() { return SURGE_SURGECTL_PATH; }

CommandResult runCommand(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                         std::chrono::milliseconds timeout) {
  int outPipe[2], errPipe[2];
  if (::pipe2(outPipe, O_CLOEXEC) != 0 || ::pipe2(errPipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = spawn(argv, env, outPipe[1], errPipe[1]);
  ::close(outPipe[1]);
  ::close(errPipe[1]);

  CommandResult result;
  const auto deadline = Clock::now() + timeout;
  pollfd fds[2] = {{outPipe[0], POLLIN, 0}, {errPipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open = 2;
  bool timedOut = false;
  while (open > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timedOut = true;
      break;
    }
    if (::poll(fds, 2, static_cast<int>(left)) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buffer[65536];
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof(buffer));
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      }
    }
  }
  for (auto& fd : fds) {
    if (fd.fd >= 0) ::close(fd.fd);
  }
  if (timedOut) ::kill(pid, SIGKILL);
  const auto status = waitPid(pid, timedOut ? std::chrono::seconds(10) : timeout);
  if (!timedOut && status && WIFEXITED(*status)) result.exitCode = WEXITSTATUS(*status);
  return result;
}

SurgedProcess::SurgedProcess(const std::filesystem::path& givenDataDir, std::vector<std::string> extraArgs,
                             std::map<std::string, std::string> env, const std::filesystem::path& workingDir) {
  std::vector<std::string> argv = {surgedPath(), "--listen", "127.0.0.1:0", "--data-dir", givenDataDir.string()};
  const std::filesystem::path dataDir = workingDir.empty() ? givenDataDir : workingDir / givenDataDir;
  argv.insert(argv.end(), extraArgs.begin(), extraArgs.end());
  int outPipe[2];
  if (::pipe2(outPipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  std::filesystem::create_directories(dataDir.parent_path());
  logPath_ = dataDir.parent_path() / ("surged-" + std::to_string(::getpid()) + "-" +
                                      std::to_string(Clock::now().time_since_epoch().count()) + ".log");
  const int logFd = ::open(logPath_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  pid_ = spawn(argv, env, outPipe[1], logFd, workingDir);
  ::close(outPipe[1]);
  ::close(logFd);

  // Read the first line, bounded in time: "listening on HOST:PORT".
  std::string line;
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  pollfd fd{outPipe[0], POLLIN, 0};
  while (line.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0 || ::poll(&fd, 1, static_cast<int>(left)) <= 0) break;
    char buffer[256];
    const ssize_t n = ::read(outPipe[0], buffer, sizeof(buffer));
    if (n <= 0) break;
    line.append(buffer, static_cast<size_t>(n));
  }
  ::close(outPipe[0]); // surged prints nothing else to stdout
  const std::string prefix = "listening on ";
  if (line.rfind(prefix, 0) != 0 || line.find('\n') == std::string::npos) {
    kill();
    throw std::runtime_error("surged did not start; its output: '" + line + "', its log:\n" + log());
  }
  address_ = line.substr(prefix.size(), line.find('\n') - prefix.size());
  dataDir_ = dataDir;
  std::ifstream keyFile(dataDir / "admin.key");
  std::getline(keyFile, adminKey_);
  if (!adminKey_.empty()) setDefaultApiKey(adminKey_);
}

SurgedProcess::~SurgedProcess() {
  if (pid_ > 0) stop();
}

std::string SurgedProcess::log() const {
  std::ifstream in(logPath_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool SurgedProcess::waitForLog(std::string_view text, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const int watch = ::inotify_init1(IN_CLOEXEC);
  if (watch < 0 || ::inotify_add_watch(watch, logPath_.c_str(), IN_MODIFY) < 0) {
    if (watch >= 0) ::close(watch);
    throw std::runtime_error(std::string("cannot watch surged's log: ") + std::strerror(errno));
  }
  bool found = false;
  // Watched first, read second: a write between the two still wakes the next poll.
  while (!(found = log().find(text) != std::string::npos)) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd events{watch, POLLIN, 0};
    if (::poll(&events, 1, static_cast<int>(left.count())) > 0) {
      char buffer[4096];
      while (::read(watch, buffer, sizeof(buffer)) < 0 && errno == EINTR) {
      }
    }
  }
  ::close(watch);
  return found;
}

int SurgedProcess::stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  auto status = waitPid(pid_, timeout);
  if (!status) {
    ::kill(pid_, SIGKILL);
    waitPid(pid_, std::chrono::seconds(10));
  }
  pid_ = -1;
  return status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
}

void SurgedProcess::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  waitPid(pid_, std::chrono::seconds(10));
  pid_ = -1;
}

std::optional<int> SurgedProcess::waitForExit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  auto status = waitPid(pid_, timeout);
  if (status) pid_ = -1;
  return status;
}

} // namespace surge::testing
