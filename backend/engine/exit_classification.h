// Exit classification: why an instance's process ended, what its in-flight requests are told,
// and, for a start that never became ready, whose fault that was. Pure functions of what the
// engine saw, so that every case is tested without a sandbox.
#pragma once

#include "engine/engine.h"

#include <optional>
#include <string>

namespace surge::engine {

// What the engine knows when an instance's process has ended.
struct ExitFacts {
  int waitStatus = 0;     // from waitpid
  bool oomKilled = false; // the memory cgroup killed it
  bool stopRequested = false;
  // Why the engine killed it, when it did (a timeout, a failed initializer, a stop).
  std::optional<FunctionError> killedFor;
  // Set when the platform, not the function, failed the start (empty otherwise).
  std::string platformStartFailure;
  // The runtime said LOADED: none of the function's code had run before that.
  bool saidLoaded = false;
  common::Runtime runtime = common::Runtime::kPython3;
  uint32_t memoryMb = 0;
  std::string stderrTail;
};

struct ExitClassification {
  std::string reason;         // for InstanceExit and the log: "stopped", "out of memory", "exit code 3", ...
  FunctionError requestError; // what each request still in flight ends with
};

ExitClassification classifyExit(const ExitFacts& facts);

// Whose fault a start that ended before READY was (`reason` from classifyExit()).
StartOutcome classifyFailedStart(const ExitFacts& facts, const std::string& reason, StartPath path);

} // namespace surge::engine
