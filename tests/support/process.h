// Child processes for integration tests: a real surged, and one-shot commands like surgectl.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace surge::testing {

struct CommandResult {
  int exitCode = -1; // -1 if it was killed by a signal or timed out
  std::string out;
  std::string err;
};

// Runs a program to completion (killed after `timeout`), capturing stdout and stderr. `env`
// entries are added to the inherited environment; an empty value unsets the variable.
CommandResult runCommand(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

// A surged child process on a port of the OS's choosing. Its stderr goes to <dataDir>/../surged-<pid>.log
// so that a failing test can show it.
class SurgedProcess {
public:
  // Starts `surged --listen 127.0.0.1:0 --data-dir dataDir extraArgs...` and waits (bounded) for
  // its "listening on" line. Throws std::runtime_error, with the log, if it does not come. With
  // a `workingDir`, surged starts there, and a relative dataDir is relative to it.
  SurgedProcess(const std::filesystem::path& dataDir, std::vector<std::string> extraArgs = {},
                std::map<std::string, std::string> env = {}, const std::filesystem::path& workingDir = {});
  ~SurgedProcess();
  SurgedProcess(const SurgedProcess&) = delete;
  SurgedProcess& operator=(const SurgedProcess&) = delete;

  const std::string& address() const { return address_; }
  // The bootstrap admin token from <dataDir>/admin.key. The constructor also makes it the
  // default key of contextWithDeadline().
  const std::string& adminKey() const { return adminKey_; }
  // The data dir, absolute when it was given relative to a working dir.
  const std::filesystem::path& dataDir() const { return dataDir_; }
  pid_t pid() const { return pid_; }
  // What surged wrote to stderr so far.
  std::string log() const;
  // Waits until the log holds `text`, woken by each write to it (inotify); false at the timeout.
  bool waitForLog(std::string_view text, std::chrono::milliseconds timeout) const;

  // Sends SIGTERM and waits (bounded) for the exit; returns the exit code, or -1.
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // SIGKILL, as a crash would, and reaps the process.
  void kill();
  // Waits (bounded) for the process to end by itself; returns the wait status or nullopt.
  std::optional<int> waitForExit(std::chrono::milliseconds timeout);

private:
  pid_t pid_ = -1;
  std::string address_;
  std::string adminKey_;
  std::filesystem::path dataDir_;
  std::filesystem::path logPath_;
};

// Runs the built surgectl against `surged` with its admin key (found through SURGE_DATA_DIR);
// the caller's SURGE_* variables are not inherited. `env` adds or overrides variables.
CommandResult runSurgectl(const SurgedProcess& surged, const std::vector<std::string>& args,
                          std::map<std::string, std::string> env = {});

// surgectl started in the background against `surged`, with the environment runSurgectl() gives
// it, for what a one-shot run cannot test: a stream that runs until Ctrl-C. Its stdout is read
// into `out`; its stderr is the test's. The destructor kills it if it still runs.
class BackgroundSurgectl {
public:
  BackgroundSurgectl(const SurgedProcess& surged, const std::vector<std::string>& args,
                     std::map<std::string, std::string> env = {});
  ~BackgroundSurgectl();
  BackgroundSurgectl(const BackgroundSurgectl&) = delete;
  BackgroundSurgectl& operator=(const BackgroundSurgectl&) = delete;

  // Reads stdout until it holds `text` or, false, until the timeout or its end.
  bool waitForOutput(std::string_view text, std::chrono::milliseconds timeout);
  // Reads stdout until it holds `count` lines or, false, until the timeout or its end.
  bool waitForLines(long count, std::chrono::milliseconds timeout);
  // Sends SIGINT, reads stdout to its end and returns the exit code (-1: killed by a signal, or
  // no exit before the timeout).
  int interruptAndWait(std::chrono::milliseconds timeout);

  std::string out;

private:
  // false at the end of the output or at the deadline.
  bool readSome(std::chrono::steady_clock::time_point deadline);

  pid_t pid_ = -1;
  int out_ = -1;
};

// The built surged and surgectl binaries.
std::string surgedPath();
std::string surgectlPath();

} // namespace surge::testing
