// The fixture shared by the tests that drive a real SandboxEngine: a temp dir the sandboxes can
// reach, a caller thread as the Executor, an instance recorder, and bounded start and call helpers.
#pragma once

#include "engine/sandbox_engine.h"
#include "engine/sandbox_launcher.h"
#include "engine/uid_block.h"
#include "support/captured_lines.h"
#include "support/instance_recorder.h"
#include "support/task_thread.h"
#include "support/temp_dir.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>

namespace surge::engine {

// `Base` is ::testing::Test or a ::testing::TestWithParam<...>.
template <typename Base> class EngineFixture : public Base {
protected:
  void SetUp() override {
    LauncherOptions options;
    options.cgroupParent = "surge-test-engine-" + std::to_string(::getpid());
    configureLauncher(options);
    auto launcher = SandboxLauncher::create(options);
    ASSERT_TRUE(launcher.ok()) << launcher.status();
    launcher_ = launcher->get();
    // A uid block of this test's own, as a server claims one: never the uids of a surged (or
    // another test) running on this host.
    auto uids = UidBlock::claim("engine test " + std::to_string(::getpid()));
    ASSERT_TRUE(uids.ok()) << uids.status();
    uids_ = std::move(*uids);
    SandboxEngineOptions engineOptions;
    engineOptions.runtimeDir = SURGE_SOURCE_RUNTIME_DIR;
    engineOptions.uidBase = uids_->first();
    engineOptions.uidRange = uids_->size() / 2;
    engineOptions.logSink = lines_.sink();
    configure(engineOptions);
    engine_ = std::make_unique<SandboxEngine>(
        engineOptions, wrapLauncher(std::move(*launcher)),
        [this](std::function<void()> task) { caller_.post(std::move(task)); }, recorder_);
  }
  void TearDown() override { engine_.reset(); }
  // Tests that need other engine options (the pool) set them here.
  virtual void configure(SandboxEngineOptions&) {}
  virtual void configureLauncher(LauncherOptions&) {}
  // Tests that hold or watch the launcher's calls wrap it here.
  virtual std::unique_ptr<SandboxLauncher> wrapLauncher(std::unique_ptr<SandboxLauncher> launcher) { return launcher; }

  // Starts an instance and waits (bounded) for it to be ready; a failure is a test failure.
  InstanceId startReady(const InstanceSpec& spec) {
    const InstanceId id = engine_->start(spec);
    auto started = recorder_.waitStarted(id, std::chrono::seconds(60));
    EXPECT_TRUE(started.has_value()) << "no onStarted within 60 s";
    if (started) {
      EXPECT_TRUE(started->ready()) << *started;
    }
    return id;
  }

  // Invokes; the future holds the callback's result, which must arrive on the caller's thread.
  std::future<InvokeOutcome> callAsync(InstanceId id, std::string payload, std::string requestId = "",
                                       std::shared_ptr<CancellationToken> token = nullptr) {
    auto promise = std::make_shared<std::promise<InvokeOutcome>>();
    auto future = promise->get_future();
    if (requestId.empty()) requestId = "req-" + std::to_string(++requests_);
    engine_->invoke(id,
                    InvokeRequest{requestId, std::move(payload), std::chrono::steady_clock::time_point::max(), token,
                                  /*wantLogTail=*/true},
                    [this, promise](InvokeOutcome result) {
                      EXPECT_EQ(std::this_thread::get_id(), caller_.id());
                      promise->set_value(std::move(result));
                    });
    return future;
  }

  // Invokes and waits (bounded) for the callback.
  InvokeOutcome call(InstanceId id, std::string payload, std::string requestId = "",
                     std::shared_ptr<CancellationToken> token = nullptr) {
    auto future = callAsync(id, std::move(payload), std::move(requestId), std::move(token));
    if (future.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
      ADD_FAILURE() << "no callback in 60 s";
      return InvokeOutcome::refusedBecause("no callback in 60 s");
    }
    return future.get();
  }

  std::unique_ptr<UidBlock> uids_;
  testing::TempDir dir_;
  // Declared before caller_, so that it outlives the caller thread: that thread runs what the
  // engine handed it before it is joined, even after the engine is gone, and those tasks call
  // the recorder (engine.h: the observer outlives the executor's tasks).
  testing::InstanceRecorder recorder_;
  // What instances printed (the engine's LogSink); outlives the engine, which calls it.
  testing::CapturedLines lines_;
  testing::TaskThread caller_;
  std::unique_ptr<SandboxEngine> engine_;
  SandboxLauncher* launcher_ = nullptr; // owned by engine_
  int functions_ = 0;
  int requests_ = 0;
};

} // namespace surge::engine
