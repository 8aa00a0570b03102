// Scheduler: the thread-safe face of the resource scheduler. It owns one event loop (Asio) on
// its own thread; the SchedulerCore, the engine's events and every completion run there.
#pragma once

#include "common/clock.h"
#include "engine/engine.h"
#include "scheduler/scheduler_types.h"

#include <absl/status/statusor.h>

#include <functional>
#include <memory>
#include <string>

namespace surge::scheduler {

// Builds the engine with the executor and observer it must deliver through.
using EngineFactory = std::function<absl::StatusOr<std::unique_ptr<engine::Engine>>(engine::Executor executor,
                                                                                    engine::InstanceObserver& observer)>;

// Thread-safe: every method posts to the loop and returns at once. Callbacks run on the loop
// thread and must not block.
class Scheduler {
public:
  static absl::StatusOr<std::unique_ptr<Scheduler>> create(const EngineFactory& makeEngine, const common::Clock& clock,
                                                           SchedulerOptions options = {});
  // Fails the waiters with UNAVAILABLE, stops every instance, destroys the engine, joins the loop.
  ~Scheduler();

  void submit(Invocation invocation, InvocationCallback done);
  void update(FunctionDefinitionPtr function);
  void remove(const std::string& key);
  void status(const std::string& key, std::function<void(FunctionStatus)> done);

private:
  struct Loop;
  Scheduler();
  std::unique_ptr<Loop> loop_;
};

} // namespace surge::scheduler
