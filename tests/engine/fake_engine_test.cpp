// The FakeEngine keeps the Engine contract that the scheduler is written against.
#include "support/fake_engine.h"

#include <gtest/gtest.h>

#include <deque>

namespace surge::testing {
namespace {

// Runs posted tasks when the test says so, like a scheduler loop driven by hand.
struct ManualLoop {
  std::deque<std::function<void()>> tasks;
  void runAll() {
    while (!tasks.empty()) {
      auto task = std::move(tasks.front());
      tasks.pop_front();
      task();
    }
  }
};

struct Recorder : engine::InstanceObserver {
  std::vector<std::pair<engine::InstanceId, engine::StartOutcome>> ready;
  std::vector<std::pair<engine::InstanceId, engine::InstanceExit>> exits;
  void onStarted(engine::InstanceId id, const engine::StartOutcome& s) override { ready.emplace_back(id, s); }
  void onExit(engine::InstanceId id, const engine::InstanceExit& e) override { exits.emplace_back(id, e); }
};

engine::InstanceSpec spec(uint32_t concurrency) {
  engine::InstanceSpec s;
  s.function = "default/f";
  s.concurrency = concurrency;
  return s;
}

TEST(FakeEngine, DeliversEverythingThroughTheExecutorOnly) {
  ManualLoop loop;
  Recorder recorder;
  FakeEngine engine([&](std::function<void()> task) { loop.tasks.push_back(std::move(task)); }, recorder);
  const auto id = engine.start(spec(2));
  engine.finishStart(id);
  EXPECT_TRUE(recorder.ready.empty()) << "nothing runs before the loop does";
  loop.runAll();
  ASSERT_EQ(recorder.ready.size(), 1u);
  EXPECT_TRUE(recorder.ready[0].second.ready());

  std::vector<std::string> results;
  auto collect = [&](engine::InvokeOutcome r) { results.push_back(r.completed() ? r->output : "refused"); };
  engine.invoke(id, {"r1", "a", {}, nullptr}, collect);
  engine.invoke(id, {"r2", "b", {}, nullptr}, collect);
  engine.invoke(id, {"r3", "c", {}, nullptr}, collect); // concurrency 2: no slot
  loop.runAll();
  EXPECT_EQ(results, std::vector<std::string>{"refused"});
  EXPECT_EQ(engine.inflightRequests().size(), 2u);
  engine::InvokeResult done;
  done.output = "ok";
  engine.finishInvoke("r2", engine::InvokeOutcome::fromResult(done));
  loop.runAll();
  EXPECT_EQ(results.back(), "ok");
}

TEST(FakeEngine, DrainWaitsForInflightAndCrashEndsRequests) {
  ManualLoop loop;
  Recorder recorder;
  FakeEngine engine([&](std::function<void()> task) { loop.tasks.push_back(std::move(task)); }, recorder);
  const auto id = engine.start(spec(1));
  engine.finishStart(id);
  std::optional<engine::InvokeResult> result;
  engine.invoke(id, {"r1", "", {}, nullptr}, [&](engine::InvokeOutcome r) { result = r.result; });
  engine.stop(id, engine::StopMode::kDrain);
  loop.runAll();
  EXPECT_TRUE(recorder.exits.empty());
  engine.finishInvoke("r1", engine::InvokeOutcome::fromResult({}));
  loop.runAll();
  ASSERT_EQ(recorder.exits.size(), 1u);
  EXPECT_TRUE(recorder.exits[0].second.requested);

  const auto other = engine.start(spec(1));
  engine.finishStart(other);
  engine.invoke(other, {"r2", "", {}, nullptr}, [&](engine::InvokeOutcome r) { result = r.result; });
  engine.crash(other, "killed by signal 9");
  loop.runAll();
  ASSERT_TRUE(result->error.has_value());
  EXPECT_EQ(result->error->type, "Crashed");
  EXPECT_EQ(recorder.exits.back().second.reason, "killed by signal 9");
}

} // namespace
} // namespace surge::testing
