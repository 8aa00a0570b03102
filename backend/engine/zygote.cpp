// The engine's side of the Python zygote: a fork+exec'd helper with a clean environment, spoken
// to over a SOCK_SEQPACKET socketpair, replaced when it dies or has forked its budget.
#include "engine/zygote.h"

#include "common/unique_fd.h"
#include "engine/child_signals.h"

#include <absl/strings/str_cat.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace surge::engine {
namespace {

using sandbox::kZygoteControlFd;
using sandbox::kZygoteShimFd;

// A zygote answers a request within microseconds; one silent this long is stuck.
constexpr int kReplyTimeoutMs = 5000;

} // namespace

Zygote::Zygote(ZygoteOptions options) : options_(std::move(options)) {}

Zygote::~Zygote() {
  for (Process* process : {&current_, &next_}) retire(*process, true);
  for (pid_t pid : retired_) {
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

void Zygote::warmUp() {
  reapRetired();
  if (current_.pid < 0 && std::chrono::steady_clock::now() >= retryAfter_) current_ = start();
}

Zygote::Process Zygote::start() {
  Process process;
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
    spdlog::warn("cannot start the Python zygote: socketpair: {}", std::strerror(errno));
    return process;
  }
  common::UniqueFd ours(fds[0]);
  const common::UniqueFd theirs(fds[1]);
  const common::UniqueFd devNull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  const common::UniqueFd shim(::open(options_.shimSource.c_str(), O_RDONLY | O_CLOEXEC));
  // The argv of a direct start's interpreter: the children's /proc/self/cmdline shows it.
  std::vector<std::string> args = {sandbox::kPython, "-S", options_.shimInside};
  const std::string program = options_.program.string();
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  // A clean environment: the zygote holds nothing of the daemon's.
  char lang[] = "LANG=C.UTF-8";
  char* env[] = {lang, nullptr};
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Async-signal-safe calls only: the daemon is multi-threaded.
    restoreDefaultSignals();
    const int control = ::fcntl(theirs.get(), F_DUPFD, 10);
    const int source = shim.valid() ? ::fcntl(shim.get(), F_DUPFD, 10) : -1;
    if (control < 0 || source < 0 || !devNull.valid() || ::dup2(devNull.get(), 0) != 0 ||
        ::dup2(devNull.get(), 1) != 1 || ::dup2(control, kZygoteControlFd) != kZygoteControlFd ||
        ::dup2(source, kZygoteShimFd) != kZygoteShimFd)
      ::_exit(127);
    // stderr stays the daemon's: a zygote that cannot load says why in the daemon's log.
    ::syscall(SYS_close_range, kZygoteShimFd + 1, ~0U, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (::getppid() != parent) ::_exit(127);
    ::execve(program.c_str(), argv.data(), env);
    ::_exit(127);
  }
  if (pid < 0) {
    spdlog::warn("cannot start the Python zygote: fork: {}", std::strerror(errno));
    return process;
  }
  process.pid = pid;
  process.control = ours.release();
  return process;
}

bool Zygote::awaitReady(Process& process, std::chrono::milliseconds wait) {
  if (process.ready) return true;
  if (process.control < 0) return false;
  pollfd pfd{process.control, POLLIN, 0};
  int rc;
  do {
    rc = ::poll(&pfd, 1, static_cast<int>(wait.count()));
  } while (rc < 0 && errno == EINTR);
  if (rc <= 0) return false;
  char hello[16];
  const ssize_t n = ::recv(process.control, hello, sizeof(hello), MSG_DONTWAIT);
  if (n == 5 && std::memcmp(hello, "READY", 5) == 0) {
    process.ready = true;
    return true;
  }
  spdlog::warn("the Python zygote (pid {}) exited while loading; starts use bubblewrap for {} ms", process.pid,
               options_.loadFailureBackoff.count());
  retryAfter_ = std::chrono::steady_clock::now() + options_.loadFailureBackoff;
  retire(process, true);
  return false;
}

void Zygote::retire(Process& process, bool kill) {
  if (process.pid < 0) return;
  if (process.control >= 0) ::close(process.control); // end of stream: the zygote exits
  if (kill) ::kill(process.pid, SIGKILL);
  retired_.push_back(process.pid);
  process = Process{};
}

void Zygote::reapRetired() {
  std::erase_if(retired_, [](pid_t pid) { return ::waitpid(pid, nullptr, WNOHANG) != 0; });
}

absl::StatusOr<pid_t> Zygote::spawn(const SandboxLayout& layout, const std::vector<int>& fds) {
  // Encoded before anything else: a layout too large for the zygote is the caller's error, not
  // the zygote's, and must not cost a zygote.
  std::string payload = encode(layout);
  if (payload.size() > kMaxEncodedLayout) {
    return absl::InvalidArgumentError(absl::StrCat("the sandbox request is too large for the zygote: ", payload.size(),
                                                   " bytes, at most ", kMaxEncodedLayout));
  }
  reapRetired();
  if (current_.pid < 0 && std::chrono::steady_clock::now() < retryAfter_)
    return absl::UnavailableError("the Python zygote failed to load recently");
  if (current_.pid < 0) current_ = start();
  if (current_.pid < 0) return absl::UnavailableError("the Python zygote cannot be started");
  // A zygote still loading is worth waiting for once (it loads in tens of milliseconds, and a
  // bubblewrap start costs as much); after that, starts go by bubblewrap until it is ready.
  if (!current_.ready && !awaitReady(current_, current_.waited ? std::chrono::milliseconds(0) : options_.bootWait)) {
    current_.waited = true;
    return absl::UnavailableError("the Python zygote is not ready");
  }
  // Replacement: prepared from half the budget on, taken once ready; at twice the budget the
  // old one serves no more.
  const int budget = std::max(1, options_.forksPerZygote);
  if (current_.forks >= budget / 2 && next_.pid < 0 && std::chrono::steady_clock::now() >= retryAfter_) {
    next_ = start();
  }
  if (current_.forks >= budget &&
      awaitReady(next_, current_.forks >= 2 * budget ? options_.bootWait : std::chrono::milliseconds(0))) {
    retire(current_, false);
    current_ = next_;
    next_ = Process{};
  }

  iovec iov{payload.data(), payload.size()};
  std::vector<char> controlBuffer(CMSG_SPACE(sizeof(int) * std::max<size_t>(fds.size(), 1)));
  msghdr message{};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  if (!fds.empty()) {
    message.msg_control = controlBuffer.data();
    message.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&message);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  auto lost = [&](const std::string& what) {
    spdlog::warn("the Python zygote (pid {}) {}; this start uses bubblewrap, and a new zygote loads", current_.pid,
                 what);
    retire(current_, true);
    current_ = start();
    return absl::UnavailableError(absl::StrCat("the Python zygote ", what));
  };
  ssize_t sent;
  do {
    sent = ::sendmsg(current_.control, &message, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    if (errno == EMSGSIZE) return absl::InvalidArgumentError("the sandbox request is too large for the zygote");
    return lost(absl::StrCat("is gone (", std::strerror(errno), ")"));
  }
  pollfd pfd{current_.control, POLLIN, 0};
  int rc;
  do {
    rc = ::poll(&pfd, 1, kReplyTimeoutMs);
  } while (rc < 0 && errno == EINTR);
  if (rc <= 0) return lost("did not answer");
  char answer[4096];
  const ssize_t n = ::recv(current_.control, answer, sizeof(answer), 0);
  if (n <= 0) return lost("exited before answering");
  const std::string text(answer, static_cast<size_t>(n));
  if (text.rfind("OK ", 0) == 0) {
    ++current_.forks;
    return static_cast<pid_t>(std::stol(text.substr(3)));
  }
  // "REFUSED <pid> <reason>": the sandbox's first process read the request, refused it and
  // exited; it is our child (CLONE_PARENT), so reap it.
  if (text.rfind("REFUSED ", 0) == 0) {
    const size_t space = text.find(' ', 8);
    const pid_t refused = static_cast<pid_t>(std::stol(text.substr(8, space - 8)));
    while (::waitpid(refused, nullptr, 0) < 0 && errno == EINTR) {
    }
    ++current_.forks;
    return absl::InvalidArgumentError(absl::StrCat("the Python zygote refused the sandbox: ",
                                                   space == std::string::npos ? "" : text.substr(space + 1)));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("the Python zygote refused the sandbox: ", text.rfind("ERR ", 0) == 0 ? text.substr(4) : text));
}

} // namespace surge::engine
