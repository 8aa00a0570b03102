// SIGINT to a cancelled call, through a self-pipe.
#include "cli/cancel_on_interrupt.h"

#include <cerrno>

#include <fcntl.h>
#include <unistd.h>

#include <grpcpp/client_context.h>

namespace surge::cli {
namespace {

constexpr char kInterrupt = 'i';
constexpr char kQuit = 'q';

// The write end of the live guard's pipe; -1 when there is none.
std::atomic<int> signalFd{-1};

void onInterrupt(int) {
  const int saved = errno; // the interrupted code may be reading errno
  const int fd = signalFd.load();
  if (fd >= 0) {
    // A full pipe already holds a wake-up.
    const ssize_t written = ::write(fd, &kInterrupt, 1);
    static_cast<void>(written);
  }
  errno = saved;
}

// A full pipe is no loss: a byte already waits to be read.
void writeByte(int fd, char byte) {
  while (::write(fd, &byte, 1) < 0 && errno == EINTR) {
  }
}

} // namespace

CancelOnInterrupt::CancelOnInterrupt(grpc::ClientContext& call) {
  int fds[2];
  // Without a pipe, Ctrl-C keeps its default: it ends surgectl at once, which is still correct.
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return;
  readFd_ = fds[0];
  writeFd_ = fds[1];
  // The reading end blocks; only the handler's end must never block.
  ::fcntl(readFd_, F_SETFL, 0);
  waiter_ = std::thread([this, &call] {
    char byte = 0;
    while (::read(readFd_, &byte, 1) < 0 && errno == EINTR) {
    }
    if (byte == kInterrupt) {
      interrupted_.store(true);
      call.TryCancel();
    }
  });
  signalFd.store(writeFd_);
  struct sigaction action {};
  action.sa_handler = &onInterrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &action, &previous_);
}

CancelOnInterrupt::~CancelOnInterrupt() {
  if (readFd_ < 0) return;
  ::sigaction(SIGINT, &previous_, nullptr);
  signalFd.store(-1);
  writeByte(writeFd_, kQuit);
  waiter_.join();
  ::close(readFd_);
  ::close(writeFd_);
}

} // namespace surge::cli
