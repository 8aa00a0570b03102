// Runs a runtime shim as a plain child process (no sandbox) with fd 3 one end of a socketpair,
// so tests can speak the runtime protocol (docs/runtime-protocol.md) to it frame by frame.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include "engine/frame_codec.h"

namespace surge::testing {

// Not thread-safe: one test thread drives it. Every wait takes a deadline, so a runtime that
// hangs or dies fails the test with its stderr instead of blocking it.
class RuntimeHarness {
public:
  using Clock = std::chrono::steady_clock;

  // Starts argv (argv[0] an absolute path) with the host's socketpair end as fd 3, stdin from
  // /dev/null, and stdout/stderr into pipes this harness drains. `env` is the child's whole
  // environment, as it would be in a sandbox. Throws std::runtime_error if it cannot start.
  RuntimeHarness(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env);
  // Kills the child with SIGKILL if it is still running, and reaps it.
  ~RuntimeHarness();
  RuntimeHarness(const RuntimeHarness&) = delete;
  RuntimeHarness& operator=(const RuntimeHarness&) = delete;

  // Writes the whole frame. Frames the runtime sends meanwhile are kept for next(), so neither
  // side can block the other with a large frame. DEADLINE_EXCEEDED if the runtime does not take
  // the bytes in time; UNAVAILABLE if it closed its end.
  absl::Status send(const engine::Frame& frame, Clock::time_point deadline);

  // The next frame from the runtime. DEADLINE_EXCEEDED if none completes in time, UNAVAILABLE at
  // end of stream, INVALID_ARGUMENT if the runtime broke the framing. Messages include what the
  // runtime wrote to stderr.
  absl::StatusOr<engine::Frame> next(Clock::time_point deadline);

  // Closes the host's end of the socket: the runtime reads end of stream.
  void closeSocket();

  // Waits for the child to exit: its exit status, 128 + the signal number if a signal killed
  // it, or nullopt if it is still running at the deadline. Keeps draining fd 3 and the pipes
  // meanwhile so that a child blocked on a full buffer can still finish.
  std::optional<int> waitForExit(Clock::time_point deadline);

  // What the child has written to its stdout and stderr so far.
  std::string stdoutText();
  std::string stderrText();

  pid_t pid() const { return pid_; }
  // The host's end of fd 3, for a caller that takes the exchange over after the handshake (it
  // should dup() it: the harness closes its own). Frames the harness has already read are not
  // handed over.
  int socketFd() const { return socket_; }

private:
  // Waits up to `timeout` for any of the descriptors, reads whatever is ready, and (when
  // `wantWrite`) reports whether the socket accepts bytes. Also returns early when the child
  // exits, if `pidFd` >= 0.
  bool pump(std::chrono::milliseconds timeout, bool wantWrite, int pidFd = -1);
  void drainPipes();
  std::string withStderr(std::string_view message);

  pid_t pid_ = -1;
  std::optional<int> exitStatus_;
  int socket_ = -1;
  int stdout_ = -1;
  int stderr_ = -1;
  bool socketEof_ = false;
  engine::FrameDecoder decoder_;
  std::string stdoutText_;
  std::string stderrText_;
};

} // namespace surge::testing
