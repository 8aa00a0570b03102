// The engine's event loop: the one thread that owns every instance (with the optional spin that
// cuts a warm invoke's wake-ups), and the delivery of completions and events to the caller's
// Executor. See docs/engine.md, "Threads".
#pragma once

#include "engine/engine.h"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <chrono>
#include <thread>

namespace surge::engine {

class EngineLoop {
public:
  // Starts the loop thread. `spin`: how long the thread polls after a burst of work before it
  // sleeps, while at most `spinMaxInFlight` requests are in flight (zero: it sleeps at once).
  EngineLoop(Executor executor, InstanceObserver& observer, std::chrono::microseconds spin, size_t spinMaxInFlight);
  // Stops the loop (dropping what is queued on it) if stop() has not.
  ~EngineLoop();
  EngineLoop(const EngineLoop&) = delete;
  EngineLoop& operator=(const EngineLoop&) = delete;

  asio::io_context& io() { return io_; }
  // Stops the loop and joins its thread: no handler runs after this, and nothing more reaches
  // the Executor. Not from the loop thread.
  void stop();

  // The rest is for the loop thread only.
  // Through the caller's executor; without one, as a task of its own on this loop (never inline).
  // Called on the loop only, so that once the loop has stopped nothing more reaches the
  // executor. A task must not refer to the engine: the executor may run it after the engine is
  // gone, so it holds the callback or the observer, which are the caller's.
  void deliver(std::function<void()> task);
  void complete(InvokeCallback done, InvokeOutcome result);
  void notifyStarted(InstanceId id, StartOutcome outcome);
  void notifyExit(InstanceId id, InstanceExit exit);

  // Requests in flight on all instances: the spin stops above spinMaxInFlight.
  size_t requestsInFlight = 0;

private:
  void run();

  Executor executor_;
  InstanceObserver& observer_;
  const std::chrono::microseconds spin_;
  const size_t spinMaxInFlight_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

} // namespace surge::engine
