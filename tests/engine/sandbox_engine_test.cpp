// SandboxEngine with real sandboxes and the Python runtime: outcomes, logs, limits, hostile
// functions, and completions on the caller's thread.
#include "engine/sandbox_engine.h"

#include "common/mutex.h"
#include "engine/sandbox_launcher.h"
#include "engine_fixture.h"
#include "support/temp_dir.h"

#include <asio/io_context.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>
#include <utility>

extern char** environ;

namespace surge::engine {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using namespace std::chrono_literals;

class SandboxEngineTest : public EngineFixture<::testing::Test> {
protected:
  // Writes `files` as a function's code and returns an InstanceSpec for it.
  InstanceSpec function(const std::map<std::string, std::string>& files, const std::string& handler = "index.handler") {
    const fs::path code = dir_.path() / ("code-" + std::to_string(++functions_));
    fs::create_directories(code);
    for (const auto& [name, content] : files) std::ofstream(code / name) << content;
    InstanceSpec spec;
    spec.function = "default/test-" + std::to_string(functions_);
    spec.functionId = functions_;
    spec.version = 1;
    spec.codeDir = code;
    spec.handler = handler;
    spec.timeout = absl::Seconds(10);
    return spec;
  }
};

TEST_F(SandboxEngineTest, ThePythonSampleServesThroughTheEngine) {
  InstanceSpec spec = function({});
  spec.codeDir = fs::path(SURGE_SOURCE_DIR) / "resources/samples/hello-python";
  const InstanceId id = startReady(spec);
  auto result = call(id, "Surge");
  ASSERT_TRUE(result.completed()) << result;
  EXPECT_FALSE(result->error.has_value()) << result->error->message << result->error->trace;
  EXPECT_EQ(result->output, "hello, Surge!");
  EXPECT_GT(result->execution, absl::ZeroDuration());
  for (auto thread : recorder_.threads()) EXPECT_EQ(thread, caller_.id());
}

TEST_F(SandboxEngineTest, RunsAsTheFunctionsOwnUnprivilegedUid) {
  const InstanceId id =
      startReady(function({{"index.py", "import os\ndef handler(e, c):\n    return str(os.getuid())\n"}}));
  auto result = call(id, "");
  ASSERT_TRUE(result.completed());
  EXPECT_EQ(result->output, std::to_string(uids_->first() + functions_));
}

TEST_F(SandboxEngineTest, HandlerErrorIsStructuredAndTheInstanceStaysUsable) {
  const InstanceId id = startReady(function({{"index.py", "def handler(e, c):\n"
                                                          "    if e == b'bad':\n"
                                                          "        raise ValueError('bad input')\n"
                                                          "    return e\n"}}));
  auto failed = call(id, "bad");
  ASSERT_TRUE(failed.completed());
  ASSERT_TRUE(failed->error.has_value());
  EXPECT_EQ(failed->error->type, "HandlerError");
  EXPECT_EQ(failed->error->message, "ValueError: bad input");
  EXPECT_THAT(failed->error->trace, HasSubstr("Traceback"));
  auto ok = call(id, "fine");
  ASSERT_TRUE(ok.completed());
  EXPECT_EQ(ok->output, "fine");
}

TEST_F(SandboxEngineTest, TimeoutKillsTheInstanceAndLosesItsOtherRequests) {
  // An endless busy loop: only the host's timer can end it.
  InstanceSpec spec = function({{"index.py", "def handler(e, c):\n    while True:\n        pass\n"}});
  spec.timeout = absl::Seconds(1);
  spec.concurrency = 2;
  const InstanceId id = startReady(spec);
  auto first = std::async(std::launch::async, [&] { return call(id, "", "a"); });
  auto second = std::async(std::launch::async, [&] { return call(id, "", "b"); });
  auto a = first.get(), b = second.get();
  ASSERT_TRUE(a.completed() && b.completed());
  ASSERT_TRUE(a->error && b->error);
  EXPECT_THAT((std::vector<std::string>{a->error->type, b->error->type}),
              UnorderedElementsAre("Timeout", ::testing::AnyOf("Timeout", "InstanceLost")));
  const auto& timedOut = a->error->type == "Timeout" ? *a->error : *b->error;
  EXPECT_EQ(timedOut.message, "timed out after 1 s");
  auto exit = recorder_.waitExit(id);
  ASSERT_TRUE(exit.has_value());
  EXPECT_FALSE(exit->requested);
}

TEST_F(SandboxEngineTest, ANearerCallerDeadlineEndsTheExecutionEarlier) {
  InstanceSpec spec = function({{"index.py", "def handler(e, c):\n    while True:\n        pass\n"}});
  spec.timeout = absl::Seconds(30);
  const InstanceId id = startReady(spec);
  auto promise = std::make_shared<std::promise<InvokeOutcome>>();
  auto future = promise->get_future();
  engine_->invoke(id, InvokeRequest{"soon", "", std::chrono::steady_clock::now() + 500ms, nullptr},
                  [promise](InvokeOutcome r) { promise->set_value(std::move(r)); });
  ASSERT_EQ(future.wait_for(30s), std::future_status::ready);
  auto result = future.get();
  ASSERT_TRUE(result.completed());
  ASSERT_TRUE(result->error.has_value());
  EXPECT_EQ(result->error->type, "Timeout");
  // 0.5 s from the test's clock reading just before invoke(); a descheduled test thread may
  // lose a millisecond or so of it in between.
  EXPECT_THAT(result->error->message, ::testing::MatchesRegex("timed out after 0\\.(49[0-9]|5) s"));
  EXPECT_LT(result->execution, absl::Seconds(5));
}

TEST_F(SandboxEngineTest, AllocatingPastTheMemoryLimitIsOutOfMemory) {
  InstanceSpec spec = function({{"index.py", "def handler(e, c):\n"
                                             "    blocks = []\n"
                                             "    for _ in range(64):\n"
                                             "        blocks.append(bytearray(8 << 20))\n"
                                             "    return 'survived'\n"}});
  spec.memoryMb = 64;
  const InstanceId id = startReady(spec);
  auto result = call(id, "");
  ASSERT_TRUE(result.completed());
  ASSERT_TRUE(result->error.has_value()) << result->output;
  EXPECT_EQ(result->error->type, "OutOfMemory");
  EXPECT_EQ(result->error->message, "memory limit 64 MiB exceeded");
  EXPECT_EQ(recorder_.waitExit(id)->reason, "out of memory");
}

TEST_F(SandboxEngineTest, ACrashReportsTheExitCodeAndTheEndOfStderr) {
  const InstanceId id = startReady(function({{"index.py", "import os, sys\n"
                                                          "def handler(e, c):\n"
                                                          "    os.write(2, b'last words\\n')\n"
                                                          "    os._exit(3)\n"}}));
  auto result = call(id, "");
  ASSERT_TRUE(result.completed());
  ASSERT_TRUE(result->error.has_value());
  EXPECT_EQ(result->error->type, "Crashed");
  EXPECT_EQ(result->error->message, "the instance crashed: exit code 3");
  EXPECT_THAT(result->error->trace, HasSubstr("last words"));
  EXPECT_EQ(recorder_.waitExit(id)->reason, "exit code 3");
}

TEST_F(SandboxEngineTest, LogsAreCapturedAsTaggedLinesAndCappedPerRequest) {
  InstanceSpec spec = function({{"index.py", "import logging, os, sys\n"
                                             "print('loading the module')\n"
                                             "def handler(e, c):\n"
                                             "    if e == b'flood':\n"
                                             "        line = 'x' * 1023 + '\\n'\n"
                                             "        for _ in range(1024):\n"
                                             "            sys.stdout.write(line)\n"
                                             "        return 'flooded'\n"
                                             "    if e == b'raw':\n"
                                             "        chunk = (b'y' * 1023 + b'\\n') * 1024\n"
                                             "        for _ in range(10):\n"
                                             "            os.write(1, chunk)\n"
                                             "        return 'raw'\n"
                                             "    print('hello from', c.request_id)\n"
                                             "    print('no newline at the end', end='', file=sys.stderr)\n"
                                             "    logging.getLogger().info('an info line')\n"
                                             "    os.write(2, b'raw stderr\\n')\n"
                                             "    return 'quiet'\n"}});
  const InstanceId id = startReady(spec);
  const auto loading = lines_.waitFor([](const common::LogLine& l) { return l.text == "loading the module"; }, 1);
  ASSERT_EQ(loading.size(), 1u);
  EXPECT_TRUE(loading[0].initializer);
  EXPECT_EQ(loading[0].requestId, "");
  EXPECT_EQ(loading[0].function, spec.function);
  EXPECT_EQ(loading[0].version, spec.version);
  EXPECT_EQ(loading[0].instance, id);

  auto quiet = call(id, "", "req-quiet");
  ASSERT_TRUE(quiet.completed());
  EXPECT_FALSE(quiet->logsTruncated);
  // Every line is handed over before the reply: the request's lines are all here.
  const auto lines = lines_.ofRequest("req-quiet");
  const auto find = [&](std::string_view text) -> const common::LogLine* {
    for (const auto& line : lines) {
      if (line.text.find(text) != std::string::npos) return &line;
    }
    return nullptr;
  };
  ASSERT_NE(find("hello from req-quiet"), nullptr);
  EXPECT_EQ(find("hello from req-quiet")->stream, common::LogStream::kStdout);
  EXPECT_FALSE(find("hello from req-quiet")->initializer);
  ASSERT_NE(find("no newline at the end"), nullptr);
  EXPECT_EQ(find("no newline at the end")->stream, common::LogStream::kStderr);
  // Function Compute's logger format, with the request id in the text too.
  ASSERT_NE(find(" req-quiet [INFO] an info line"), nullptr);
  ASSERT_NE(find("raw stderr"), nullptr); // fd 2, tagged because it ran alone
  EXPECT_EQ(find("raw stderr")->stream, common::LogStream::kStderr);
  EXPECT_THAT(quiet->logTail, HasSubstr("hello from req-quiet\n"));
  // The instance's memory high-water mark, from its cgroup: at least the interpreter's.
  ASSERT_TRUE(quiet->readPeakMemory);
  const std::optional<uint64_t> peak = (*quiet->readPeakMemory)();
  ASSERT_TRUE(peak.has_value());
  EXPECT_GT(*peak, 1u << 20);
  EXPECT_LE(*peak, uint64_t{spec.memoryMb} << 20);

  for (const std::string payload : {"flood", "raw"}) {
    auto flooded = call(id, payload, "req-" + payload);
    ASSERT_TRUE(flooded.completed()) << payload;
    EXPECT_EQ(flooded->output, payload == "flood" ? "flooded" : "raw");
    EXPECT_TRUE(flooded->logsTruncated) << payload;
    const auto kept = lines_.ofRequest("req-" + payload);
    // 64 lines of 1 KiB fill the 64 KiB, then one platform line says the rest was dropped.
    ASSERT_EQ(kept.size(), kDefaultRequestLogBytes / 1024 + 1) << payload;
    EXPECT_EQ(kept.back().stream, common::LogStream::kPlatform);
    EXPECT_THAT(kept.back().text, HasSubstr("truncated at 64 KiB"));
    EXPECT_THAT(flooded->logTail, ::testing::EndsWith("truncated at 64 KiB]\n"));
    EXPECT_LE(flooded->logTail.size(), kLogTailBytes);
  }
  // The instance survives the cap.
  auto after = call(id, "");
  ASSERT_TRUE(after.completed());
  EXPECT_EQ(after->output, "quiet");
}

TEST_F(SandboxEngineTest, AForkBombHitsThePidsLimitAndIsContained) {
  InstanceSpec spec = function({{"index.py", "import os, time\n"
                                             "def handler(e, c):\n"
                                             "    children = 0\n"
                                             "    for _ in range(2000):\n"
                                             "        try:\n"
                                             "            pid = os.fork()\n"
                                             "        except OSError:\n"
                                             "            break\n"
                                             "        if pid == 0:\n"
                                             "            time.sleep(600)\n"
                                             "            os._exit(0)\n"
                                             "        children += 1\n"
                                             "    return str(children)\n"}});
  // A full core, so that 250 forks finish well inside the timeout on a loaded machine.
  spec.memoryMb = 1024;
  spec.timeout = absl::Seconds(60);
  const InstanceId id = startReady(spec);
  auto result = call(id, "");
  ASSERT_TRUE(result.completed());
  ASSERT_FALSE(result->error.has_value()) << result->error->type << ": " << result->error->message << "\n"
                                          << result->error->trace;
  EXPECT_LT(std::stoi(result->output), 256);
  EXPECT_GT(std::stoi(result->output), 100);
  engine_->stop(id, StopMode::kNow);
  EXPECT_TRUE(recorder_.waitExit(id).has_value());
}

TEST_F(SandboxEngineTest, KillingEveryProcessItCanReachKillsOnlyTheInstance) {
  // A host process of the test's own: it must survive.
  pid_t bystander = -1;
  const char* argv[] = {"/bin/sleep", "120", nullptr};
  ASSERT_EQ(posix_spawn(&bystander, "/bin/sleep", nullptr, nullptr, const_cast<char**>(argv), environ), 0);
  const InstanceId id = startReady(function({{"index.py", "import os, signal\n"
                                                          "def handler(e, c):\n"
                                                          "    os.kill(-1, signal.SIGKILL)\n"
                                                          "    return 'still here'\n"}}));
  auto result = call(id, "");
  ASSERT_TRUE(result.completed());
  // In its own pid namespace the runtime can signal nothing but itself and the namespace's init,
  // which kill(-1) skips: there is nobody to kill.
  ASSERT_TRUE(result->error.has_value()) << result->output;
  EXPECT_EQ(result->error->type, "HandlerError");
  EXPECT_THAT(result->error->message, HasSubstr("ProcessLookupError"));
  auto after = call(id, "");
  ASSERT_TRUE(after.completed());
  ASSERT_TRUE(after->error.has_value());
  EXPECT_EQ(after->error->type, "HandlerError") << "the instance still serves";
  EXPECT_EQ(::kill(bystander, 0), 0) << "the host process must be alive";
  ::kill(bystander, SIGKILL);
  ::waitpid(bystander, nullptr, 0);
}

TEST_F(SandboxEngineTest, TheInitializerRunsOncePerInstanceAndItsFailureFailsTheStart) {
  InstanceSpec spec = function({{"index.py", "runs = 0\n"
                                             "def init(context):\n"
                                             "    global runs\n"
                                             "    runs += 1\n"
                                             "def handler(e, c):\n"
                                             "    return str(runs)\n"}});
  spec.initializer = "index.init";
  const InstanceId withInit = startReady(spec);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(call(withInit, "")->output, "1");

  InstanceSpec failing = function({{"index.py", "def init(context):\n    raise RuntimeError('boom')\n"
                                                "def handler(e, c):\n    return 'unreachable'\n"}});
  failing.initializer = "index.init";
  const InstanceId broken = engine_->start(failing);
  auto ready = recorder_.waitStarted(broken, 60s);
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(ready->kind, StartOutcome::Kind::kFunctionFault) << *ready;
  EXPECT_THAT(ready->message, HasSubstr("RuntimeError: boom"));
  EXPECT_TRUE(recorder_.waitExit(broken).has_value());
}

// Whether a process of `uid` runs on the host.
bool processOfUidRuns(uid_t uid) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    struct stat info {};
    if (std::isdigit(entry.path().filename().string()[0]) && ::stat(entry.path().c_str(), &info) == 0 &&
        info.st_uid == uid) {
      return true;
    }
  }
  return false;
}

// A stop() during a start is nobody's fault: reported as stopped, never as the function's.
TEST_F(SandboxEngineTest, AStopDuringTheStartIsReportedAsStoppedNotAsTheFunctionsFault) {
  const std::string slowInit = "import time\ndef init(context):\n    time.sleep(60)\n"
                               "def handler(e, c):\n    return ''\n";
  // While the initializer runs.
  InstanceSpec spec = function({{"index.py", slowInit}});
  spec.initializer = "index.init";
  const InstanceId initializing = engine_->start(spec);
  const uid_t uid = uids_->first() + static_cast<uid_t>(spec.functionId);
  ASSERT_TRUE(recorder_.waitUntil([uid] { return processOfUidRuns(uid); }, 60s)) << "the sandbox never ran";
  engine_->stop(initializing, StopMode::kNow);
  auto started = recorder_.waitStarted(initializing, 60s);
  ASSERT_TRUE(started.has_value());
  EXPECT_EQ(started->kind, StartOutcome::Kind::kStopped) << *started;
  auto exit = recorder_.waitExit(initializing, 60s);
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(exit->requested);
  EXPECT_EQ(exit->reason, "stopped");

  // Before the sandbox is even launched: the stop reaches the engine with the start.
  InstanceSpec early = function({{"index.py", slowInit}});
  early.initializer = "index.init";
  const InstanceId launching = engine_->start(early);
  engine_->stop(launching, StopMode::kNow);
  started = recorder_.waitStarted(launching, 60s);
  ASSERT_TRUE(started.has_value());
  EXPECT_EQ(started->kind, StartOutcome::Kind::kStopped) << *started;
  ASSERT_TRUE(recorder_.waitExit(launching, 60s).has_value()) << "the instance outlived its stop";
  const uid_t earlyUid = uids_->first() + static_cast<uid_t>(early.functionId);
  EXPECT_TRUE(recorder_.waitUntil([earlyUid] { return !processOfUidRuns(earlyUid); }, 60s));
}

TEST_F(SandboxEngineTest, ASandboxThatDoesNotComeUpFailsTheStartAsThePlatformsFault) {
  InstanceSpec spec = function({{"index.py", "def handler(e, c):\n    return ''\n"}});
  // The code sits behind a folder that the sandbox's uid cannot enter (a data dir set up with
  // the wrong mode): the sandbox fails while binding it, before any code of the function runs.
  const fs::path closed = spec.codeDir.parent_path() / "closed";
  fs::create_directory(closed);
  fs::permissions(closed, fs::perms::owner_all);
  fs::rename(spec.codeDir, closed / "code");
  spec.codeDir = closed / "code";
  const InstanceId id = engine_->start(spec);
  auto ready = recorder_.waitStarted(id, 60s);
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(ready->kind, StartOutcome::Kind::kPlatformFault) << *ready;
  EXPECT_THAT(ready->message, HasSubstr("the sandbox did not come up"));
  EXPECT_TRUE(recorder_.waitExit(id).has_value());
}

TEST_F(SandboxEngineTest, ACustomRuntimeThatExitsBeforeLoadedIsTheFunctionsFault) {
  InstanceSpec spec = function({{"bootstrap", "#!/bin/sh\necho 'bootstrap: missing dependency' >&2\nexit 3\n"}});
  fs::permissions(spec.codeDir / "bootstrap", fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                                  fs::perms::others_read | fs::perms::others_exec);
  spec.runtime = common::Runtime::kCustom;
  const InstanceId id = engine_->start(spec);
  auto ready = recorder_.waitStarted(id, 60s);
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(ready->kind, StartOutcome::Kind::kFunctionFault) << *ready;
  EXPECT_THAT(ready->message, HasSubstr("missing dependency"));
}

TEST_F(SandboxEngineTest, DrainFinishesTheInflightRequestThenStops) {
  const InstanceId id = startReady(function({{"index.py", "import time\ndef handler(e, c):\n"
                                                          "    time.sleep(2)\n    return 'done'\n"}}));
  // Invokes are handled in order, so the probe right after "slow" finds the one slot taken.
  auto inflight = callAsync(id, "", "slow");
  auto probe = call(id, "", "probe");
  ASSERT_EQ(probe.kind, InvokeOutcome::Kind::kRefused) << probe;
  engine_->stop(id, StopMode::kDrain);
  ASSERT_EQ(inflight.wait_for(60s), std::future_status::ready);
  auto result = inflight.get();
  ASSERT_TRUE(result.completed());
  EXPECT_EQ(result->output, "done");
  auto exit = recorder_.waitExit(id);
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(exit->requested);
  EXPECT_EQ(exit->reason, "stopped");
}

TEST_F(SandboxEngineTest, ACancelledRequestEndsCancelledWhenTheRuntimeIsDone) {
  const InstanceId id = startReady(function({{"index.py", "import time\ndef handler(e, c):\n"
                                                          "    time.sleep(0.3)\n    return 'late'\n"}}));
  auto token = std::make_shared<CancellationToken>();
  token->cancel();
  auto result = call(id, "", "", token);
  EXPECT_EQ(result.kind, InvokeOutcome::Kind::kCancelled) << result;
  auto next = call(id, "");
  ASSERT_TRUE(next.completed());
  EXPECT_EQ(next->output, "late");
}

TEST_F(SandboxEngineTest, InvokingAnInstanceThatIsNotReadyIsRefused) {
  auto result = call(12345, "");
  EXPECT_EQ(result.kind, InvokeOutcome::Kind::kRefused) << result;
  EXPECT_THAT(result.reason, HasSubstr("is gone"));
}

// ---- pre-started sandboxes ----

// The loop polls for a while after work before it sleeps (SandboxEngineOptions::loopSpin).
TEST_F(SandboxEngineTest, PythonForksFromTheZygoteAndABubblewrapStartStandsInWhileItIsReplaced) {
  const InstanceSpec spec = function({{"index.py", "import os\ndef handler(e, c):\n    return str(os.getuid())\n"}});
  const InstanceId forked = startReady(spec);
  EXPECT_EQ(recorder_.path(forked), StartPath::kZygote);
  EXPECT_EQ(call(forked, "")->output, std::to_string(uids_->first() + spec.functionId));

  // The zygote dies: the next start must not fail, and goes by bubblewrap.
  const pid_t zygote = launcher_->zygotePid();
  ASSERT_GT(zygote, 0);
  ASSERT_EQ(::kill(zygote, SIGKILL), 0);
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, zygote, 0));
  pollfd exited{pidfd, POLLIN, 0};
  ASSERT_EQ(::poll(&exited, 1, 60000), 1) << "the killed zygote did not exit";
  ::close(pidfd);
  const InstanceId fallback = startReady(spec);
  EXPECT_EQ(recorder_.path(fallback), StartPath::kDirect);
  EXPECT_EQ(call(fallback, "")->output, std::to_string(uids_->first() + spec.functionId));
  // A new zygote was started meanwhile, and the start after it forks from there.
  const InstanceId again = startReady(spec);
  EXPECT_EQ(recorder_.path(again), StartPath::kZygote);
  EXPECT_NE(launcher_->zygotePid(), zygote);
  // The instance forked by the killed zygote never depended on it.
  EXPECT_EQ(call(forked, "")->output, std::to_string(uids_->first() + spec.functionId));
}

class SpinningEngineTest : public SandboxEngineTest {
protected:
  void configure(SandboxEngineOptions& options) override { options.loopSpin = std::chrono::microseconds(500); }
};

TEST_F(SpinningEngineTest, ASpinningLoopServesTimersRequestsAndStopsWhenDestroyed) {
  const InstanceId id = startReady(function({{"index.py", "import time\n"
                                                          "def handler(e, c):\n"
                                                          "    if e == b'slow':\n"
                                                          "        time.sleep(5)\n"
                                                          "    return e\n"}}));
  for (int i = 0; i < 50; ++i) {
    auto result = call(id, "r" + std::to_string(i));
    ASSERT_TRUE(result.completed()) << result;
    EXPECT_EQ(result->output, "r" + std::to_string(i));
  }
  // A nearer caller deadline is a timer on the loop: it must fire while the loop sleeps too.
  auto promise = std::make_shared<std::promise<InvokeOutcome>>();
  auto future = promise->get_future();
  engine_->invoke(
      id, InvokeRequest{"late", "slow", std::chrono::steady_clock::now() + std::chrono::milliseconds(300), nullptr},
      [promise](InvokeOutcome result) { promise->set_value(std::move(result)); });
  ASSERT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  auto late = future.get();
  ASSERT_TRUE(late.completed()) << late;
  ASSERT_TRUE(late->error.has_value());
  EXPECT_EQ(late->error->type, "Timeout");
  // TearDown destroys the engine: a loop that kept spinning would hang it (and time the test out).
}

// A long spin, to see whether the loop spins while requests are in flight.
class LongSpinningEngineTest : public SandboxEngineTest {
protected:
  void configure(SandboxEngineOptions& options) override {
    options.loopSpin = std::chrono::seconds(30);
    options.spinMaxInFlight = 1;
  }
};

double processCpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

TEST_F(LongSpinningEngineTest, TheLoopSleepsWhileMoreRequestsThanTheSpinLimitAreInFlight) {
  InstanceSpec spec = function({{"index.py", "import time\n"
                                             "def handler(e, c):\n"
                                             "    time.sleep(1)\n"
                                             "    return e\n"}});
  spec.concurrency = 2;
  const InstanceId id = startReady(spec);
  const double before = processCpuSeconds();
  auto first = callAsync(id, "a");
  auto second = callAsync(id, "b");
  ASSERT_EQ(first.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  ASSERT_EQ(second.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  const double used = processCpuSeconds() - before;
  auto a = first.get(), b = second.get();
  ASSERT_TRUE(a.completed() && b.completed()) << a << " " << b;
  EXPECT_EQ(a->output, "a");
  EXPECT_EQ(b->output, "b");
  // Two requests in flight for a second: a loop spinning through it would use about a second of
  // CPU; sleeping, it uses what the two replies take.
  EXPECT_LT(used, 0.5) << "the loop spun with two requests in flight";
}

// The real launcher, except that once armed, its next destroy() (the first step of an exited
// instance's clean-up, on the engine's spawner thread) waits until the engine's loop has stopped:
// that clean-up then ends while the engine is being destroyed.
class DestroyHoldingLauncher final : public SandboxLauncher {
public:
  explicit DestroyHoldingLauncher(std::unique_ptr<SandboxLauncher> inner) : inner_(std::move(inner)) {}

  void holdNextDestroyUntilStopped(asio::io_context& loop) {
    common::MutexLock lock(mu_);
    holdUntilStopped_ = &loop;
  }
  // Whether the held destroy() has begun within `timeout`.
  bool waitHeld(std::chrono::seconds timeout) {
    common::MutexLock lock(mu_);
    return cv_.waitFor(mu_, timeout, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return held_; });
  }

  void destroy(SandboxProcess& process) override {
    {
      common::MutexLock lock(mu_);
      if (asio::io_context* loop = std::exchange(holdUntilStopped_, nullptr)) {
        held_ = true;
        cv_.notifyAll();
        // The loop's stop notifies nobody: look again every millisecond, for a bounded time.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (!loop->stopped() && std::chrono::steady_clock::now() < deadline) {
          cv_.waitUntil(mu_, std::chrono::steady_clock::now() + std::chrono::milliseconds(1));
        }
      }
    }
    inner_->destroy(process);
  }
  absl::StatusOr<SandboxProcess> launch(const SandboxSpec& spec) override { return inner_->launch(spec); }
  absl::Status foreground(const SandboxProcess& process) override { return inner_->foreground(process); }
  absl::Status throttleCpu(const SandboxProcess& process, const SandboxSpec& spec) override {
    return inner_->throttleCpu(process, spec);
  }
  bool oomKilled(const SandboxProcess& process) const override { return inner_->oomKilled(process); }
  std::filesystem::path memoryPeakFile(const SandboxProcess& process) const override {
    return inner_->memoryPeakFile(process);
  }
  std::string cgroupVersion() const override { return inner_->cgroupVersion(); }
  void warmUp() override { inner_->warmUp(); }
  pid_t zygotePid() const override { return inner_->zygotePid(); }

private:
  std::unique_ptr<SandboxLauncher> inner_;
  common::Mutex mu_;
  common::CondVar cv_;
  asio::io_context* holdUntilStopped_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool held_ ABSL_GUARDED_BY(mu_) = false;
};

class EngineDestructionTest : public SandboxEngineTest {
protected:
  std::unique_ptr<SandboxLauncher> wrapLauncher(std::unique_ptr<SandboxLauncher> launcher) override {
    auto holding = std::make_unique<DestroyHoldingLauncher>(std::move(launcher));
    holding_ = holding.get();
    return holding;
  }
  DestroyHoldingLauncher* holding_ = nullptr; // owned by engine_
};

// A caller may tear down its observer once the engine is destroyed and its executor has run what
// it was given. So an exit whose clean-up (on the engine's other threads) ends while the engine is
// being destroyed is dropped with the rest of the queue, not handed over to the caller late.
TEST_F(EngineDestructionTest, AnExitStillBeingCleanedUpWhenTheEngineIsDestroyedReachesNobody) {
  const InstanceId id = startReady(function({{"index.py", "def handler(e, c):\n    return e\n"}}));
  holding_->holdNextDestroyUntilStopped(engine_->loop());
  engine_->stop(id, StopMode::kNow);
  ASSERT_TRUE(holding_->waitHeld(std::chrono::seconds(60))) << "the stopped instance's clean-up did not begin";
  engine_.reset();
  // The caller's thread runs tasks in order: once this one has run, so has everything the engine
  // handed over.
  auto drained = std::make_shared<std::promise<void>>();
  auto done = drained->get_future();
  caller_.post([drained] { drained->set_value(); });
  ASSERT_EQ(done.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  EXPECT_FALSE(recorder_.waitExit(id, std::chrono::seconds(0)).has_value())
      << "onExit reached the caller after the engine's loop had stopped";
}

class PooledEngineTest : public SandboxEngineTest {
protected:
  void configure(SandboxEngineOptions& options) override {
    options.sandboxesDir = dir_.path() / "sandboxes";
    options.poolSize = 1;
    options.poolMemoryMb = {128};
  }
  bool poolReady(uint32_t memoryMb = 128, common::Runtime runtime = common::Runtime::kPython3) {
    return engine_->waitStemsReady(runtime, memoryMb, 1, std::chrono::milliseconds(60000));
  }
};

TEST_F(PooledEngineTest, AStartTakesAPreStartedSandboxAndThePoolRefills) {
  ASSERT_TRUE(poolReady());
  InstanceSpec spec = function(
      {{"index.py", "import os\ndef handler(e, c):\n"
                    "    return '%d %s %s' % (os.getuid(), os.environ['MODE'], sorted(os.listdir('/code')))\n"}});
  spec.environment = {{"MODE", "sale"}};
  const InstanceId id = startReady(spec);
  EXPECT_EQ(recorder_.path(id), StartPath::kStem);
  auto result = call(id, "");
  ASSERT_TRUE(result.completed());
  ASSERT_FALSE(result->error.has_value()) << result->error->message << result->error->trace;
  // A uid of the pool's range, the function's environment, and only this function's code.
  EXPECT_EQ(result->output, std::to_string(uids_->first() + uids_->size() / 2) + " sale ['index.py']");
  EXPECT_TRUE(poolReady()) << "the pool refills after a start took its sandbox";
}

// The network helpers (slirp4netns) this process runs: each network sandbox, stem or not, has one.
size_t networkHelpers() {
  size_t count = 0;
  const std::string self = std::to_string(::getpid());
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line) || line.find("(slirp4netns)") == std::string::npos) continue;
    std::istringstream fields(line.substr(line.rfind(')') + 2));
    std::string state, parent;
    fields >> state >> parent;
    if (parent == self && state != "Z") ++count;
  }
  return count;
}

TEST_F(PooledEngineTest, AStartWithNetworkNeverTakesAStemWithoutAndTheReverse) {
  const std::string interfaces = "def handler(e, c):\n"
                                 "    lines = open('/proc/net/dev').read().split('\\n')[2:]\n"
                                 "    return ' '.join(sorted(l.split(':')[0].strip() for l in lines if l))\n";
  ASSERT_TRUE(poolReady());
  engine_->setNetworkKinds({{common::Runtime::kPython3, 128}});
  ASSERT_TRUE(engine_->waitStemsReady(common::Runtime::kPython3, 128, 1, std::chrono::milliseconds(60000), true));
  InstanceSpec online = function({{"index.py", interfaces}});
  online.networkAccess = true;
  const InstanceId pooledOnline = startReady(online);
  EXPECT_EQ(recorder_.path(pooledOnline), StartPath::kStem);
  EXPECT_EQ(call(pooledOnline, "")->output, "lo tap0");

  ASSERT_TRUE(poolReady());
  const InstanceId offline = startReady(function({{"index.py", interfaces}}));
  EXPECT_EQ(recorder_.path(offline), StartPath::kStem);
  EXPECT_EQ(call(offline, "")->output, "lo") << "a start without network got a stem with network";
}

// Each network stem holds a namespace and a helper process: they are kept only for the kinds
// that stored functions use, and go when the last such function does.
TEST_F(PooledEngineTest, NetworkStemsAreKeptOnlyForTheKindsThatFunctionsUse) {
  ASSERT_TRUE(poolReady());
  EXPECT_EQ(engine_->stemsReady(common::Runtime::kPython3, 128, true), 0u) << "network stems before anyone asked";
  EXPECT_EQ(networkHelpers(), 0u);

  // A network start of a kind nobody declared is direct, and does not warm that kind.
  InstanceSpec online = function({{"index.py", "def handler(e, c):\n    return 'on'\n"}});
  online.networkAccess = true;
  const InstanceId direct = startReady(online);
  EXPECT_EQ(recorder_.path(direct), StartPath::kDirect);
  EXPECT_EQ(networkHelpers(), 1u) << "the direct start's own helper";

  engine_->setNetworkKinds({{common::Runtime::kPython3, 128}});
  ASSERT_TRUE(engine_->waitStemsReady(common::Runtime::kPython3, 128, 1, std::chrono::milliseconds(60000), true));
  EXPECT_EQ(networkHelpers(), 2u);

  // The last such function is gone: its stems and their helpers go too, and none come back.
  engine_->setNetworkKinds({});
  engine_->stop(direct, StopMode::kNow);
  ASSERT_TRUE(recorder_.waitExit(direct, std::chrono::seconds(60)).has_value());
  EXPECT_TRUE(recorder_.waitUntil([] { return networkHelpers() == 0; }, std::chrono::seconds(60)))
      << networkHelpers() << " network helpers left";
  EXPECT_EQ(engine_->stemsReady(common::Runtime::kPython3, 128, true), 0u);
  // The pool without network is untouched.
  EXPECT_EQ(engine_->stemsReady(common::Runtime::kPython3, 128, false), 1u);
}

TEST_F(PooledEngineTest, ThePoolRefillsAfterAPooledStartThatGetsNoRequest) {
  ASSERT_TRUE(poolReady());
  const InstanceId id = startReady(function({{"index.py", "def handler(e, c):\n    return ''\n"}}));
  EXPECT_EQ(recorder_.path(id), StartPath::kStem);
  // The replacement waits for the first request, but not for ever.
  EXPECT_TRUE(poolReady()) << "the pool refills without a request to the instance";
}

TEST_F(PooledEngineTest, EachPooledSandboxServesOneFunctionWithAUidOfItsOwn) {
  const std::string code = "import os\ndef handler(e, c):\n    return '%d %s' % (os.getuid(), os.listdir('/code'))\n";
  std::vector<std::string> answers;
  for (const char* file : {"index.py", "index.py"}) {
    ASSERT_TRUE(poolReady());
    InstanceSpec spec = function({{file, code}, {"marker-" + std::to_string(functions_ + 1), ""}});
    const InstanceId id = startReady(spec);
    EXPECT_EQ(recorder_.path(id), StartPath::kStem);
    auto result = call(id, "");
    ASSERT_TRUE(result.completed());
    answers.push_back(result->output);
  }
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_NE(answers[0].substr(0, answers[0].find(' ')), answers[1].substr(0, answers[1].find(' ')));
  EXPECT_THAT(answers[0], HasSubstr("marker-1"));
  EXPECT_THAT(answers[0], ::testing::Not(HasSubstr("marker-2")));
  EXPECT_THAT(answers[1], HasSubstr("marker-2"));
  EXPECT_THAT(answers[1], ::testing::Not(HasSubstr("marker-1")));
}

TEST_F(PooledEngineTest, AnEmptyPoolFallsBackToADirectStartAndWarmsThatSizeFromThenOn) {
  ASSERT_TRUE(poolReady());
  InstanceSpec spec = function({{"index.py", "def handler(e, c):\n    return 'direct'\n"}});
  spec.memoryMb = 256; // no pool of this size yet
  const InstanceId id = startReady(spec);
  EXPECT_EQ(recorder_.path(id), StartPath::kZygote);
  EXPECT_EQ(call(id, "")->output, "direct");
  EXPECT_TRUE(poolReady(256)) << "a size asked for once is kept warm";
  const InstanceId pooled = startReady(spec);
  EXPECT_EQ(recorder_.path(pooled), StartPath::kStem);
}

TEST_F(PooledEngineTest, AFailedInitializerInAPooledSandboxFailsTheStart) {
  ASSERT_TRUE(poolReady());
  InstanceSpec spec = function({{"index.py", "def init(c):\n    raise RuntimeError('boom')\n"
                                             "def handler(e, c):\n    return ''\n"}});
  spec.initializer = "index.init";
  const InstanceId id = engine_->start(spec);
  auto ready = recorder_.waitStarted(id, 60s);
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(ready->kind, StartOutcome::Kind::kFunctionFault) << *ready;
  EXPECT_THAT(ready->message, HasSubstr("RuntimeError: boom"));
  EXPECT_EQ(recorder_.path(id), StartPath::kStem);
  EXPECT_TRUE(recorder_.waitExit(id).has_value());
  EXPECT_TRUE(poolReady()) << "the pool refills";
}

TEST_F(PooledEngineTest, CodeThatCannotBeLinkedFailsTheStartAsThePlatformsFault) {
  ASSERT_TRUE(poolReady());
  InstanceSpec spec = function({{"index.py", "def handler(e, c):\n    return ''\n"}});
  // The unpacked version is gone from the disk: a fault of the host, not of the function.
  fs::remove_all(spec.codeDir);
  const InstanceId id = engine_->start(spec);
  auto ready = recorder_.waitStarted(id, 60s);
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(ready->kind, StartOutcome::Kind::kPlatformFault) << "not the function's own failure: " << *ready;
  EXPECT_THAT(ready->message, HasSubstr("cannot link the function's code"));
  EXPECT_EQ(recorder_.path(id), StartPath::kStem);
  auto exit = recorder_.waitExit(id);
  ASSERT_TRUE(exit.has_value());
  EXPECT_THAT(exit->reason, HasSubstr("cannot link the function's code"));
  EXPECT_TRUE(poolReady()) << "the pool refills";
}

TEST_F(PooledEngineTest, PythonRunsTheShimCompiledOnceAndItsFramesStayOutOfTracebacks) {
  InstanceSpec spec =
      function({{"index.py", "def handler(e, c):\n"
                             "    if e == b'cmdline':\n"
                             "        return open('/proc/self/cmdline', 'rb').read().replace(b'\\0', b' ')\n"
                             "    raise ValueError('bad input')\n"}});
  for (bool pooled : {true, false}) {
    if (pooled) {
      ASSERT_TRUE(poolReady());
    }
    spec.memoryMb = pooled ? 128 : 192; // no pool of 192 MiB: a direct start
    const InstanceId id = startReady(spec);
    EXPECT_EQ(recorder_.path(id), pooled ? StartPath::kStem : StartPath::kZygote);
    // Forked from the zygote (pooled or not), which loaded the shim once from source, compiled
    // under its name inside: the argv a direct start's interpreter would have had.
    EXPECT_EQ(call(id, "cmdline")->output, "/usr/bin/python3 -S /runtime/python/surge_runtime.py ");
    auto failed = call(id, "");
    ASSERT_TRUE(failed.completed());
    ASSERT_TRUE(failed->error.has_value());
    EXPECT_EQ(failed->error->message, "ValueError: bad input");
    EXPECT_EQ(failed->error->trace, "Traceback (most recent call last):\n"
                                    "  File \"/code/index.py\", line 4, in handler\n"
                                    "    raise ValueError('bad input')\n"
                                    "ValueError: bad input\n");
  }
}

TEST_F(PooledEngineTest, ALargerCodeTreeIsLinkedInWholeToo) {
  // More files than the engine links on its loop: the file thread links these.
  std::map<std::string, std::string> files = {{"index.py",
                                               "import os\n"
                                               "def handler(e, c):\n"
                                               "    return str(sum(len(f) for _, _, f in os.walk('/code')))\n"}};
  for (int i = 0; i < 40; ++i) files["data-" + std::to_string(i) + ".txt"] = std::to_string(i);
  ASSERT_TRUE(poolReady());
  const InstanceId id = startReady(function(files));
  EXPECT_EQ(recorder_.path(id), StartPath::kStem);
  EXPECT_EQ(call(id, "")->output, "41");
}

TEST_F(PooledEngineTest, NodejsIsPooledToo) {
  ASSERT_TRUE(poolReady(128, common::Runtime::kNodejs));
  InstanceSpec spec =
      function({{"index.js", "exports.handler = async (event) => 'hello from ' + process.env.MODE;\n"}});
  spec.runtime = common::Runtime::kNodejs;
  spec.environment = {{"MODE", "node"}};
  const InstanceId id = startReady(spec);
  EXPECT_EQ(recorder_.path(id), StartPath::kStem);
  auto result = call(id, "");
  ASSERT_TRUE(result.completed());
  EXPECT_EQ(result->output, "hello from node");
}

class PoolSizePerRuntimeTest : public SandboxEngineTest {
protected:
  void configure(SandboxEngineOptions& options) override {
    options.sandboxesDir = dir_.path() / "sandboxes";
    options.poolSize = 1;
    options.poolSizes = {{common::Runtime::kPython3, 3}, {common::Runtime::kNodejs, 0}};
  }
};

TEST_F(PoolSizePerRuntimeTest, EachRuntimeKeepsTheNumberOfSandboxesConfiguredForIt) {
  ASSERT_TRUE(engine_->waitStemsReady(common::Runtime::kPython3, 128, 3, 60s)) << "Python keeps 3, not the default 1";
  // Three starts at once all find a pre-started sandbox.
  std::vector<InstanceId> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(engine_->start(function({{"index.py", "def handler(e, c):\n    return 'py'\n"}})));
  }
  for (InstanceId id : ids) {
    auto ready = recorder_.waitStarted(id, 60s);
    ASSERT_TRUE(ready.has_value());
    EXPECT_TRUE(ready->ready()) << *ready;
    EXPECT_EQ(recorder_.path(id), StartPath::kStem);
    EXPECT_EQ(call(id, "")->output, "py");
  }
  // Node.js keeps none: its starts are direct, also after one has been asked for.
  for (int i = 0; i < 2; ++i) {
    InstanceSpec spec = function({{"index.js", "exports.handler = async () => 'js';\n"}});
    spec.runtime = common::Runtime::kNodejs;
    const InstanceId id = startReady(spec);
    EXPECT_EQ(recorder_.path(id), StartPath::kDirect);
    EXPECT_EQ(call(id, "")->output, "js");
  }
  EXPECT_EQ(engine_->stemsReady(common::Runtime::kNodejs, 128), 0u);
}

// A Python runtime dir whose shim waits for a byte on the FIFO /runtime/gate before it runs the
// real shim, so the test decides when the pre-started runtime has loaded.
class GatedPoolTest : public SandboxEngineTest {
protected:
  void configure(SandboxEngineOptions& options) override {
    const fs::path runtime = dir_.path() / "gated-runtime";
    fs::create_directories(runtime / "python");
    fs::copy_file(fs::path(SURGE_SOURCE_RUNTIME_DIR) / "python" / "surge_runtime.py",
                  runtime / "python" / "real_runtime.py");
    std::ofstream(runtime / "python" / "surge_runtime.py")
        << "import os, sys\n"
           "os.read(os.open('/runtime/gate', os.O_RDONLY), 1)\n"
           "path = '/runtime/python/real_runtime.py'\n"
           "exec(compile(open(path).read(), path, 'exec'), {'__name__': '__main__', '__file__': path})\n";
    gatePath_ = runtime / "gate";
    EXPECT_EQ(::mkfifo(gatePath_.c_str(), 0644), 0);
    // O_RDWR never blocks on a FIFO (Linux): the sandbox's open then succeeds at once and its
    // read waits for the test's byte.
    gate_ = ::open(gatePath_.c_str(), O_RDWR | O_CLOEXEC);
    EXPECT_GE(gate_, 0);
    options.runtimeDir = runtime;
    options.sandboxesDir = dir_.path() / "sandboxes";
    options.poolSizes = {{common::Runtime::kPython3, 1}, {common::Runtime::kNodejs, 0}};
  }
  // The gate is in the shim's own start-up, which the zygote runs once on the host (where no
  // /runtime/gate exists), not in each sandbox: these pre-started sandboxes go by bubblewrap.
  void configureLauncher(LauncherOptions& options) override { options.zygote.program.clear(); }
  void TearDown() override {
    SandboxEngineTest::TearDown();
    if (gate_ >= 0) ::close(gate_);
  }

  // Whether a process of this test's sandboxes holds the gate open: the pre-started runtime is
  // running and waits at the gate.
  bool runtimeWaitsAtTheGate() const {
    const std::string ourCgroups = "surge-test-engine-" + std::to_string(::getpid()) + "/";
    for (const auto& entry : fs::directory_iterator("/proc")) {
      std::ifstream cgroup(entry.path() / "cgroup");
      std::stringstream text;
      text << cgroup.rdbuf();
      if (text.str().find(ourCgroups) == std::string::npos) continue;
      std::error_code ec;
      for (const auto& fd : fs::directory_iterator(entry.path() / "fd", ec)) {
        if (fs::read_symlink(fd.path(), ec) == "/runtime/gate") return true;
      }
    }
    return false;
  }

  fs::path gatePath_;
  int gate_ = -1;
};

TEST_F(GatedPoolTest, APreStartedSandboxJoinsThePoolOnlyOnceItsRuntimeHasLoaded) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  // /proc notifies nobody: poll it until the condition holds or the deadline passes.
  while (!runtimeWaitsAtTheGate() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  ASSERT_TRUE(runtimeWaitsAtTheGate()) << "the pre-started runtime never reached the gate";
  // A round trip through the engine's loop: whatever it was told about the launch, it has handled.
  auto refused = call(999999, "");
  EXPECT_EQ(refused.kind, InvokeOutcome::Kind::kRefused) << refused;
  EXPECT_EQ(engine_->stemsReady(common::Runtime::kPython3, 128), 0u) << "pooled before its runtime said LOADED";

  ASSERT_EQ(::write(gate_, "x", 1), 1);
  ASSERT_TRUE(engine_->waitStemsReady(common::Runtime::kPython3, 128, 1, 60s));
  const InstanceId pooled = startReady(function({{"index.py", "def handler(e, c):\n    return 'pooled'\n"}}));
  EXPECT_EQ(recorder_.path(pooled), StartPath::kStem);
  EXPECT_EQ(call(pooled, "")->output, "pooled");
}

} // namespace
} // namespace surge::engine
