// The parts of the Engine interface that carry behaviour: the cancellation token.
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

} // namespace surge::engine
