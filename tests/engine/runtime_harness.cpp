// A runtime shim as a child process on a socketpair, driven frame by frame by a test.
#include "engine/runtime_harness.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <absl/strings/str_cat.h>

#include "common/absl_compat.h"

namespace surge::testing {
namespace {

using common::toAbsl;

std::runtime_error systemError(std::string_view what) {
  return std::runtime_error(absl::StrCat(toAbsl(what), ": ", std::strerror(errno)));
}

void closeFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

std::chrono::milliseconds untilDeadline(RuntimeHarness::Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - RuntimeHarness::Clock::now());
  // Round up so a sub-millisecond remainder still polls once instead of spinning.
  return std::max(left + std::chrono::milliseconds(1), std::chrono::milliseconds(0));
}

} // namespace

RuntimeHarness::RuntimeHarness(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) throw systemError("socketpair");
  // dup2 onto fd 3 would be a no-op (leaving close-on-exec set) if the child's end already were
  // fd 3, so move it out of the way.
  const int childEnd = ::fcntl(pair[1], F_DUPFD_CLOEXEC, 10);
  ::close(pair[1]);
  socket_ = pair[0];
  int outPipe[2];
  int errPipe[2];
  if (childEnd < 0 || ::pipe2(outPipe, O_CLOEXEC) != 0 || ::pipe2(errPipe, O_CLOEXEC) != 0) {
    throw systemError("pipe2");
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, outPipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, errPipe[1], STDERR_FILENO);
  posix_spawn_file_actions_adddup2(&actions, childEnd, 3);
  std::vector<std::string> envStrings;
  for (const auto& [key, value] : env) envStrings.push_back(key + "=" + value);
  std::vector<char*> argvPtrs;
  std::vector<std::string> argvCopy = argv;
  for (std::string& arg : argvCopy) argvPtrs.push_back(arg.data());
  argvPtrs.push_back(nullptr);
  std::vector<char*> envPtrs;
  for (std::string& entry : envStrings) envPtrs.push_back(entry.data());
  envPtrs.push_back(nullptr);
  const int rc = ::posix_spawn(&pid_, argvPtrs[0], &actions, nullptr, argvPtrs.data(), envPtrs.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(childEnd);
  ::close(outPipe[1]);
  ::close(errPipe[1]);
  stdout_ = outPipe[0];
  stderr_ = errPipe[0];
  if (rc != 0) {
    pid_ = -1;
    closeFd(socket_);
    closeFd(stdout_);
    closeFd(stderr_);
    throw std::runtime_error(absl::StrCat("cannot start ", argv.at(0), ": ", std::strerror(rc)));
  }
  for (int fd : {socket_, stdout_, stderr_}) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

RuntimeHarness::~RuntimeHarness() {
  if (pid_ > 0 && !exitStatus_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  closeFd(socket_);
  closeFd(stdout_);
  closeFd(stderr_);
}

bool RuntimeHarness::pump(std::chrono::milliseconds timeout, bool wantWrite, int pidFd) {
  std::array<pollfd, 4> fds{};
  size_t count = 0;
  const auto add = [&](int fd, short events) {
    fds[count++] = pollfd{fd, events, 0};
    return count - 1;
  };
  // After end of stream the socket would report POLLHUP forever; leave it out unless writing.
  const short socketEvents = static_cast<short>((socketEof_ ? 0 : POLLIN) | (wantWrite ? POLLOUT : 0));
  const size_t socketIndex = socket_ >= 0 && socketEvents != 0 ? add(socket_, socketEvents) : fds.size();
  if (stdout_ >= 0) add(stdout_, POLLIN);
  if (stderr_ >= 0) add(stderr_, POLLIN);
  if (pidFd >= 0) add(pidFd, POLLIN);
  int ready;
  do {
    ready = ::poll(fds.data(), count, static_cast<int>(std::min<int64_t>(timeout.count(), 1 << 30)));
  } while (ready < 0 && errno == EINTR);
  if (ready <= 0) return false;

  bool writable = false;
  if (socketIndex < count) {
    const short revents = fds[socketIndex].revents;
    if (!socketEof_ && (revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      std::string chunk(256u << 10, '\0');
      const ssize_t n = ::read(socket_, chunk.data(), chunk.size());
      if (n > 0) {
        decoder_.feed(std::string_view(chunk.data(), static_cast<size_t>(n)));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        socketEof_ = true;
      }
    }
    writable = (revents & (POLLOUT | POLLERR | POLLHUP)) != 0;
  }
  drainPipes();
  return writable;
}

void RuntimeHarness::drainPipes() {
  const auto drain = [](int& fd, std::string& into) {
    char chunk[16384];
    while (fd >= 0) {
      const ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n > 0) {
        into.append(chunk, static_cast<size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        closeFd(fd);
      } else if (errno == EAGAIN) {
        return;
      }
    }
  };
  drain(stdout_, stdoutText_);
  drain(stderr_, stderrText_);
}

absl::Status RuntimeHarness::send(const engine::Frame& frame, Clock::time_point deadline) {
  if (socket_ < 0) return absl::FailedPreconditionError("the host end of the socket is closed");
  const std::string wire = engine::encodeFrame(frame);
  size_t offset = 0;
  while (offset < wire.size()) {
    const ssize_t n = ::send(socket_, wire.data() + offset, wire.size() - offset, MSG_NOSIGNAL);
    if (n > 0) {
      offset += static_cast<size_t>(n);
      continue;
    }
    if (errno == EPIPE || errno == ECONNRESET) {
      return absl::UnavailableError(withStderr(absl::StrCat("the runtime closed fd 3 while sending ", frame.type)));
    }
    if (errno != EAGAIN && errno != EINTR) return absl::InternalError(absl::StrCat("send: ", std::strerror(errno)));
    if (Clock::now() >= deadline) {
      return absl::DeadlineExceededError(
          withStderr(absl::StrCat("the runtime did not take ", frame.type, " ", frame.id, " within the deadline (",
                                  offset, " of ", wire.size(), " bytes sent)")));
    }
    pump(untilDeadline(deadline), /*wantWrite=*/true);
  }
  return absl::OkStatus();
}

absl::StatusOr<engine::Frame> RuntimeHarness::next(Clock::time_point deadline) {
  while (true) {
    absl::StatusOr<std::optional<engine::Frame>> frame = decoder_.next();
    if (!frame.ok()) {
      const auto message = frame.status().message();
      return absl::InvalidArgumentError(withStderr(std::string_view(message.data(), message.size())));
    }
    if (frame->has_value()) return std::move(**frame);
    if (socketEof_ || socket_ < 0) {
      return absl::UnavailableError(withStderr("the runtime closed fd 3 before sending another frame"));
    }
    if (Clock::now() >= deadline) {
      return absl::DeadlineExceededError(withStderr("no frame from the runtime within the deadline"));
    }
    pump(untilDeadline(deadline), /*wantWrite=*/false);
  }
}

void RuntimeHarness::closeSocket() { closeFd(socket_); }

std::optional<int> RuntimeHarness::waitForExit(Clock::time_point deadline) {
  if (exitStatus_) return exitStatus_;
  const int pidFd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  if (pidFd < 0) throw systemError("pidfd_open");
  while (true) {
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exitStatus_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (Clock::now() >= deadline) break;
    pump(untilDeadline(deadline), /*wantWrite=*/false, pidFd);
  }
  ::close(pidFd);
  // Whatever the child wrote before exiting is in the pipes now.
  if (exitStatus_) drainPipes();
  return exitStatus_;
}

std::string RuntimeHarness::stdoutText() {
  drainPipes();
  return stdoutText_;
}

std::string RuntimeHarness::stderrText() {
  drainPipes();
  return stderrText_;
}

std::string RuntimeHarness::withStderr(std::string_view message) {
  const std::string err = stderrText();
  if (err.empty()) return std::string(message);
  return absl::StrCat(toAbsl(message), "; the runtime's stderr:\n", err);
}

} // namespace surge::testing
