// The fixture of the runtime shim tests (python_runtime_test, nodejs_runtime_test): each test
// writes a function's code to a temp dir, starts the shim on a socketpair without a sandbox and
// speaks the runtime protocol (docs/runtime-protocol.md) to it.
#pragma once

#include "engine/frame_codec.h"
#include "engine/make_frame.h"
#include "engine/runtime_harness.h"
#include "support/temp_dir.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace surge::engine {

namespace fs = std::filesystem;
using surge::testing::RuntimeHarness;
using surge::testing::TempDir;
using Clock = RuntimeHarness::Clock;

// Generous: these machines are noisy. Tests wait for conditions, never for time to pass.
constexpr auto kWait = std::chrono::seconds(30);

inline Clock::time_point deadline() { return Clock::now() + kWait; }

struct FunctionSetup {
  std::string handler = "index.handler";
  std::string initializer;
  int concurrency = 1;
  int memoryMb = 256;
  int timeoutMs = 10000;
  std::map<std::string, std::string> env;
};

// A reply frame (RESULT, ERROR, READY, INITERROR) with the LOG frames that came before it.
struct Reply {
  Frame frame;
  std::vector<Frame> logs;

  // The text of the LOG frames tagged `id`, concatenated.
  std::string logText(std::string_view id) const {
    std::string text;
    for (const Frame& log : logs) {
      if (log.id == id) text += log.body;
    }
    return text;
  }
};

// The lines of an ERROR or INITERROR body: type, message, and the trace as one string.
struct ErrorBody {
  std::string type;
  std::string message;
  std::string trace;
};

inline ErrorBody parseError(const std::string& body) {
  ErrorBody error;
  const size_t first = body.find('\n');
  error.type = body.substr(0, first);
  if (first == std::string::npos) return error;
  const size_t second = body.find('\n', first + 1);
  error.message = body.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
  if (second != std::string::npos) error.trace = body.substr(second + 1);
  return error;
}

// A runtime shim run by `argv` with the whole environment `environment`, as in a sandbox.
class ShimTest : public ::testing::Test {
protected:
  ShimTest(std::vector<std::string> argv, std::map<std::string, std::string> environment)
      : argv_(std::move(argv)), environment_(std::move(environment)) {
    fs::create_directories(codeDir());
  }

  fs::path codeDir() const { return dir_.path() / "code"; }
  const std::vector<std::string>& runtimeArgv() const { return argv_; }

  void writeCode(const std::string& file, std::string_view source) {
    fs::create_directories((codeDir() / file).parent_path());
    std::ofstream out(codeDir() / file, std::ios::binary | std::ios::trunc);
    out.write(source.data(), static_cast<std::streamsize>(source.size()));
  }

  // Starts the runtime and sends INIT for `setup`.
  std::unique_ptr<RuntimeHarness> start(const FunctionSetup& setup) {
    auto runtime = std::make_unique<RuntimeHarness>(argv_, environment_);
    std::string init = "handler=" + setup.handler + "\ninitializer=" + setup.initializer +
                       "\ninitializer_timeout_ms=20000\nfunction=shop/checkout\nversion=7\nmemory_mb=" +
                       std::to_string(setup.memoryMb) + "\ntimeout_ms=" + std::to_string(setup.timeoutMs) +
                       "\nconcurrency=" + std::to_string(setup.concurrency) + "\ncode_dir=" + codeDir().string() + "\n";
    for (const auto& [name, value] : setup.env) init += "env." + name + "=" + value + "\n";
    // A runtime announces that it has loaded before it is given a function.
    const absl::StatusOr<Frame> loaded = runtime->next(deadline());
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    if (loaded.ok()) {
      EXPECT_EQ(loaded->type, "LOADED");
      EXPECT_EQ(loaded->id, "-");
      EXPECT_EQ(loaded->body, "");
    }
    const absl::Status sent = runtime->send(makeFrame("INIT", "-", init), deadline());
    EXPECT_TRUE(sent.ok()) << sent;
    return runtime;
  }

  // Starts the runtime and waits for READY; the test fails if something else comes.
  std::unique_ptr<RuntimeHarness> startReady(const FunctionSetup& setup, std::vector<Frame>* logs = nullptr) {
    auto runtime = start(setup);
    absl::StatusOr<Reply> ready = nextReply(*runtime);
    EXPECT_TRUE(ready.ok()) << ready.status();
    if (ready.ok()) {
      EXPECT_EQ(ready->frame.type, "READY") << ready->frame.body;
      if (logs != nullptr) *logs = ready->logs;
    }
    return runtime;
  }

  // The next frame that is not a LOG, with the LOG frames before it.
  static absl::StatusOr<Reply> nextReply(RuntimeHarness& runtime) {
    Reply reply;
    while (true) {
      absl::StatusOr<Frame> frame = runtime.next(deadline());
      if (!frame.ok()) return frame.status();
      if (frame->type != "LOG") {
        reply.frame = std::move(*frame);
        return reply;
      }
      reply.logs.push_back(std::move(*frame));
    }
  }

  // Sends one INVOKE and returns its reply.
  static absl::StatusOr<Reply> invoke(RuntimeHarness& runtime, const std::string& id, std::string payload,
                                      int remainingMs = 5000) {
    absl::Status sent =
        runtime.send(makeFrame("INVOKE", id, std::move(payload), {std::to_string(remainingMs)}), deadline());
    if (!sent.ok()) return sent;
    absl::StatusOr<Reply> reply = nextReply(runtime);
    if (reply.ok() && reply->frame.id != id) {
      return absl::InternalError("reply for '" + reply->frame.id + "' instead of '" + id + "'");
    }
    return reply;
  }

  // Starts the runtime expecting INITERROR, and checks that it then exits 1.
  ErrorBody initError(const FunctionSetup& setup, Reply* reply = nullptr) {
    auto runtime = start(setup);
    absl::StatusOr<Reply> received = nextReply(*runtime);
    EXPECT_TRUE(received.ok()) << received.status();
    if (!received.ok()) return {};
    EXPECT_EQ(received->frame.type, "INITERROR");
    EXPECT_EQ(received->frame.id, "-");
    EXPECT_EQ(runtime->waitForExit(deadline()), 1);
    if (reply != nullptr) *reply = *received;
    return parseError(received->frame.body);
  }

  TempDir dir_;

private:
  const std::vector<std::string> argv_;
  const std::map<std::string, std::string> environment_;
};

// A handler that says "started" and then blocks until the test writes to a FIFO, so that the
// test controls exactly when it finishes. The runtime's fixture writes that handler in its
// language, reading one byte from the FIFO named by $RELEASE_FIFO (setup_.env).
template <class RuntimeTest> class BlockingHandlerFixture : public RuntimeTest {
protected:
  BlockingHandlerFixture() {
    fifo_ = this->dir_.path() / "release";
    EXPECT_EQ(::mkfifo(fifo_.c_str(), 0600), 0);
    setup_.env = {{"RELEASE_FIFO", fifo_.string()}};
  }

  // Sends INVOKE `id` and waits until its handler is running.
  void startBlockedRequest(RuntimeHarness& runtime, const std::string& id) {
    ASSERT_TRUE(runtime.send(makeFrame("INVOKE", id, "", {"25000"}), deadline()).ok());
    absl::StatusOr<Frame> started = runtime.next(deadline());
    ASSERT_TRUE(started.ok()) << started.status();
    EXPECT_EQ(started->type, "LOG");
    EXPECT_EQ(started->id, id);
    EXPECT_EQ(started->body, "started\n");
  }

  void release() {
    // The handler holds the FIFO open, so a non-blocking open for writing succeeds at once.
    const int fd = ::open(fifo_.c_str(), O_WRONLY | O_NONBLOCK);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(::write(fd, "x", 1), 1);
    ::close(fd);
  }

  // The cases every runtime shares.
  void expectStopWaitsForTheInFlightRequestThenExitsZero() {
    auto runtime = this->startReady(setup_);
    startBlockedRequest(*runtime, "r1");
    ASSERT_TRUE(runtime->send(makeFrame("STOP", "-"), deadline()).ok());
    // Had STOP ended the process, the result below would never come.
    release();
    absl::StatusOr<Reply> reply = this->nextReply(*runtime);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->frame.type, "RESULT");
    EXPECT_EQ(reply->frame.id, "r1");
    EXPECT_EQ(reply->frame.body, "finished");
    EXPECT_EQ(runtime->waitForExit(deadline()), 0);
    EXPECT_EQ(runtime->stderrText(), "");
  }

  void expectCancelIsIgnoredAndTheRequestStillCompletes() {
    auto runtime = this->startReady(setup_);
    startBlockedRequest(*runtime, "r1");
    ASSERT_TRUE(runtime->send(makeFrame("CANCEL", "r1"), deadline()).ok());
    release();
    absl::StatusOr<Reply> reply = this->nextReply(*runtime);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->frame.type, "RESULT");
    EXPECT_EQ(reply->frame.body, "finished");
  }

  fs::path fifo_;
  FunctionSetup setup_;
};

} // namespace surge::engine
