// Scheduler: the loop thread, its timer, and the hand-off into the SchedulerCore.
#include "scheduler/scheduler.h"

#include "scheduler/scheduler_core.h"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <future>
#include <optional>
#include <thread>

namespace surge::scheduler {

struct Scheduler::Loop final : engine::InstanceObserver {
  asio::io_context ownIo;
  asio::io_context* io = &ownIo; // the engine's, when it shares its loop
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::unique_ptr<asio::steady_timer> timer;
  std::optional<SteadyTime> armedAt;
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<SchedulerCore> core;
  std::thread thread; // only with a loop of our own
  // The metrics' second: rolled just after each whole second of `clock`.
  const common::Clock* clock = nullptr;
  FrameSink onSecond;
  std::unique_ptr<asio::steady_timer> secondTimer;
  int64_t lastRolled = 0;

  // Every task ends by re-arming the timer: whatever it did may have added an earlier deadline.
  void post(std::function<void()> task) {
    asio::post(*io, [this, task = std::move(task)] {
      task();
      rearm();
    });
  }

  // Runs `task` on the loop and waits for it; never call from the loop itself.
  void runAndWait(std::function<void()> task) {
    std::promise<void> done;
    asio::post(*io, [&] {
      task();
      done.set_value();
    });
    done.get_future().wait();
  }

  void rearm() {
    if (!core || !timer) return;
    const std::optional<SteadyTime> next = core->nextWakeup();
    if (!next || (armedAt && *armedAt <= *next)) return;
    armedAt = next;
    timer->expires_at(*next);
    timer->async_wait([this](const asio::error_code& error) {
      if (error) return; // re-armed earlier, or shutting down
      armedAt.reset();
      if (!core) return;
      core->onTimer();
      rearm();
    });
  }

  void armSecond() {
    const absl::Time now = clock->now();
    const absl::Duration intoSecond = now - absl::FromUnixSeconds(absl::ToUnixSeconds(now));
    // A millisecond past the boundary, so that the second has surely ended by the clock.
    secondTimer->expires_after(absl::ToChronoNanoseconds(absl::Seconds(1) - intoSecond + absl::Milliseconds(1)));
    secondTimer->async_wait([this](const asio::error_code& error) {
      // Shutting down: a wait that had already fired may still run after the timer is gone.
      if (error || !core || !secondTimer) return;
      const int64_t second = absl::ToUnixSeconds(clock->now()) - 1;
      if (second > lastRolled) { // a clock that stood still (in tests) ends no second twice
        lastRolled = second;
        onSecond(std::make_shared<const metrics::Frame>(core->rollMetrics(second)));
      }
      armSecond();
    });
  }

  // Engine events may set new wake-ups (start retries, the idle sweep once instances exist).
  void onStarted(engine::InstanceId id, const engine::StartOutcome& outcome) override {
    if (!core) return;
    core->onStarted(id, outcome);
    rearm();
  }
  void onExit(engine::InstanceId id, const engine::InstanceExit& exit) override {
    if (!core) return;
    core->onExit(id, exit);
    rearm();
  }
};

Scheduler::Scheduler() : loop_(std::make_unique<Loop>()) {}

absl::StatusOr<std::unique_ptr<Scheduler>> Scheduler::create(const EngineFactory& makeEngine,
                                                             const common::Clock& clock, SchedulerOptions options,
                                                             FrameSink onSecond, RecordSink onRecord) {
  std::unique_ptr<Scheduler> scheduler(new Scheduler());
  Loop& loop = *scheduler->loop_;
  auto made = makeEngine([&loop](std::function<void()> task) { loop.post(std::move(task)); }, loop);
  if (!made.ok()) return made.status();
  loop.engine = std::move(made->engine);
  if (made->loop) loop.io = made->loop;
  loop.timer = std::make_unique<asio::steady_timer>(*loop.io);
  loop.core = std::make_unique<SchedulerCore>(
      *loop.engine, clock, [&loop](std::function<void()> task) { loop.post(std::move(task)); }, options);
  if (onRecord) loop.core->recordInto(std::move(onRecord));
  if (onSecond) {
    loop.clock = &clock;
    loop.onSecond = std::move(onSecond);
    loop.secondTimer = std::make_unique<asio::steady_timer>(*loop.io);
    asio::post(*loop.io, [&loop] { loop.armSecond(); });
  }
  if (!made->loop) {
    loop.work.emplace(asio::make_work_guard(loop.ownIo));
    loop.thread = std::thread([&loop] { loop.ownIo.run(); });
  }
  return scheduler;
}

Scheduler::~Scheduler() {
  Loop& loop = *loop_;
  loop.runAndWait([&] { loop.core->shutdown(); });
  if (loop.io == &loop.ownIo) {
    // The engine's destructor kills what is left; the events it posted to our loop before it
    // stopped its own may still be queued there, and still run (they call this Loop, the
    // observer); only then does the core go.
    loop.engine.reset();
    loop.runAndWait([&] {
      loop.core.reset();
      loop.timer.reset();
      loop.secondTimer.reset();
    });
    loop.work.reset();
    loop.thread.join();
  } else {
    // On the engine's loop: the timer goes first, on the loop; the engine's destructor then
    // stops the loop and drops the events still queued (completions included, which hold the
    // core), so the core goes last, with nothing left to call it.
    loop.runAndWait([&] {
      loop.timer.reset();
      loop.secondTimer.reset();
    });
    loop.engine.reset();
    loop.core.reset();
  }
}

void Scheduler::submit(Invocation invocation, InvocationCallback done) {
  loop_->post([this, invocation = std::move(invocation), done = std::move(done)]() mutable {
    loop_->core->submit(std::move(invocation), std::move(done));
  });
}

void Scheduler::update(FunctionDefinitionPtr function) {
  loop_->post([this, function = std::move(function)]() mutable { loop_->core->update(std::move(function)); });
}

void Scheduler::remove(const std::string& key) {
  loop_->post([this, key] { loop_->core->remove(key); });
}

void Scheduler::setNetworkKinds(std::set<engine::NetworkSandboxKind> kinds) {
  loop_->post([this, kinds = std::move(kinds)]() mutable { loop_->engine->setNetworkKinds(std::move(kinds)); });
}

void Scheduler::setScheduledTarget(FunctionDefinitionPtr function, ScheduledTarget target) {
  loop_->post([this, function = std::move(function), target]() mutable {
    loop_->core->setScheduledTarget(std::move(function), target);
  });
}

void Scheduler::status(const std::string& key, std::function<void(FunctionStatus)> done) {
  loop_->post([this, key, done = std::move(done)] { done(loop_->core->status(key)); });
}

} // namespace surge::scheduler
