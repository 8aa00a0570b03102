// The parts of the Engine interface that carry behaviour: the cancellation token, and names.
#include "engine/engine.h"

namespace surge::engine {

void CancellationToken::cancel() {
  std::function<void()> hook;
  {
    common::MutexLock lock(mu_);
    if (cancelled_) return;
    cancelled_ = true;
    hook = std::move(hook_);
  }
  if (hook) hook();
}

bool CancellationToken::cancelled() const {
  common::MutexLock lock(mu_);
  return cancelled_;
}

void CancellationToken::setHook(std::function<void()> hook) {
  {
    common::MutexLock lock(mu_);
    if (!cancelled_) {
      hook_ = std::move(hook);
      return;
    }
  }
  if (hook) hook();
}

std::string_view startKindName(StartOutcome::Kind kind) {
  switch (kind) {
  case StartOutcome::Kind::kReady: return "ready";
  case StartOutcome::Kind::kFunctionFault: return "function fault";
  case StartOutcome::Kind::kPlatformFault: return "platform fault";
  case StartOutcome::Kind::kStopped: return "stopped";
  }
  return "unknown";
}

std::string_view invokeKindName(InvokeOutcome::Kind kind) {
  switch (kind) {
  case InvokeOutcome::Kind::kCompleted: return "completed";
  case InvokeOutcome::Kind::kRefused: return "refused";
  case InvokeOutcome::Kind::kCancelled: return "cancelled";
  }
  return "unknown";
}

} // namespace surge::engine
