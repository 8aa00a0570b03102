// Scheduler: the thread-safe face of the resource scheduler. The SchedulerCore, the engine's
// events and every completion run on one event loop (Asio): the engine's own, or a thread of the
// scheduler's.
#pragma once

#include "common/clock.h"
#include "engine/engine.h"
#include "metrics/metrics_hub.h"
#include "scheduler/scheduler_types.h"

#include <absl/status/statusor.h>

#include <functional>
#include <memory>
#include <set>
#include <string>

namespace asio {
class io_context;
}

namespace surge::scheduler {

// What the engine factory returns: the engine, and optionally the loop it runs on.
struct EngineOnLoop {
  std::unique_ptr<engine::Engine> engine;
  // Set when the engine runs an Asio loop and, given an empty executor, posts its events there:
  // the scheduler then runs on that loop too, so a warm invoke crosses no thread between the
  // scheduler and the instance. Null: the scheduler runs a loop thread of its own.
  asio::io_context* loop = nullptr;
};

// Builds the engine with the executor and observer it must deliver through. `executor` posts to
// the scheduler's own loop; an engine that returns its loop should ignore it and deliver there.
using EngineFactory =
    std::function<absl::StatusOr<EngineOnLoop>(engine::Executor executor, engine::InstanceObserver& observer)>;

// Receives each second's metrics, on the scheduler's loop, just after the second ends: it must
// only hand the frame on (MetricsHub::publish, a queue), never block.
using FrameSink = std::function<void(metrics::FramePtr)>;

// Thread-safe: every method posts to the loop and returns at once. Callbacks run on the loop
// thread and must not block.
class Scheduler {
public:
  // With `onSecond`, the loop ends each second of `clock` (SchedulerCore::rollMetrics) and hands
  // the frame over; without, no metrics are rolled. With `onRecord`, every answer leaves a record.
  static absl::StatusOr<std::unique_ptr<Scheduler>> create(const EngineFactory& makeEngine, const common::Clock& clock,
                                                           SchedulerOptions options = {}, FrameSink onSecond = {},
                                                           RecordSink onRecord = {});
  // Fails the waiters with UNAVAILABLE, stops every instance, destroys the engine, joins the loop.
  ~Scheduler();

  void submit(Invocation invocation, InvocationCallback done);
  void update(FunctionDefinitionPtr function);
  void remove(const std::string& key);
  void status(const std::string& key, std::function<void(FunctionStatus)> done);
  // Passes on to the engine which network-on sandboxes are worth pre-starting.
  void setNetworkKinds(std::set<engine::NetworkSandboxKind> kinds);
  // What the function's reservation windows ask for now (SchedulerCore::setScheduledTarget).
  void setScheduledTarget(FunctionDefinitionPtr function, ScheduledTarget target);

private:
  struct Loop;
  Scheduler();
  std::unique_ptr<Loop> loop_;
};

} // namespace surge::scheduler
