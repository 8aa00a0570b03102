// Exit classification: every case, without a sandbox.
#include "engine/exit_classification.h"

#include <gtest/gtest.h>

#include <csignal>

namespace surge::engine {
namespace {

int exited(int code) { return (code & 0xff) << 8; } // as waitpid reports an exit
int signalled(int signal) { return signal & 0x7f; } // as waitpid reports a death by signal

TEST(ClassifyExit, OutOfMemoryComesFirst) {
  ExitFacts facts;
  facts.oomKilled = true;
  facts.memoryMb = 64;
  facts.waitStatus = signalled(SIGKILL);
  facts.killedFor = FunctionError{"Timeout", "timed out after 1 s", ""};
  const ExitClassification c = classifyExit(facts);
  EXPECT_EQ(c.reason, "out of memory");
  EXPECT_EQ(c.requestError.type, "OutOfMemory");
  EXPECT_EQ(c.requestError.message, "memory limit 64 MiB exceeded");
}

TEST(ClassifyExit, AKillOfTheEnginesSaysWhy) {
  ExitFacts facts;
  facts.waitStatus = signalled(SIGKILL);
  facts.killedFor = FunctionError{"InstanceLost", "another request on the instance timed out", ""};
  EXPECT_EQ(classifyExit(facts).reason, "another request on the instance timed out");
  EXPECT_EQ(classifyExit(facts).requestError.type, "InstanceLost");
  facts.stopRequested = true;
  EXPECT_EQ(classifyExit(facts).reason, "stopped");
}

TEST(ClassifyExit, APlatformFailureLosesTheInstance) {
  ExitFacts facts;
  facts.waitStatus = signalled(SIGKILL);
  facts.platformStartFailure = "cannot link the function's code into the sandbox: EIO";
  const ExitClassification c = classifyExit(facts);
  EXPECT_EQ(c.reason, facts.platformStartFailure);
  EXPECT_EQ(c.requestError.type, "InstanceLost");
}

TEST(ClassifyExit, ACrashSaysTheCodeOrSignalAndKeepsTheLastWords) {
  ExitFacts facts;
  facts.waitStatus = exited(3);
  facts.stderrTail = "last words";
  ExitClassification c = classifyExit(facts);
  EXPECT_EQ(c.reason, "exit code 3");
  EXPECT_EQ(c.requestError.type, "Crashed");
  EXPECT_EQ(c.requestError.message, "the instance crashed: exit code 3");
  EXPECT_EQ(c.requestError.trace, "last words");
  facts.waitStatus = signalled(SIGSEGV);
  EXPECT_EQ(classifyExit(facts).reason, "killed by signal 11");
  // A drained instance that exits cleanly was stopped, not crashed.
  facts.waitStatus = exited(0);
  facts.stopRequested = true;
  EXPECT_EQ(classifyExit(facts).reason, "stopped");
}

TEST(ClassifyFailedStart, SaysWhoseFaultItWas) {
  using Kind = StartOutcome::Kind;
  ExitFacts facts;
  facts.stderrTail = "Traceback";
  // Our shim died before LOADED: the sandbox or the interpreter did not come up.
  EXPECT_EQ(classifyFailedStart(facts, "exit code 1", StartPath::kDirect).kind, Kind::kPlatformFault);
  // After LOADED the function's code ran: its fault.
  facts.saidLoaded = true;
  StartOutcome outcome = classifyFailedStart(facts, "exit code 1", StartPath::kStem);
  EXPECT_EQ(outcome.kind, Kind::kFunctionFault);
  EXPECT_EQ(outcome.message, "the runtime exited during start-up (exit code 1): Traceback");
  EXPECT_EQ(outcome.path, StartPath::kStem);
  // A custom runtime's bootstrap is the function's own code, LOADED or not.
  facts.saidLoaded = false;
  facts.runtime = common::Runtime::kCustom;
  EXPECT_EQ(classifyFailedStart(facts, "exit code 1", StartPath::kDirect).kind, Kind::kFunctionFault);
  // The engine killed it for the function (a failed or slow initializer).
  facts.killedFor = FunctionError{"InitializerError", "RuntimeError: boom", "trace"};
  EXPECT_EQ(classifyFailedStart(facts, "", StartPath::kDirect).message, "RuntimeError: boom\ntrace");
  // A stop is nobody's fault, whatever else happened.
  facts.stopRequested = true;
  EXPECT_EQ(classifyFailedStart(facts, "stopped", StartPath::kDirect).kind, Kind::kStopped);
  // The platform's own failure wins over everything.
  facts.platformStartFailure = "pidfd_open: EMFILE";
  outcome = classifyFailedStart(facts, "", StartPath::kDirect);
  EXPECT_EQ(outcome.kind, Kind::kPlatformFault);
  EXPECT_EQ(outcome.message, "pidfd_open: EMFILE");
}

} // namespace
} // namespace surge::engine
