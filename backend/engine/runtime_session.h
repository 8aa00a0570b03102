// The runtime protocol as the engine speaks it to its instances (docs/runtime-protocol.md): INIT
// and the initializer's timer; INVOKE, each request's timeout and CANCEL; the frames that come
// back (LOADED, READY, INITERROR, RESULT, ERROR, LOG); and the outcomes of requests that end by
// a reply, a timeout or the instance's exit. What changes an instance's lifecycle goes to the
// LifecycleHandler (the engine). On the engine's loop thread only.
#pragma once

#include "engine/engine.h"
#include "engine/engine_loop.h"
#include "engine/frame_codec.h"
#include "engine/instance.h"

#include <absl/status/status.h>
#include <absl/time/time.h>

#include <string>
#include <string_view>

namespace surge::engine {

// "3" for 3 s, "0.5" for 500 ms: how timeouts read in errors.
std::string seconds(absl::Duration d);
// INIT: the function's handler, initializer, limits and environment, one "key=value" a line.
Frame initFrame(const InstanceSpec& spec);
// An ERROR or INITERROR body: "type\nmessage\ntrace".
FunctionError parseError(const std::string& body);
// Why a start failed when its runtime said INITERROR with `body`.
FunctionError initializerError(const std::string& body);
// Why a start was killed when READY did not come within the initializer's timeout plus a margin.
FunctionError initializerTimeout(absl::Duration initializerTimeout);

// The outcome of a request answered with RESULT or ERROR `frame` at `now`.
InvokeOutcome replyOutcome(PendingRequest& pending, Frame&& frame, SteadyClock::time_point now);
// The outcome of a request that ran past its limit.
InvokeOutcome timeoutOutcome(PendingRequest& pending, SteadyClock::time_point now);
// The outcome of a request whose instance ended with `error` while it ran.
InvokeOutcome lostOutcome(PendingRequest& pending, const FunctionError& error, SteadyClock::time_point now);

class RuntimeSession {
public:
  // `logSink` receives every line instances print (it may be empty); a request keeps
  // `requestLogBytes` of them.
  RuntimeSession(EngineLoop& loop, LifecycleHandler& lifecycle, LogSink logSink, size_t requestLogBytes)
      : loop_(loop), lifecycle_(lifecycle), logSink_(std::move(logSink)), requestLogBytes_(requestLogBytes) {}

  // What an instance's channel reports (see InstanceChannel). It holds the instance, which keeps
  // the channel alive until its last completion has run.
  struct ChannelEvents {
    RuntimeSession* session;
    InstancePtr instance;
    void onFrame(Frame&& frame) { session->onFrame(instance, std::move(frame)); }
    void onBroken(const absl::Status& status) { session->onBroken(instance, status); }
    void onOutput(bool isStdout, std::string_view data) { session->onOutput(instance, isStdout, data); }
  };
  ChannelEvents eventsOf(const InstancePtr& instance) { return {this, instance}; }

  // A stem has kStemLoadTimeout to say LOADED (InstanceEvent::kLoadTimeout).
  void awaitLoaded(const InstancePtr& instance);
  // Hands the instance its function: INIT, then READY within the initializer's timeout
  // (InstanceEvent::kInitTimeout).
  void sendInit(const InstancePtr& instance);
  // Drain: STOP once idle; a kill (kDrainTimeout) if the runtime has not exited after the
  // function timeout plus a grace.
  void startDrain(const InstancePtr& instance);
  // Sends a request to a ready instance with a free slot; refuses it otherwise.
  // `calledAt`: when the caller called invoke(), on its own thread.
  void invoke(const InstancePtr& instance, InvokeRequest request, InvokeCallback done,
              SteadyClock::time_point calledAt);
  void onFrame(const InstancePtr& instance, Frame&& frame);
  void onBroken(const InstancePtr& instance, const absl::Status& status);
  // What the process wrote to its stdout or stderr pipe, bypassing the runtime.
  void onOutput(const InstancePtr& instance, bool isStdout, std::string_view data);
  // The instance's process has ended: every request still in flight ends with `error`.
  void failAll(Instance& instance, const FunctionError& error);
  // After failAll(): what is left without a newline goes out as the instance's last lines, and
  // with a non-empty `exitReason` a platform line says how it ended.
  void flushOutput(Instance& instance, const std::string& exitReason);

private:
  void onLog(const InstancePtr& instance, Frame&& frame);
  // The request is over: what it left without a newline goes out as its last lines, and, when
  // it ran `alone`, what the raw pipes hold too.
  void closeLog(Instance& instance, const std::string& requestId, PendingRequest& pending, bool alone);
  // A request that ended with ERROR `body`: its error and trace as its last stderr lines.
  void logError(const Instance& instance, const std::string& requestId, PendingRequest& pending,
                const std::string& body);
  LineBatch linesOf(const Instance& instance) const;
  void onReply(const InstancePtr& instance, Frame&& frame);
  void onCancel(const InstancePtr& instance, const std::string& requestId);
  void onTimeout(const InstancePtr& instance, const std::string& requestId);

  EngineLoop& loop_;
  LifecycleHandler& lifecycle_;
  const LogSink logSink_;
  const size_t requestLogBytes_;
};

} // namespace surge::engine
