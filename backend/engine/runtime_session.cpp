// The runtime protocol's frames and the requests in flight on one instance.
#include "engine/runtime_session.h"

#include "common/absl_compat.h"
#include "engine/sandbox_constants.h"

#include <absl/strings/str_cat.h>

namespace surge::engine {

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

std::optional<std::string> RuntimeSession::refusal(InstanceId id, const std::string& requestId,
                                                   uint32_t concurrency) const {
  if (requests_.size() >= concurrency || requests_.contains(requestId)) {
    return absl::StrCat("instance ", id, " has no free slot");
  }
  return std::nullopt;
}

std::optional<PendingRequest> RuntimeSession::remove(const std::string& requestId) {
  auto it = requests_.find(requestId);
  if (it == requests_.end()) return std::nullopt;
  std::optional<PendingRequest> pending(std::move(it->second));
  requests_.erase(it);
  return pending;
}

bool RuntimeSession::cancel(const std::string& requestId) {
  auto it = requests_.find(requestId);
  if (it == requests_.end() || it->second.cancelled) return false;
  it->second.cancelled = true;
  return true;
}

void RuntimeSession::log(const std::string& requestId, std::string_view data) {
  auto it = requests_.find(requestId);
  if (it != requests_.end()) it->second.log.append(data);
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

} // namespace surge::engine
