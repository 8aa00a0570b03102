// The lifecycle of one SandboxEngine instance as an explicit state machine: its states, the
// events that move it, and what the engine does on each transition. A pure function, so that
// every transition is tested without a sandbox; docs/engine.md lists the same table.
#pragma once

#include <cstdint>
#include <string_view>

namespace surge::engine {

enum class InstanceState : uint8_t {
  // A pre-started sandbox ("stem") of the pool.
  kStemLaunching, // its sandbox is being launched, on the spawner thread
  kStemLoading,   // launched; its runtime loads, and it is not in the pool yet
  kPooled,        // its runtime said LOADED: in the pool, waiting for a function
  kStemAbandoned, // killed before it said LOADED; still counted as launching until it exits
  kStemRetired,   // killed after it said LOADED; out of the pool, refilled when it exits
  // An instance of a function, started directly or from a stem.
  kLaunching,    // a direct start's sandbox is being launched
  kLinking,      // taken from the pool: the function's code is being linked into its /code
  kInitializing, // INIT sent; waiting for READY
  kReady,        // serving requests
  kDraining,     // stop(kDrain): takes no new requests, STOP once the last one has finished
  kAborting,     // killed before READY: its exit reports a failed start
  kExiting,      // killed after READY
  kExited,       // the process is gone; the instance is no longer the engine's
};
inline constexpr int kInstanceStateCount = 13;

enum class InstanceEvent : uint8_t {
  kLaunched,       // the spawner launched the sandbox
  kLaunchFailed,   // the sandbox could not be launched (or watched)
  kLoadedFrame,    // the runtime said LOADED
  kLoadTimeout,    // a stem did not say LOADED in time
  kTaken,          // a start took the stem from the pool
  kLinked,         // the function's code is linked into the stem
  kLinkFailed,     // the code could not be linked
  kReadyFrame,     // the runtime said READY
  kInitErrorFrame, // the runtime said INITERROR (and exits by itself)
  kInitTimeout,    // no READY within the initializer's timeout plus a margin
  kStopNow,        // stop(kNow)
  kStopDrain,      // stop(kDrain)
  kDrainTimeout,   // a draining runtime did not exit within the function timeout plus a margin
  kRequestTimeout, // a request ran past its time
  kProtocolError,  // the runtime sent bytes that are not a frame
  kRetired,        // the pool no longer wants this stem (its network kind is gone)
  kProcessExited,  // the process ended (pidfd readable) and was reaped
};
inline constexpr int kInstanceEventCount = 17;

// What the engine does on a transition; a transition may carry several, as bits.
enum class InstanceAction : uint32_t {
  kRecordCause = 1u << 0,         // note why it is killed, from the event (killedFor, or a platform failure)
  kMarkStopped = 1u << 1,         // killedFor = "the instance was stopped", unless a cause is noted already
  kKillProcess = 1u << 2,         // SIGKILL the process, if it exists yet
  kArmLoadTimer = 1u << 3,        // a stem has kStemLoadTimeout to say LOADED
  kJoinPool = 1u << 4,            // counted off the launching stems, into the pool (or retired if unwanted)
  kLeavePool = 1u << 5,           // out of the pool's ready stems
  kLinkCode = 1u << 6,            // normal CPU weight, then link the code (on the loop when small)
  kSendInit = 1u << 7,            // INIT, and the initializer's timer
  kStartServing = 1u << 8,        // CPU quota, onStarted(kReady), the refill timer
  kStartDrain = 1u << 9,          // STOP when idle, and the drain timer
  kUncountLaunch = 1u << 10,      // counted off the launching stems (it never joined the pool)
  kRefillPool = 1u << 11,         // launch what the pool of its kind is missing
  kReportFailedLaunch = 1u << 12, // onStarted(kPlatformFault) and onExit, at once
  kReportFailedStart = 1u << 13,  // onStarted with whose fault the ended start was
  kReportExit = 1u << 14,         // onExit, once its sandbox is removed
};
inline constexpr int kInstanceActionCount = 15;

struct InstanceTransition {
  enum class Kind : uint8_t {
    kMove,       // a transition (possibly to the same state) with its actions
    kIgnored,    // expected, and nothing to do: `why` says why
    kImpossible, // cannot happen if the engine is right: logged as an error and ignored
  };
  Kind kind = Kind::kImpossible;
  InstanceState to = InstanceState::kExited;
  uint32_t actions = 0; // InstanceAction bits
  std::string_view why; // for kIgnored

  bool has(InstanceAction action) const { return (actions & static_cast<uint32_t>(action)) != 0; }
};

// The transition from `state` on `event`. kIgnored and kImpossible leave the state as it is.
InstanceTransition nextState(InstanceState state, InstanceEvent event);

// A pre-started sandbox not (or no longer) given to a function: its exit is reported to nobody.
bool isStem(InstanceState state);

// Names as docs/engine.md writes them, e.g. "Pooled", "ReadyFrame", "KillProcess".
std::string_view toString(InstanceState state);
std::string_view toString(InstanceEvent event);
std::string_view toString(InstanceAction action);

} // namespace surge::engine
