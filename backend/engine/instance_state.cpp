// The instance state machine's table (docs/engine.md, "The instance state machine"), compiled
// into a states × events array so that a transition is one lookup.
#include "engine/instance_state.h"

#include <array>
#include <initializer_list>

namespace surge::engine {
namespace {

using S = InstanceState;
using E = InstanceEvent;
using A = InstanceAction;
using Kind = InstanceTransition::Kind;

constexpr uint32_t bits(std::initializer_list<A> actions) {
  uint32_t result = 0;
  for (A action : actions) result |= static_cast<uint32_t>(action);
  return result;
}

constexpr uint32_t states(std::initializer_list<S> list) {
  uint32_t result = 0;
  for (S state : list) result |= 1u << static_cast<int>(state);
  return result;
}

// One line of the table: from any of `from`, on `event`.
struct Row {
  uint32_t from; // states() bits
  E event;
  Kind kind;
  S to;             // kMove only
  uint32_t actions; // kMove only
  std::string_view why;
  bool stays = false; // kMove only: to the state it is in
};

constexpr Row move(uint32_t from, E event, S to, uint32_t actions = 0) {
  return {from, event, Kind::kMove, to, actions, {}, false};
}
// Stays in whatever state it is in, with `actions`.
constexpr Row stay(uint32_t from, E event, uint32_t actions) {
  return {from, event, Kind::kMove, S::kExited, actions, {}, true};
}
constexpr Row ignore(uint32_t from, E event, std::string_view why) {
  return {from, event, Kind::kIgnored, S::kExited, 0, why, false};
}

constexpr uint32_t kStems =
    states({S::kStemLaunching, S::kStemLoading, S::kPooled, S::kStemAbandoned, S::kStemRetired});
constexpr uint32_t kKilled = states({S::kAborting, S::kExiting});

// Keep in step with docs/engine.md: tests/engine/instance_state_test.cpp checks both.
constexpr Row kRows[] = {
    // The pool's stems.
    move(states({S::kStemLaunching}), E::kLaunched, S::kStemLoading, bits({A::kArmLoadTimer})),
    move(states({S::kStemLaunching}), E::kLaunchFailed, S::kExited, bits({A::kUncountLaunch})),
    move(states({S::kStemLoading}), E::kLoadedFrame, S::kPooled, bits({A::kJoinPool})),
    move(states({S::kStemLoading}), E::kLoadTimeout, S::kStemAbandoned, bits({A::kKillProcess})),
    move(states({S::kStemLoading}), E::kProtocolError, S::kStemAbandoned, bits({A::kRecordCause, A::kKillProcess})),
    move(states({S::kStemLoading, S::kStemAbandoned}), E::kProcessExited, S::kExited, bits({A::kUncountLaunch})),
    move(states({S::kPooled}), E::kTaken, S::kLinking, bits({A::kLinkCode})),
    move(states({S::kPooled}), E::kRetired, S::kStemRetired, bits({A::kLeavePool, A::kKillProcess})),
    move(states({S::kPooled}), E::kProtocolError, S::kStemRetired,
         bits({A::kRecordCause, A::kLeavePool, A::kKillProcess})),
    move(states({S::kPooled}), E::kProcessExited, S::kExited, bits({A::kLeavePool, A::kRefillPool})),
    move(states({S::kStemRetired}), E::kProcessExited, S::kExited, bits({A::kRefillPool})),
    ignore(states({S::kPooled, S::kStemRetired}), E::kLoadedFrame, "it said LOADED already"),
    ignore(states({S::kStemAbandoned}), E::kLoadedFrame, "killed before it loaded: it never joins the pool"),
    ignore(states({S::kStemAbandoned, S::kStemRetired}), E::kProtocolError, "already killed"),
    ignore(kStems & ~states({S::kStemLaunching}), E::kReadyFrame, "a stem has had no INIT"),
    ignore(kStems & ~states({S::kStemLaunching}), E::kInitErrorFrame, "a stem has had no INIT"),
    ignore(kStems, E::kStopNow, "stems are the engine's own: no caller knows their ids"),
    ignore(kStems, E::kStopDrain, "stems are the engine's own: no caller knows their ids"),

    // A function's instance.
    move(states({S::kLaunching}), E::kLaunched, S::kInitializing, bits({A::kSendInit})),
    move(states({S::kLaunching, S::kAborting}), E::kLaunchFailed, S::kExited, bits({A::kReportFailedLaunch})),
    move(states({S::kLinking}), E::kLinked, S::kInitializing, bits({A::kSendInit})),
    move(states({S::kLinking}), E::kLinkFailed, S::kAborting, bits({A::kRecordCause, A::kKillProcess})),
    move(states({S::kInitializing}), E::kReadyFrame, S::kReady, bits({A::kStartServing})),
    stay(states({S::kInitializing}), E::kInitErrorFrame, bits({A::kRecordCause})), // the runtime exits by itself
    move(states({S::kInitializing}), E::kInitTimeout, S::kAborting, bits({A::kRecordCause, A::kKillProcess})),
    move(states({S::kLaunching, S::kLinking, S::kInitializing}), E::kStopNow, S::kAborting,
         bits({A::kMarkStopped, A::kKillProcess})),
    // Not ready yet: nothing to drain, so a drain stop is a stop.
    move(states({S::kLaunching, S::kLinking, S::kInitializing}), E::kStopDrain, S::kAborting,
         bits({A::kMarkStopped, A::kKillProcess})),
    move(states({S::kLinking, S::kInitializing}), E::kProtocolError, S::kAborting,
         bits({A::kRecordCause, A::kKillProcess})),
    move(states({S::kLinking, S::kInitializing, S::kAborting}), E::kProcessExited, S::kExited,
         bits({A::kReportFailedStart, A::kReportExit})),
    move(states({S::kReady}), E::kStopDrain, S::kDraining, bits({A::kStartDrain})),
    move(states({S::kReady, S::kDraining}), E::kStopNow, S::kExiting, bits({A::kMarkStopped, A::kKillProcess})),
    move(states({S::kReady, S::kDraining}), E::kRequestTimeout, S::kExiting, bits({A::kRecordCause, A::kKillProcess})),
    move(states({S::kReady, S::kDraining}), E::kProtocolError, S::kExiting, bits({A::kRecordCause, A::kKillProcess})),
    move(states({S::kDraining}), E::kDrainTimeout, S::kExiting, bits({A::kKillProcess})),
    move(states({S::kReady, S::kDraining, S::kExiting}), E::kProcessExited, S::kExited, bits({A::kReportExit})),
    // Stopped while its sandbox was being launched: there was no process to kill then.
    stay(states({S::kAborting}), E::kLaunched, bits({A::kKillProcess})),
    // Killed already; what comes later only adds to the record, as the exit report reads it.
    stay(kKilled, E::kStopNow, bits({A::kMarkStopped})),
    stay(states({S::kExiting}), E::kRequestTimeout, bits({A::kRecordCause})),
    stay(kKilled, E::kProtocolError, bits({A::kRecordCause})),
    ignore(states({S::kAborting, S::kExited}), E::kLinked, "killed or gone while its code was being linked"),
    ignore(states({S::kAborting, S::kExited}), E::kLinkFailed, "killed or gone while its code was being linked"),
    ignore(states({S::kLinking, S::kInitializing, S::kReady, S::kDraining, S::kAborting, S::kExiting}), E::kLoadedFrame,
           "only a stem acts on LOADED; a start notes it for its failure report"),
    ignore(states({S::kLinking}), E::kReadyFrame, "no INIT was sent yet"),
    ignore(states({S::kLinking}), E::kInitErrorFrame, "no INIT was sent yet"),
    ignore(states({S::kReady, S::kDraining}), E::kReadyFrame, "ready already"),
    ignore(states({S::kReady, S::kDraining}), E::kInitErrorFrame, "ready already"),
    ignore(kKilled, E::kReadyFrame, "being killed"),
    ignore(kKilled, E::kInitErrorFrame, "being killed: the first cause stands"),
    ignore(states({S::kAborting}), E::kInitTimeout, "being killed"),
    ignore(states({S::kDraining}), E::kStopDrain, "draining already"),
    ignore(kKilled, E::kStopDrain, "being killed"),
    ignore(states({S::kExiting}), E::kDrainTimeout, "being killed"),
};

struct Cell {
  Kind kind = Kind::kImpossible;
  S to = S::kExited;
  uint32_t actions = 0;
  std::string_view why;
  bool stays = false;
};

using Table = std::array<std::array<Cell, kInstanceEventCount>, kInstanceStateCount>;

constexpr Table buildTable() {
  Table table{};
  // Spelled out: GCC 12 value-initializes the nested arrays' cells without their default
  // member initializers in a constant expression.
  for (auto& cells : table) {
    for (Cell& cell : cells) cell = {Kind::kImpossible, S::kExited, 0, {}, false};
  }
  for (const Row& row : kRows) {
    for (int state = 0; state < kInstanceStateCount; ++state) {
      if ((row.from & (1u << state)) == 0) continue;
      Cell& cell = table[state][static_cast<int>(row.event)];
      // A pair listed twice is a mistake in the table: fail the build.
      if (cell.kind != Kind::kImpossible) throw "a state and event pair is listed twice";
      cell = {row.kind, row.to, row.actions, row.why, row.stays};
    }
  }
  return table;
}

constexpr Table kTable = buildTable();

} // namespace

InstanceTransition nextState(InstanceState state, InstanceEvent event) {
  const Cell& cell = kTable[static_cast<int>(state)][static_cast<int>(event)];
  if (cell.kind != Kind::kMove) return {cell.kind, state, 0, cell.why};
  return {Kind::kMove, cell.stays ? state : cell.to, cell.actions, {}};
}

bool isStem(InstanceState state) { return (kStems & (1u << static_cast<int>(state))) != 0; }

std::string_view toString(InstanceState state) {
  switch (state) {
  case S::kStemLaunching: return "StemLaunching";
  case S::kStemLoading: return "StemLoading";
  case S::kPooled: return "Pooled";
  case S::kStemAbandoned: return "StemAbandoned";
  case S::kStemRetired: return "StemRetired";
  case S::kLaunching: return "Launching";
  case S::kLinking: return "Linking";
  case S::kInitializing: return "Initializing";
  case S::kReady: return "Ready";
  case S::kDraining: return "Draining";
  case S::kAborting: return "Aborting";
  case S::kExiting: return "Exiting";
  case S::kExited: return "Exited";
  }
  return "?";
}

std::string_view toString(InstanceEvent event) {
  switch (event) {
  case E::kLaunched: return "Launched";
  case E::kLaunchFailed: return "LaunchFailed";
  case E::kLoadedFrame: return "LoadedFrame";
  case E::kLoadTimeout: return "LoadTimeout";
  case E::kTaken: return "Taken";
  case E::kLinked: return "Linked";
  case E::kLinkFailed: return "LinkFailed";
  case E::kReadyFrame: return "ReadyFrame";
  case E::kInitErrorFrame: return "InitErrorFrame";
  case E::kInitTimeout: return "InitTimeout";
  case E::kStopNow: return "StopNow";
  case E::kStopDrain: return "StopDrain";
  case E::kDrainTimeout: return "DrainTimeout";
  case E::kRequestTimeout: return "RequestTimeout";
  case E::kProtocolError: return "ProtocolError";
  case E::kRetired: return "Retired";
  case E::kProcessExited: return "ProcessExited";
  }
  return "?";
}

std::string_view toString(InstanceAction action) {
  switch (action) {
  case A::kRecordCause: return "RecordCause";
  case A::kMarkStopped: return "MarkStopped";
  case A::kKillProcess: return "KillProcess";
  case A::kArmLoadTimer: return "ArmLoadTimer";
  case A::kJoinPool: return "JoinPool";
  case A::kLeavePool: return "LeavePool";
  case A::kLinkCode: return "LinkCode";
  case A::kSendInit: return "SendInit";
  case A::kStartServing: return "StartServing";
  case A::kStartDrain: return "StartDrain";
  case A::kUncountLaunch: return "UncountLaunch";
  case A::kRefillPool: return "RefillPool";
  case A::kReportFailedLaunch: return "ReportFailedLaunch";
  case A::kReportFailedStart: return "ReportFailedStart";
  case A::kReportExit: return "ReportExit";
  }
  return "?";
}

} // namespace surge::engine
