#include "engine/exit_classification.h"

#include <absl/strings/str_cat.h>

#include <sys/wait.h>

namespace surge::engine {

ExitClassification classifyExit(const ExitFacts& facts) {
  if (facts.oomKilled) {
    return {"out of memory", {"OutOfMemory", absl::StrCat("memory limit ", facts.memoryMb, " MiB exceeded"), ""}};
  }
  if (facts.killedFor) return {facts.stopRequested ? "stopped" : facts.killedFor->message, *facts.killedFor};
  if (!facts.platformStartFailure.empty()) {
    return {facts.platformStartFailure, {"InstanceLost", facts.platformStartFailure, ""}};
  }
  const int status = facts.waitStatus;
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::string reason = code > 128 ? absl::StrCat("killed by signal ", code - 128) : absl::StrCat("exit code ", code);
  FunctionError error{"Crashed", absl::StrCat("the instance crashed: ", reason), facts.stderrTail};
  if (facts.stopRequested && code == 0) reason = "stopped";
  return {std::move(reason), std::move(error)};
}

StartOutcome classifyFailedStart(const ExitFacts& facts, const std::string& reason, StartPath path) {
  using Kind = StartOutcome::Kind;
  if (!facts.platformStartFailure.empty()) return {Kind::kPlatformFault, facts.platformStartFailure, path};
  if (facts.stopRequested) return {Kind::kStopped, "stopped before it was ready", path};
  if (facts.killedFor) {
    return {Kind::kFunctionFault, absl::StrCat(facts.killedFor->message, "\n", facts.killedFor->trace), path};
  }
  // Our Python and Node.js shims say LOADED before they read INIT and import anything of the
  // function's, so an exit before it means the sandbox or the interpreter failed to come up.
  // A custom runtime's bootstrap is the function's own code, whenever it fails.
  const bool ownShim = facts.runtime == common::Runtime::kPython3 || facts.runtime == common::Runtime::kNodejs;
  if (ownShim && !facts.saidLoaded) {
    return {Kind::kPlatformFault, absl::StrCat("the sandbox did not come up (", reason, "): ", facts.stderrTail), path};
  }
  return {Kind::kFunctionFault, absl::StrCat("the runtime exited during start-up (", reason, "): ", facts.stderrTail),
          path};
}

} // namespace surge::engine
