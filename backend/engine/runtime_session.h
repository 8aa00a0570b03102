// The runtime protocol as one instance's session sees it (docs/runtime-protocol.md): the INIT and
// INVOKE frames it sends, the ERROR and INITERROR bodies it reads, and its requests in flight,
// each with its callback, its timer, its log and its cancellation, until the reply, the timeout
// or the instance's exit ends it with an outcome. On the engine's loop thread only.
#pragma once

#include "engine/engine.h"
#include "engine/frame_codec.h"
#include "engine/instance_channel.h"

#include <absl/time/time.h>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace surge::engine {

using SteadyClock = std::chrono::steady_clock;

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

struct PendingRequest {
  InvokeCallback done;
  std::unique_ptr<asio::steady_timer> timer;
  RequestLog log;
  SteadyClock::time_point sent;
  std::shared_ptr<CancellationToken> cancellation;
  bool cancelled = false;
  absl::Duration limit; // the function's timeout, or less when the caller's deadline is nearer
};

// The requests in flight on one instance.
class RuntimeSession {
public:
  size_t size() const { return requests_.size(); }
  bool empty() const { return requests_.empty(); }
  // Why `requestId` cannot be sent to an instance with `concurrency` slots, or nullopt.
  std::optional<std::string> refusal(InstanceId id, const std::string& requestId, uint32_t concurrency) const;
  // A new request in flight (the caller fills it in).
  PendingRequest& add(const std::string& requestId) { return requests_[requestId]; }
  // The request, out of the session; nullopt when it is not in flight (it timed out, say).
  std::optional<PendingRequest> remove(const std::string& requestId);
  // Marks a request cancelled; true the first time, when CANCEL is to be sent.
  bool cancel(const std::string& requestId);
  // A LOG frame: tagged output of one request.
  void log(const std::string& requestId, std::string_view data);
  // Output on the raw descriptors cannot be tagged; it belongs to the request only when one runs.
  void output(std::string_view data) {
    if (requests_.size() == 1) requests_.begin()->second.log.append(data);
  }
  // Every request still in flight, out of the session (the instance is gone).
  std::map<std::string, PendingRequest> removeAll() { return std::exchange(requests_, {}); }

private:
  std::map<std::string, PendingRequest> requests_;
};

// The outcome of a request answered with RESULT or ERROR `frame` at `now`.
InvokeOutcome replyOutcome(PendingRequest& pending, Frame&& frame, SteadyClock::time_point now);
// The outcome of a request that ran past its limit.
InvokeOutcome timeoutOutcome(PendingRequest& pending, SteadyClock::time_point now);
// The outcome of a request whose instance ended with `error` while it ran.
InvokeOutcome lostOutcome(PendingRequest& pending, const FunctionError& error, SteadyClock::time_point now);

} // namespace surge::engine
