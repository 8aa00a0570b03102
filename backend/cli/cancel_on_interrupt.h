// Ends a streaming RPC cleanly on Ctrl-C: while a CancelOnInterrupt lives, SIGINT cancels its
// call instead of killing surgectl, so that the command can finish its output and exit 0.
#pragma once

#include <atomic>
#include <csignal>
#include <thread>

namespace grpc {
class ClientContext;
} // namespace grpc

namespace surge::cli {

// Installs a SIGINT handler for its lifetime and restores the previous one in its destructor.
// The handler only writes a byte to a pipe (all a signal handler may safely do); a thread of
// this object reads it and calls `call.TryCancel()`, after which the call's pending Read()
// returns false and Finish() says CANCELLED. At most one may live at a time; `call` must
// outlive it. Not thread-safe apart from interrupted().
class CancelOnInterrupt {
public:
  explicit CancelOnInterrupt(grpc::ClientContext& call);
  ~CancelOnInterrupt();
  CancelOnInterrupt(const CancelOnInterrupt&) = delete;
  CancelOnInterrupt& operator=(const CancelOnInterrupt&) = delete;

  // Whether SIGINT came (and the call was cancelled).
  bool interrupted() const { return interrupted_.load(); }

private:
  int readFd_ = -1;
  int writeFd_ = -1;
  struct sigaction previous_ {};
  std::atomic<bool> interrupted_{false};
  std::thread waiter_;
};

} // namespace surge::cli
