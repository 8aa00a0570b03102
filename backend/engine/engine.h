// The Engine: the small asynchronous interface the scheduler drives to start instances of a
// function version, invoke them, and stop them. Implementations: SandboxEngine (real sandboxed
// processes) and, in tests/, FakeEngine.
#pragma once

#include "common/log_line.h"
#include "common/mutex.h"
#include "common/peak_memory.h"
#include "common/runtime.h"

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace surge::engine {

// Runs a task on the caller's own thread or event loop. Every completion and event is delivered
// through it, never on the engine's threads. A task may run after the engine is gone (it refers
// only to the callback or the InstanceObserver, never to the engine), so the observer must
// outlive every task its executor has been given, not just the engine.
using Executor = std::function<void(std::function<void()>)>;

using InstanceId = uint64_t;

// What an instance runs: one version of one function.
struct InstanceSpec {
  std::string function;   // "namespace/name"
  int64_t functionId = 0; // the store's id; it picks the sandbox's uid (distinct per function)
  int64_t version = 0;
  std::filesystem::path codeDir; // the version's unpacked code
  common::Runtime runtime = common::Runtime::kPython3;
  std::string handler;
  std::string initializer;
  absl::Duration initializerTimeout = absl::Seconds(30);
  absl::Duration timeout = absl::Seconds(60);
  uint32_t memoryMb = 128;
  uint32_t concurrency = 1; // slots: requests the instance serves at once
  bool networkAccess = false;
  std::map<std::string, std::string> environment;

  // Equal specs make interchangeable instances (the scheduler pools them together).
  bool operator==(const InstanceSpec&) const = default;
};

// Lets the caller give up on an invocation. Thread-safe.
class CancellationToken {
public:
  // Idempotent. Runs the engine's hook (once) if one is set.
  void cancel();
  bool cancelled() const;
  // For engines and the scheduler: `hook` runs on cancel(), or at once if already cancelled.
  // Replaces any earlier hook; an empty one clears it.
  void setHook(std::function<void()> hook);

private:
  mutable common::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> hook_ ABSL_GUARDED_BY(mu_);
};

struct InvokeRequest {
  std::string requestId;
  std::string payload; // at most 6 MiB
  // When the caller stops waiting. The engine also ends the execution at the function's
  // timeout, whichever comes first.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  // When cancelled, the runtime is told (CANCEL) and the result is dropped; the slot stays
  // busy until the runtime finishes.
  std::shared_ptr<CancellationToken> cancellation;
  // Keep the last kLogTailBytes of what it prints for InvokeResult::logTail.
  bool wantLogTail = false;
};

// How the function's own execution ended badly. The platform's own faults are absl::Status
// errors instead.
struct FunctionError {
  // "HandlerError" (an uncaught exception; the instance stays usable), "Timeout",
  // "OutOfMemory", "Crashed" (exit code or signal), "InstanceLost" (another request's fault
  // killed the instance), or "InitializerError".
  std::string type;
  std::string message;
  std::string trace;
};

struct InvokeResult {
  std::string output;                 // the handler's result, when there is no error
  std::optional<FunctionError> error; // set when the execution failed
  // With InvokeRequest::wantLogTail: the last kLogTailBytes of the request's log lines, each
  // with its newline (whole lines where they fit).
  std::string logTail;
  // The request printed more than its cap: the rest was dropped, and a platform line says so.
  bool logsTruncated = false;
  absl::Duration execution; // from sending the request to its reply
  // Reads the instance's memory high-water mark from its cgroup: a file read, so for a thread
  // off the invoke path. Null when the engine cannot tell.
  common::PeakMemoryReaderPtr readPeakMemory;
};

// Log bytes a request may print before the rest is dropped (SandboxEngineOptions).
inline constexpr size_t kDefaultRequestLogBytes = 64u << 10;
inline constexpr size_t kLogTailBytes = 4u << 10;

// Receives every line an instance prints, in order, in batches, on the engine's loop: it must
// only queue them, never block.
using LogSink = std::function<void(std::vector<common::LogLinePtr> lines)>;

// How an invoke ended.
struct InvokeOutcome {
  enum class Kind {
    kCompleted, // it ran: `result` holds the output, or the function's own error
    kRefused,   // it did not run: the instance is gone, not ready, or has no free slot. The
                // caller may send it to another instance.
    kCancelled, // the caller's token was cancelled; whatever the runtime answered is dropped
  };
  Kind kind = Kind::kCompleted;
  InvokeResult result;
  std::string reason; // why, when refused or cancelled

  bool completed() const { return kind == Kind::kCompleted; }
  // The result, as with StatusOr: meaningful when completed().
  const InvokeResult* operator->() const { return &result; }
  InvokeResult* operator->() { return &result; }

  static InvokeOutcome fromResult(InvokeResult result) { return {Kind::kCompleted, std::move(result), ""}; }
  static InvokeOutcome refusedBecause(std::string reason) { return {Kind::kRefused, {}, std::move(reason)}; }
  static InvokeOutcome cancelledBecause(std::string reason) { return {Kind::kCancelled, {}, std::move(reason)}; }
};

// "completed", "refused", "cancelled".
std::string_view invokeKindName(InvokeOutcome::Kind kind);

using InvokeCallback = std::function<void(InvokeOutcome)>;

enum class StopMode {
  kNow,   // kill at once; in-flight requests end with InstanceLost
  kDrain, // take no new requests, finish the in-flight ones, then stop
};

struct InstanceExit {
  // "stopped" (after stop()), or why it died: "exit code 3", "killed by signal 9", "out of memory",
  // "timed out", "failed to start: ...".
  std::string reason;
  bool requested = false; // true when stop() asked for it
};

// How an instance was started.
enum class StartPath {
  kDirect, // a new sandbox was launched for it
  kStem,   // a pre-started sandbox (a stem) with the runtime already loaded received the code
  kZygote, // a new sandbox was forked from the Python zygote, its interpreter already loaded
};

// How a start ended, and whose fault it was when the instance did not become ready.
struct StartOutcome {
  enum class Kind {
    kReady,         // the instance serves `concurrency` requests
    kFunctionFault, // the function's own: its code did not load, its initializer failed or
                    // timed out, its runtime exited while starting
    kPlatformFault, // the platform's: the sandbox could not be created or did not come up
    kStopped,       // stop() ended the start: nobody's fault
  };
  Kind kind = Kind::kReady;
  std::string message; // why, when not ready
  StartPath path = StartPath::kDirect;

  bool ready() const { return kind == Kind::kReady; }
};

// "ready", "function fault", "platform fault", "stopped".
std::string_view startKindName(StartOutcome::Kind kind);

// Events about instances, delivered through the Executor.
class InstanceObserver {
public:
  virtual ~InstanceObserver() = default;
  // start() finished. When not ready, the instance is gone and onExit follows.
  virtual void onStarted(InstanceId id, const StartOutcome& outcome) = 0;
  // The instance is gone: stopped, or died (idle or busy; busy requests have had their callbacks).
  virtual void onExit(InstanceId id, const InstanceExit& exit) = 0;
};

// A kind of sandbox with network on, as the functions stored now would start it.
struct NetworkSandboxKind {
  common::Runtime runtime = common::Runtime::kPython3;
  uint32_t memoryMb = 128;
  auto operator<=>(const NetworkSandboxKind&) const = default;
};

// Thread-safe: every method may be called from any thread and returns without blocking.
class Engine {
public:
  virtual ~Engine() = default;

  // Starts an instance; onStarted reports when it can serve, or why it cannot.
  virtual InstanceId start(const InstanceSpec& spec) = 0;
  // Sends a request to a free slot of a ready instance; `done` runs once, through the Executor.
  // A request the instance cannot take is refused, never queued.
  virtual void invoke(InstanceId id, InvokeRequest request, InvokeCallback done) = 0;
  // Stops an instance; onExit follows. Stopping a gone instance does nothing.
  virtual void stop(InstanceId id, StopMode mode) = 0;
  // The network-on kinds that stored functions use. An engine that pre-starts sandboxes keeps
  // network-on ones of these kinds alone, and none at all while the set is empty: each costs a
  // network namespace and a helper process.
  virtual void setNetworkKinds(std::set<NetworkSandboxKind> kinds) = 0;
  // Pre-started sandboxes ready now, by runtime name ("python3", "nodejs"), for the metrics.
  virtual std::map<std::string, uint32_t> prestartedSandboxes() const = 0;
};

} // namespace surge::engine
