// The engine's event loop thread, its spin, and the delivery of what it reports.
#include "engine/engine_loop.h"

#include <asio/post.hpp>

#include <sched.h>

namespace surge::engine {

EngineLoop::EngineLoop(Executor executor, InstanceObserver& observer, std::chrono::microseconds spin,
                       size_t spinMaxInFlight)
    : executor_(std::move(executor)), observer_(observer), spin_(spin), spinMaxInFlight_(spinMaxInFlight),
      work_(asio::make_work_guard(io_)), thread_([this] { run(); }) {}

EngineLoop::~EngineLoop() { stop(); }

void EngineLoop::stop() {
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

// With a spin, after each burst of work the thread keeps polling for `spin_` before it sleeps,
// as long as few requests are in flight: the reply to a request just written (or the next
// request of a caller that just got its reply) usually comes within that, and a sleeping thread
// wakes slowly on these VMs (tens of microseconds a wake-up). With more requests in flight the
// loop has work anyway, and spinning would take the CPU the instances need. sched_yield() lets
// any other thread ready on this CPU go first.
void EngineLoop::run() {
  if (spin_ <= std::chrono::microseconds::zero()) {
    io_.run();
    return;
  }
  auto lastWork = std::chrono::steady_clock::now();
  while (!io_.stopped()) {
    if (io_.poll() > 0) {
      lastWork = std::chrono::steady_clock::now();
    } else if (requestsInFlight > spinMaxInFlight_ || std::chrono::steady_clock::now() - lastWork >= spin_) {
      io_.run_one(); // sleeps until there is work, or the loop stops
      lastWork = std::chrono::steady_clock::now();
    } else {
      ::sched_yield();
    }
  }
}

void EngineLoop::deliver(std::function<void()> task) {
  if (executor_) return executor_(std::move(task));
  asio::post(io_, std::move(task));
}

void EngineLoop::complete(InvokeCallback done, InvokeOutcome result) {
  deliver([done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); });
}

void EngineLoop::notifyStarted(InstanceId id, StartOutcome outcome) {
  deliver([&observer = observer_, id, outcome = std::move(outcome)] { observer.onStarted(id, outcome); });
}

void EngineLoop::notifyExit(InstanceId id, InstanceExit exit) {
  deliver([&observer = observer_, id, exit = std::move(exit)] { observer.onExit(id, exit); });
}

} // namespace surge::engine
