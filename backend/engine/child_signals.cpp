// The signal state of a fresh process, for forked children before exec.
#include "engine/child_signals.h"

#include <signal.h>

namespace surge::engine {

bool restoreDefaultSignals() {
  sigset_t none;
  ::sigemptyset(&none);
  if (::sigprocmask(SIG_SETMASK, &none, nullptr) != 0) return false;
  struct sigaction defaults {};
  defaults.sa_handler = SIG_DFL;
  for (int signal = 1; signal < NSIG; ++signal) {
    if (signal != SIGKILL && signal != SIGSTOP) ::sigaction(signal, &defaults, nullptr); // 32/33 fail: fine
  }
  return true;
}

} // namespace surge::engine
