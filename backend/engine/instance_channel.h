// The channel to one instance: the protocol socket (a queue of frames to write, a reader that
// decodes frames), the stdout and stderr pipes, and the stderr tail kept for crash reports. Lives on the engine's loop thread; nothing in it locks.
#pragma once

#include "engine/engine.h"
#include "engine/frame_codec.h"

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <asio.hpp>

#include <array>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

namespace surge::engine {

// The last `kStderrTailBytes` a process wrote to stderr: the trace of a crash report.
inline constexpr size_t kStderrTailBytes = 4096;
void appendStderrTail(std::string& tail, std::string_view data);

// The socket and pipes of one instance. The asynchronous operations take a `Handler`, a small
// object that holds what keeps the instance (and so this channel) alive until every completion
// has run, and receives what arrives:
//   void onFrame(Frame&& frame);                  // each decoded frame, in order
//   void onBroken(const absl::Status& status);    // bytes that are not a frame: reading stops
//   void onOutput(bool isStdout, std::string_view data); // what the process wrote to a pipe
// Templates, so that a frame costs no indirect call and no copy of the handler.
class InstanceChannel {
public:
  explicit InstanceChannel(asio::io_context& io) : io_(io) {}

  // Makes the protocol socketpair; returns the sandbox's end, which the caller closes once the
  // sandbox has it.
  absl::StatusOr<int> openSocket();
  // Takes the process's stdout and stderr pipes (non-blocking descriptors).
  void adoptPipes(int stdoutFd, int stderrFd);
  // Closes the socket and the pipes: pending operations end with an error, and no handler runs
  // for them.
  void close();

  // Queues `frame`; frames go out in order, one write at a time. A failed write drops the queue:
  // the process exit path reports what happened.
  template <typename Owner> void send(const Frame& frame, const Owner& owner);

  // Reads frames until EOF, an error or a broken frame.
  template <typename Handler> void readFrames(Handler handler);
  // Reads both pipes until EOF: stderr into stderrTail(), both into handler.onOutput().
  template <typename Handler> void readPipes(const Handler& handler);
  // Reads what is already in the pipes (they are non-blocking), as readPipes() would, but hands
  // the output to `sink(bool isStdout, std::string_view)`.
  template <typename Sink> void drainPipes(Sink&& sink);

  const std::string& stderrTail() const { return stderrTail_; }

private:
  template <typename Owner> void writeNext(Owner owner);
  template <typename Handler> void readPipe(bool isStdout, Handler handler);
  void onPipeData(bool isStdout, std::string_view data);

  asio::io_context& io_;
  std::unique_ptr<asio::local::stream_protocol::socket> socket_;
  std::unique_ptr<asio::posix::stream_descriptor> stdoutPipe_, stderrPipe_;
  std::array<char, 65536> socketBuffer_{}, stdoutBuffer_{}, stderrBuffer_{};
  FrameDecoder decoder_;
  // Encoded frames; the front one is being written while the queue is not empty.
  std::deque<std::string> writes_;
  std::string stderrTail_;
};

template <typename Owner> void InstanceChannel::send(const Frame& frame, const Owner& owner) {
  writes_.push_back(encodeFrame(frame));
  if (writes_.size() == 1) writeNext(owner);
}

template <typename Owner> void InstanceChannel::writeNext(Owner owner) {
  if (writes_.empty()) return;
  if (!socket_) {
    writes_.clear();
    return;
  }
  asio::async_write(*socket_, asio::buffer(writes_.front()),
                    [this, owner = std::move(owner)](const asio::error_code& ec, size_t) mutable {
                      writes_.pop_front();
                      if (ec) {
                        writes_.clear();
                        return; // the process exit path reports what happened
                      }
                      writeNext(std::move(owner));
                    });
}

template <typename Handler> void InstanceChannel::readFrames(Handler handler) {
  if (!socket_) return;
  socket_->async_read_some(asio::buffer(socketBuffer_),
                           [this, handler = std::move(handler)](const asio::error_code& ec, size_t n) mutable {
                             if (ec) return; // EOF: the process is ending; its exit is handled by the pidfd
                             decoder_.feed(std::string_view(socketBuffer_.data(), n));
                             while (true) {
                               auto frame = decoder_.next();
                               if (!frame.ok()) return handler.onBroken(frame.status());
                               if (!frame->has_value()) break;
                               handler.onFrame(std::move(**frame));
                             }
                             readFrames(std::move(handler));
                           });
}

template <typename Handler> void InstanceChannel::readPipes(const Handler& handler) {
  readPipe(true, handler);
  readPipe(false, handler);
}

template <typename Handler> void InstanceChannel::readPipe(bool isStdout, Handler handler) {
  auto& pipe = isStdout ? stdoutPipe_ : stderrPipe_;
  if (!pipe) return;
  auto& buffer = isStdout ? stdoutBuffer_ : stderrBuffer_;
  pipe->async_read_some(asio::buffer(buffer),
                        [this, isStdout, handler = std::move(handler)](const asio::error_code& ec, size_t n) mutable {
                          if (ec) return;
                          const std::string_view data((isStdout ? stdoutBuffer_ : stderrBuffer_).data(), n);
                          onPipeData(isStdout, data);
                          handler.onOutput(isStdout, data);
                          readPipe(isStdout, std::move(handler));
                        });
}

template <typename Sink> void InstanceChannel::drainPipes(Sink&& sink) {
  for (bool isStdout : {true, false}) {
    auto& pipe = isStdout ? stdoutPipe_ : stderrPipe_;
    if (!pipe) continue;
    char buffer[65536];
    while (true) {
      const ssize_t n = ::read(pipe->native_handle(), buffer, sizeof(buffer));
      if (n <= 0) break;
      const std::string_view data(buffer, static_cast<size_t>(n));
      onPipeData(isStdout, data);
      sink(isStdout, data);
    }
  }
}

} // namespace surge::engine
