// The channel to one instance: what is not a template of it (the socketpair, the pipes, the
// stderr tail) and the per-request log capture.
#include "engine/instance_channel.h"

#include <absl/strings/str_cat.h>

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace surge::engine {

void RequestLog::append(std::string_view data) {
  if (truncated_) return;
  const size_t room = kMaxRequestLogBytes - text_.size();
  if (data.size() <= room) {
    text_.append(data);
  } else {
    text_.append(data.substr(0, room));
    truncated_ = true;
  }
}

void RequestLog::finishInto(InvokeResult& result) {
  result.logs = std::move(text_);
  result.logsTruncated = truncated_;
  if (result.logsTruncated) result.logs.append(kLogTruncatedMarker);
  text_.clear();
  truncated_ = false;
}

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
