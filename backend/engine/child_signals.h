// For a child forked from surged (a multi-threaded process) before it execs: the signal state
// of a fresh process, since exec keeps blocked and ignored signals (the daemon blocks SIGTERM
// and ignores SIGPIPE) and what runs next must not inherit them.
#pragma once

namespace surge::engine {

// Unblocks every signal and sets every disposition to the default. Async-signal-safe (only
// sigprocmask and sigaction). False when the mask could not be changed.
bool restoreDefaultSignals();

} // namespace surge::engine
