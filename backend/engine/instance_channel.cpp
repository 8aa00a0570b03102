// The channel to one instance: what is not a template of it (the socketpair, the pipes, the
// stderr tail).
#include "engine/instance_channel.h"

#include <absl/strings/str_cat.h>

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace surge::engine {

void appendStderrTail(std::string& tail, std::string_view data) {
  tail.append(data);
  if (tail.size() > kStderrTailBytes) tail.erase(0, tail.size() - kStderrTailBytes);
}

absl::StatusOr<int> InstanceChannel::openSocket() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return absl::InternalError(absl::StrCat("socketpair: ", std::strerror(errno)));
  }
  socket_ = std::make_unique<asio::local::stream_protocol::socket>(io_, asio::local::stream_protocol(), fds[0]);
  return fds[1];
}

void InstanceChannel::adoptPipes(int stdoutFd, int stderrFd) {
  stdoutPipe_ = std::make_unique<asio::posix::stream_descriptor>(io_, stdoutFd);
  stderrPipe_ = std::make_unique<asio::posix::stream_descriptor>(io_, stderrFd);
}

void InstanceChannel::close() {
  socket_.reset();
  stdoutPipe_.reset();
  stderrPipe_.reset();
}

void InstanceChannel::onPipeData(bool isStdout, std::string_view data) {
  if (!isStdout) appendStderrTail(stderrTail_, data);
}

} // namespace surge::engine
