// One instance of the SandboxEngine as the engine's parts share it: its sandbox and process, its
// lifecycle state, its channel, its requests in flight, and the facts its exit report reads.
// On the engine's loop thread only.
#pragma once

#include "engine/engine.h"
#include "engine/exit_classification.h"
#include "engine/instance_channel.h"
#include "engine/instance_state.h"
#include "engine/output_capture.h"
#include "engine/sandbox_launcher.h"

#include <absl/status/status.h>
#include <absl/time/time.h>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace surge::engine {

using SteadyClock = std::chrono::steady_clock;

struct PendingRequest {
  InvokeCallback done;
  std::unique_ptr<asio::steady_timer> timer;
  RequestLog log;
  SteadyClock::time_point sent;
  std::shared_ptr<CancellationToken> cancellation;
  bool cancelled = false;
  absl::Duration limit; // the function's timeout, or less when the caller's deadline is nearer
};

// The requests in flight on one instance, by request id.
class InFlightRequests {
public:
  size_t size() const { return requests_.size(); }
  bool empty() const { return requests_.empty(); }
  // Whether a request `requestId` fits in `concurrency` slots (and is not in flight already).
  bool hasRoomFor(const std::string& requestId, uint32_t concurrency) const {
    return requests_.size() < concurrency && !requests_.contains(requestId);
  }
  // A new request in flight (the caller fills it in).
  PendingRequest& add(const std::string& requestId) { return requests_[requestId]; }
  // The request, out of the table, its hook on the caller's cancellation token cleared; nullopt
  // when it is not in flight (it timed out, say).
  std::optional<PendingRequest> remove(const std::string& requestId);
  // Marks a request cancelled; true the first time, when CANCEL is to be sent.
  bool cancel(const std::string& requestId);
  // The request in flight with this id; null when there is none.
  PendingRequest* find(const std::string& requestId) {
    auto it = requests_.find(requestId);
    return it == requests_.end() ? nullptr : &it->second;
  }
  // The one request in flight, which output on the raw descriptors can be said to come from;
  // null when none or several run.
  std::pair<const std::string, PendingRequest>* only() { return requests_.size() == 1 ? &*requests_.begin() : nullptr; }
  // Every request still in flight, out of the table (the instance is gone).
  std::map<std::string, PendingRequest> removeAll();

private:
  std::map<std::string, PendingRequest> requests_;
};

struct Instance {
  explicit Instance(asio::io_context& io) : channel(io) {}

  InstanceId id = 0;
  InstanceSpec spec;
  SandboxSpec sandbox;
  SandboxProcess process;
  InstanceState state = InstanceState::kLaunching; // changed by the engine's apply() alone
  StartPath path = StartPath::kDirect;
  InstanceChannel channel;
  InFlightRequests requests;
  InstanceOutput output; // lines not yet complete, of no request the runtime named
  // Reads its cgroup's memory high-water mark (memoryPeakReader); set once launched.
  common::PeakMemoryReaderPtr readPeakMemory;
  std::unique_ptr<asio::posix::stream_descriptor> pidfd;
  std::unique_ptr<asio::steady_timer> lifeTimer; // stem load, initializer timeout, or drain grace
  // Pooled sandboxes: their own folder, bound at /code, that receives the code by hard links.
  std::filesystem::path sandboxDir;
  // What its exit report reads (ExitFacts). Facts, not states: they say what happened, in
  // whichever state it happened.
  std::optional<FunctionError> killedFor; // why the engine killed it, for the requests it takes down
  absl::Status platformStartFailure;      // the platform, not the function, failed the start
  // The runtime has said LOADED (any start, pooled or not): until then none of the function's
  // code has run, so with one of our own shims an exit before it is the platform's fault.
  bool saidLoaded = false;
  bool stopRequested = false; // the platform asked for its end (stop(), or a retired stem)
  // A task pending rather than a state: taken from the pool, the pool is refilled once this
  // start has served its first request, or kRefillDelay after READY, or when it fails or exits,
  // whichever comes first, in whatever state it is then.
  bool refillPending = false;
  std::unique_ptr<asio::steady_timer> refillTimer;

  // What exit_classification needs to know, once the process has ended with `waitStatus`.
  ExitFacts exitFacts(int waitStatus, bool oomKilled) const;
};
using InstancePtr = std::shared_ptr<Instance>;

// What an event brings for InstanceAction::kRecordCause.
struct Cause {
  std::optional<FunctionError> error; // killedFor
  absl::Status platform;              // platformStartFailure
};

// Where the runtime session hands what changes an instance's lifecycle: the engine, which owns
// the state machine and the pool. Called on the loop thread, never per request on the warm path.
class LifecycleHandler {
public:
  // Applies `event` (instance_state.h); false when the state machine ignored it.
  virtual bool apply(const InstancePtr& instance, InstanceEvent event, Cause cause) = 0;
  // A start taken from the pool answered its first request (refillPending is set).
  virtual void firstReplySent(const InstancePtr& instance) = 0;

protected:
  ~LifecycleHandler() = default;
};

} // namespace surge::engine
