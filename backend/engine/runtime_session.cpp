// The runtime protocol as the engine speaks it: frames, requests in flight and their outcomes.
#include "engine/runtime_session.h"

#include "common/absl_compat.h"
#include "engine/sandbox_constants.h"

#include <absl/strings/str_cat.h>
#include <asio/post.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace surge::engine {
namespace {

constexpr auto kDrainGrace = std::chrono::seconds(10);
// A pre-started runtime that has not said LOADED by then is killed.
constexpr auto kStemLoadTimeout = std::chrono::seconds(60);
// Loading the handler plus the initializer may take the initializer's timeout, plus this margin
// for the interpreter itself.
constexpr auto kInitMargin = std::chrono::seconds(10);

// Output before READY is the start's: loading the handler and running the initializer.
bool starting(InstanceState state) {
  return state == InstanceState::kLaunching || state == InstanceState::kLinking ||
         state == InstanceState::kInitializing || state == InstanceState::kAborting;
}

common::LogStream streamOf(bool isStdout) { return isStdout ? common::LogStream::kStdout : common::LogStream::kStderr; }

} // namespace

std::string seconds(absl::Duration d) {
  const double s = absl::ToDoubleSeconds(d);
  return s == static_cast<int64_t>(s) ? absl::StrCat(static_cast<int64_t>(s)) : absl::StrCat(s);
}

Frame initFrame(const InstanceSpec& spec) {
  Frame init{"INIT", "-", {}, ""};
  auto line = [&](std::string_view key, std::string_view value) {
    absl::StrAppend(&init.body, common::toAbsl(key), "=", common::toAbsl(value), "\n");
  };
  line("handler", spec.handler);
  line("initializer", spec.initializer);
  line("initializer_timeout_ms", std::to_string(absl::ToInt64Milliseconds(spec.initializerTimeout)));
  line("function", spec.function);
  line("version", std::to_string(spec.version));
  line("memory_mb", std::to_string(spec.memoryMb));
  line("timeout_ms", std::to_string(absl::ToInt64Milliseconds(spec.timeout)));
  line("concurrency", std::to_string(spec.concurrency));
  line("code_dir", sandbox::kCodeDir);
  for (const auto& [key, value] : spec.environment) line("env." + key, value);
  return init;
}

FunctionError parseError(const std::string& body) {
  FunctionError error;
  const size_t first = body.find('\n');
  error.type = body.substr(0, first);
  if (first != std::string::npos) {
    const size_t second = body.find('\n', first + 1);
    error.message = body.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
    if (second != std::string::npos) error.trace = body.substr(second + 1);
  }
  return error;
}

FunctionError initializerError(const std::string& body) {
  auto error = parseError(body);
  return FunctionError{"InitializerError", absl::StrCat(error.type, ": ", error.message), error.trace};
}

FunctionError initializerTimeout(absl::Duration initializerTimeout) {
  return FunctionError{"InitializerError",
                       absl::StrCat("initializer timed out after ", seconds(initializerTimeout), " s"), ""};
}

InvokeOutcome replyOutcome(PendingRequest& pending, Frame&& frame, SteadyClock::time_point now) {
  InvokeResult result;
  result.execution = absl::FromChrono(now - pending.sent);
  if (frame.type == "RESULT") {
    result.output = std::move(frame.body);
  } else {
    auto error = parseError(frame.body);
    result.error = FunctionError{"HandlerError", absl::StrCat(error.type, ": ", error.message), error.trace};
  }
  pending.log.finishInto(result);
  if (pending.cancelled) return InvokeOutcome::cancelledBecause("the invocation was cancelled");
  return InvokeOutcome::fromResult(std::move(result));
}

InvokeOutcome timeoutOutcome(PendingRequest& pending, SteadyClock::time_point now) {
  InvokeResult result;
  result.execution = absl::FromChrono(now - pending.sent);
  result.error = FunctionError{
      "Timeout",
      absl::StrCat("timed out after ",
                   seconds(absl::Trunc(pending.limit + absl::Microseconds(500), absl::Milliseconds(1))), " s"),
      ""};
  pending.log.finishInto(result);
  return InvokeOutcome::fromResult(std::move(result));
}

InvokeOutcome lostOutcome(PendingRequest& pending, const FunctionError& error, SteadyClock::time_point now) {
  InvokeResult result;
  result.execution = absl::FromChrono(now - pending.sent);
  result.error = error;
  pending.log.finishInto(result);
  return InvokeOutcome::fromResult(std::move(result));
}

void RuntimeSession::awaitLoaded(const InstancePtr& instance) {
  // Not in the pool before its runtime has loaded and says so (LOADED): a stem taken earlier
  // would make the start wait for the interpreter after all.
  instance->lifeTimer = std::make_unique<asio::steady_timer>(loop_.io(), kStemLoadTimeout);
  instance->lifeTimer->async_wait([this, instance](const asio::error_code& ec) {
    if (!ec && lifecycle_.apply(instance, InstanceEvent::kLoadTimeout, {})) {
      spdlog::warn("a pre-started sandbox did not load its runtime within {} s", kStemLoadTimeout.count());
    }
  });
}

void RuntimeSession::sendInit(const InstancePtr& instance) {
  instance->channel.send(initFrame(instance->spec), instance);
  instance->lifeTimer = std::make_unique<asio::steady_timer>(
      loop_.io(), absl::ToChronoSeconds(instance->spec.initializerTimeout) + kInitMargin);
  instance->lifeTimer->async_wait([this, instance](const asio::error_code& ec) {
    if (!ec)
      lifecycle_.apply(instance, InstanceEvent::kInitTimeout,
                       {initializerTimeout(instance->spec.initializerTimeout), {}});
  });
}

void RuntimeSession::startDrain(const InstancePtr& instance) {
  if (instance->requests.empty()) instance->channel.send(Frame{"STOP", "-", {}, ""}, instance);
  instance->lifeTimer =
      std::make_unique<asio::steady_timer>(loop_.io(), kDrainGrace + absl::ToChronoSeconds(instance->spec.timeout));
  instance->lifeTimer->async_wait([this, instance](const asio::error_code& ec) {
    if (!ec) lifecycle_.apply(instance, InstanceEvent::kDrainTimeout, {});
  });
}

void RuntimeSession::invoke(const InstancePtr& instance, InvokeRequest request, InvokeCallback done,
                            SteadyClock::time_point calledAt) {
  if (instance->state != InstanceState::kReady) {
    return loop_.complete(std::move(done),
                          InvokeOutcome::refusedBecause(absl::StrCat("instance ", instance->id, " is not ready")));
  }
  if (!instance->requests.hasRoomFor(request.requestId, instance->spec.concurrency)) {
    return loop_.complete(std::move(done),
                          InvokeOutcome::refusedBecause(absl::StrCat("instance ", instance->id, " has no free slot")));
  }
  const auto now = SteadyClock::now();
  const auto limit = now + absl::ToChronoMilliseconds(instance->spec.timeout);
  const auto deadline = std::min(limit, request.deadline);
  const auto remainingMs = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();

  PendingRequest& pending = instance->requests.add(request.requestId);
  pending.log.configure(requestLogBytes_, request.wantLogTail);
  ++loop_.requestsInFlight;
  pending.done = std::move(done);
  pending.sent = now;
  // The time the request was given, as its Timeout error will say: the function's timeout, or
  // the caller's deadline counted from its call (not from here, a thread hop later).
  pending.limit = deadline < limit ? absl::FromChrono(deadline - calledAt) : instance->spec.timeout;
  pending.cancellation = request.cancellation;
  pending.timer = std::make_unique<asio::steady_timer>(loop_.io(), deadline);
  pending.timer->async_wait([this, instance, requestId = request.requestId](const asio::error_code& ec) {
    if (!ec) onTimeout(instance, requestId);
  });
  if (request.cancellation) {
    request.cancellation->setHook([this, instance, requestId = request.requestId] {
      asio::post(loop_.io(), [this, instance, requestId] { onCancel(instance, requestId); });
    });
  }
  instance->channel.send(
      Frame{
          "INVOKE", request.requestId, {std::to_string(std::max<int64_t>(remainingMs, 0))}, std::move(request.payload)},
      instance);
}

void RuntimeSession::onFrame(const InstancePtr& instance, Frame&& frame) {
  if (frame.type == "RESULT" || frame.type == "ERROR") return onReply(instance, std::move(frame));
  if (frame.type == "LOG") return onLog(instance, std::move(frame));
  if (frame.type == "LOADED") {
    // The runtime is up and waits for INIT. Only a stem acts on it; a direct start goes on to
    // READY, and only remembers it for the start-failure report.
    instance->saidLoaded = true;
    lifecycle_.apply(instance, InstanceEvent::kLoadedFrame, {});
  } else if (frame.type == "READY") {
    lifecycle_.apply(instance, InstanceEvent::kReadyFrame, {});
  } else if (frame.type == "INITERROR") {
    // The runtime exits by itself; the exit path reports the failed start.
    lifecycle_.apply(instance, InstanceEvent::kInitErrorFrame, {initializerError(frame.body), {}});
  }
}

void RuntimeSession::onReply(const InstancePtr& instance, Frame&& frame) {
  InFlightRequests& requests = instance->requests;
  // What the request wrote to the raw descriptors before replying may still sit in the pipes:
  // take it now, or it would miss the request's logs.
  const bool alone = requests.size() == 1;
  if (alone) {
    instance->channel.drainPipes(
        [this, &instance](bool isStdout, std::string_view data) { onOutput(instance, isStdout, data); });
  }
  std::optional<PendingRequest> pending = requests.remove(frame.id);
  if (!pending) return;
  --loop_.requestsInFlight;
  if (pending->timer) pending->timer->cancel();
  closeLog(*instance, frame.id, *pending, alone);
  if (frame.type == "ERROR") logError(*instance, frame.id, *pending, frame.body);
  InvokeOutcome outcome = replyOutcome(*pending, std::move(frame), SteadyClock::now());
  outcome->readPeakMemory = instance->readPeakMemory;
  loop_.complete(std::move(pending->done), std::move(outcome));
  if (instance->refillPending) lifecycle_.firstReplySent(instance); // once the first reply is on its way
  // Draining: STOP once the last request has finished.
  if (instance->state == InstanceState::kDraining && requests.empty()) {
    instance->channel.send(Frame{"STOP", "-", {}, ""}, instance);
  }
}

void RuntimeSession::onBroken(const InstancePtr& instance, const absl::Status& status) {
  spdlog::warn("instance {} broke the runtime protocol: {}", instance->id, status.ToString());
  lifecycle_.apply(instance, InstanceEvent::kProtocolError,
                   {FunctionError{"Crashed", "the runtime broke the protocol", ""}, {}});
}

void RuntimeSession::onCancel(const InstancePtr& instance, const std::string& requestId) {
  if (instance->requests.cancel(requestId)) instance->channel.send(Frame{"CANCEL", requestId, {}, ""}, instance);
}

void RuntimeSession::onTimeout(const InstancePtr& instance, const std::string& requestId) {
  const bool alone = instance->requests.size() == 1;
  std::optional<PendingRequest> pending = instance->requests.remove(requestId);
  if (!pending) return;
  --loop_.requestsInFlight;
  closeLog(*instance, requestId, *pending, alone);
  InvokeOutcome outcome = timeoutOutcome(*pending, SteadyClock::now());
  outcome->readPeakMemory = instance->readPeakMemory;
  linesOf(*instance).addPlatform(
      requestId, absl::StrCat("[surge: the request ", outcome->error->message, "; its instance is stopped]"));
  loop_.complete(std::move(pending->done), std::move(outcome));
  // The handler may be stuck anywhere; only killing the instance gets the slot back safely.
  lifecycle_.apply(instance, InstanceEvent::kRequestTimeout,
                   {FunctionError{"InstanceLost", "another request on the instance timed out", ""}, {}});
}

void RuntimeSession::failAll(Instance& instance, const FunctionError& error) {
  std::map<std::string, PendingRequest> lost = instance.requests.removeAll();
  for (auto& [requestId, pending] : lost) {
    if (pending.timer) pending.timer->cancel();
    closeLog(instance, requestId, pending, false);
    InvokeOutcome outcome = lostOutcome(pending, error, SteadyClock::now());
    outcome->readPeakMemory = instance.readPeakMemory;
    loop_.complete(std::move(pending.done), std::move(outcome));
  }
  loop_.requestsInFlight -= lost.size();
}

void RuntimeSession::onLog(const InstancePtr& instance, Frame&& frame) {
  const common::LogStream stream = streamOf(frame.args.empty() || frame.args[0] != "stderr");
  LineBatch batch = linesOf(*instance);
  PendingRequest* pending = frame.id == "-" ? nullptr : instance->requests.find(frame.id);
  if (pending) {
    pending->log.splitter(stream).feed(frame.body, [&](std::string text, bool cut) {
      batch.add(&pending->log, frame.id, stream, std::move(text), cut);
    });
    return;
  }
  // Outside any request, or from one that has ended (a thread it left running): the instance's,
  // with the request's id when the runtime gave one, counted against no request's cap.
  const std::string requestId = frame.id == "-" ? std::string() : frame.id;
  instance->output.untagged(stream).feed(
      frame.body, [&](std::string text, bool cut) { batch.add(nullptr, requestId, stream, std::move(text), cut); });
}

void RuntimeSession::onOutput(const InstancePtr& instance, bool isStdout, std::string_view data) {
  const common::LogStream stream = streamOf(isStdout);
  LineBatch batch = linesOf(*instance);
  auto* only = instance->requests.only();
  instance->output.pipe(stream).feed(data, [&](std::string text, bool cut) {
    if (only) {
      batch.add(&only->second.log, only->first, stream, std::move(text), cut);
    } else {
      batch.add(nullptr, "", stream, std::move(text), cut);
    }
  });
}

void RuntimeSession::closeLog(Instance& instance, const std::string& requestId, PendingRequest& pending, bool alone) {
  LineBatch batch = linesOf(instance);
  for (const common::LogStream stream : {common::LogStream::kStdout, common::LogStream::kStderr}) {
    const auto add = [&](std::string text, bool cut) {
      batch.add(&pending.log, requestId, stream, std::move(text), cut);
    };
    pending.log.splitter(stream).finish(add);
    if (alone) instance.output.pipe(stream).finish(add);
  }
}

void RuntimeSession::logError(const Instance& instance, const std::string& requestId, PendingRequest& pending,
                              const std::string& body) {
  // As Function Compute's runtimes do: the error and its trace land in the log too, on stderr,
  // so that a failed request's lines say why it failed.
  const FunctionError error = parseError(body);
  LineBatch batch = linesOf(instance);
  LineSplitter splitter;
  const auto add = [&](std::string text, bool cut) {
    batch.add(&pending.log, requestId, common::LogStream::kStderr, std::move(text), cut);
  };
  splitter.feed(absl::StrCat(error.type, ": ", error.message, "\n"), add);
  splitter.feed(error.trace, add);
  splitter.finish(add);
}

void RuntimeSession::flushOutput(Instance& instance, const std::string& exitReason) {
  LineBatch batch = linesOf(instance);
  for (const common::LogStream stream : {common::LogStream::kStdout, common::LogStream::kStderr}) {
    const auto add = [&](std::string text, bool cut) { batch.add(nullptr, "", stream, std::move(text), cut); };
    instance.output.untagged(stream).finish(add);
    instance.output.pipe(stream).finish(add);
  }
  if (!exitReason.empty()) batch.addPlatform("", absl::StrCat("[surge: the instance exited: ", exitReason, "]"));
}

LineBatch RuntimeSession::linesOf(const Instance& instance) const {
  return LineBatch(logSink_, instance.spec, instance.id, starting(instance.state));
}

} // namespace surge::engine
