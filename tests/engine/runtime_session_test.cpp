// The runtime protocol's pure parts: the INIT body, error bodies, the outcomes of requests, and
// the bookkeeping of requests in flight (log capture and its cap included). No sandbox.
#include "engine/runtime_session.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace surge::engine {
namespace {

TEST(InitFrame, CarriesTheFunctionsSettingsOneKeyALineWithItsEnvironmentLast) {
  InstanceSpec spec;
  spec.function = "team/hello";
  spec.version = 7;
  spec.handler = "main.handler";
  spec.initializer = "main.init";
  spec.initializerTimeout = absl::Milliseconds(2500);
  spec.timeout = absl::Seconds(3);
  spec.memoryMb = 256;
  spec.concurrency = 4;
  spec.environment = {{"B", "2"}, {"A", "x=y"}};
  const Frame init = initFrame(spec);
  EXPECT_EQ(init.type, "INIT");
  EXPECT_EQ(init.id, "-");
  EXPECT_TRUE(init.args.empty());
  EXPECT_EQ(init.body, "handler=main.handler\n"
                       "initializer=main.init\n"
                       "initializer_timeout_ms=2500\n"
                       "function=team/hello\n"
                       "version=7\n"
                       "memory_mb=256\n"
                       "timeout_ms=3000\n"
                       "concurrency=4\n"
                       "code_dir=/code\n"
                       "env.A=x=y\n"
                       "env.B=2\n");
}

TEST(ParseError, SplitsTypeMessageAndTraceAndToleratesMissingParts) {
  const FunctionError full = parseError("ValueError\nbad input\nTraceback\n  line 1\n");
  EXPECT_EQ(full.type, "ValueError");
  EXPECT_EQ(full.message, "bad input");
  EXPECT_EQ(full.trace, "Traceback\n  line 1\n");
  const FunctionError noTrace = parseError("KeyError\n'x'");
  EXPECT_EQ(noTrace.type, "KeyError");
  EXPECT_EQ(noTrace.message, "'x'");
  EXPECT_EQ(noTrace.trace, "");
  const FunctionError typeOnly = parseError("Boom");
  EXPECT_EQ(typeOnly.type, "Boom");
  EXPECT_EQ(typeOnly.message, "");
}

TEST(InitializerErrors, SayWhatTheInitializerDidAndHowLongItHad) {
  const FunctionError error = initializerError("RuntimeError\nno database\ntrace");
  EXPECT_EQ(error.type, "InitializerError");
  EXPECT_EQ(error.message, "RuntimeError: no database");
  EXPECT_EQ(error.trace, "trace");
  EXPECT_EQ(initializerTimeout(absl::Seconds(3)).message, "initializer timed out after 3 s");
  EXPECT_EQ(initializerTimeout(absl::Milliseconds(1500)).message, "initializer timed out after 1.5 s");
}

PendingRequest pendingSentAt(SteadyClock::time_point sent) {
  PendingRequest pending;
  pending.sent = sent;
  pending.limit = absl::Seconds(3);
  return pending;
}

TEST(ReplyOutcome, AResultCarriesTheOutputAndTheLogTailAndTheTimeSinceItWasSent) {
  const auto sent = SteadyClock::now();
  PendingRequest pending = pendingSentAt(sent);
  pending.log.configure(kDefaultRequestLogBytes, /*keepTail=*/true);
  std::string marker;
  ASSERT_TRUE(pending.log.admit("hello", &marker));
  const InvokeOutcome outcome =
      replyOutcome(pending, Frame{"RESULT", "r1", {}, "42"}, sent + std::chrono::milliseconds(5));
  ASSERT_TRUE(outcome.completed());
  EXPECT_EQ(outcome->output, "42");
  EXPECT_FALSE(outcome->error.has_value());
  EXPECT_EQ(outcome->logTail, "hello\n");
  EXPECT_EQ(outcome->execution, absl::Milliseconds(5));
}

TEST(ReplyOutcome, AnErrorIsTheHandlersAndACancelledRequestEndsCancelled) {
  const auto sent = SteadyClock::now();
  PendingRequest pending = pendingSentAt(sent);
  const InvokeOutcome error = replyOutcome(pending, Frame{"ERROR", "r1", {}, "ValueError\nbad\ntb"}, sent);
  ASSERT_TRUE(error.completed());
  ASSERT_TRUE(error->error.has_value());
  EXPECT_EQ(error->error->type, "HandlerError");
  EXPECT_EQ(error->error->message, "ValueError: bad");
  EXPECT_EQ(error->error->trace, "tb");
  PendingRequest cancelled = pendingSentAt(sent);
  cancelled.cancelled = true;
  const InvokeOutcome outcome = replyOutcome(cancelled, Frame{"RESULT", "r2", {}, "late"}, sent);
  EXPECT_EQ(outcome.kind, InvokeOutcome::Kind::kCancelled);
  EXPECT_EQ(outcome.reason, "the invocation was cancelled");
}

TEST(TimeoutOutcome, SaysTheLimitRoundedToTheMillisecond) {
  const auto sent = SteadyClock::now();
  PendingRequest pending = pendingSentAt(sent);
  pending.limit = absl::Microseconds(1499700);
  const InvokeOutcome outcome = timeoutOutcome(pending, sent);
  ASSERT_TRUE(outcome->error.has_value());
  EXPECT_EQ(outcome->error->type, "Timeout");
  EXPECT_EQ(outcome->error->message, "timed out after 1.5 s");
}

TEST(LostOutcome, EndsTheRequestWithTheInstancesErrorAndKeepsItsLogTail) {
  const auto sent = SteadyClock::now();
  PendingRequest pending = pendingSentAt(sent);
  pending.log.configure(kDefaultRequestLogBytes, /*keepTail=*/true);
  std::string marker;
  ASSERT_TRUE(pending.log.admit("partial", &marker));
  const InvokeOutcome outcome = lostOutcome(pending, FunctionError{"Crashed", "exit code 3", "tail"}, sent);
  ASSERT_TRUE(outcome->error.has_value());
  EXPECT_EQ(outcome->error->message, "exit code 3");
  EXPECT_EQ(outcome->logTail, "partial\n");
}

TEST(StderrTail, KeepsTheLastFourKibibytes) {
  std::string tail;
  appendStderrTail(tail, std::string(4000, 'a'));
  appendStderrTail(tail, std::string(200, 'b'));
  EXPECT_EQ(tail.size(), kStderrTailBytes);
  EXPECT_EQ(tail.substr(tail.size() - 200), std::string(200, 'b'));
  EXPECT_EQ(tail.front(), 'a');
}

TEST(InFlightRequests, RawOutputHasAnOwnerOnlyWhileExactlyOneRequestRuns) {
  InFlightRequests requests;
  EXPECT_EQ(requests.only(), nullptr);
  requests.add("r1");
  ASSERT_NE(requests.only(), nullptr);
  EXPECT_EQ(requests.only()->first, "r1");
  requests.add("r2");
  EXPECT_EQ(requests.only(), nullptr); // two running: whose is it? nobody's
  EXPECT_NE(requests.find("r2"), nullptr);
  EXPECT_EQ(requests.find("r9"), nullptr);
  ASSERT_TRUE(requests.remove("r1").has_value());
  EXPECT_FALSE(requests.remove("r1").has_value());
}

TEST(InFlightRequests, RoomIsTheConcurrencyAndARequestIdRunsOnce) {
  InFlightRequests requests;
  EXPECT_TRUE(requests.hasRoomFor("r1", 2));
  requests.add("r1");
  EXPECT_FALSE(requests.hasRoomFor("r1", 2));
  EXPECT_TRUE(requests.hasRoomFor("r2", 2));
  requests.add("r2");
  EXPECT_FALSE(requests.hasRoomFor("r3", 2));
  EXPECT_EQ(requests.removeAll().size(), 2u);
  EXPECT_TRUE(requests.empty());
}

TEST(InFlightRequests, ACancelIsSentOnceAndOnlyForARequestInFlight) {
  InFlightRequests requests;
  EXPECT_FALSE(requests.cancel("r1"));
  requests.add("r1");
  EXPECT_TRUE(requests.cancel("r1"));
  EXPECT_FALSE(requests.cancel("r1"));
  EXPECT_TRUE(requests.remove("r1")->cancelled);
}

TEST(InFlightRequests, AFinishedRequestLetsGoOfTheCallersTokenSoItsHookNoLongerHoldsTheInstance) {
  InFlightRequests requests;
  auto holder = std::make_shared<int>(0); // stands for the instance the session's hook captures
  std::vector<std::shared_ptr<CancellationToken>> tokens;
  for (const char* id : {"r1", "r2", "r3"}) {
    auto token = std::make_shared<CancellationToken>();
    token->setHook([holder] { ++*holder; });
    requests.add(id).cancellation = token;
    tokens.push_back(token);
  }
  EXPECT_EQ(holder.use_count(), 4);
  ASSERT_TRUE(requests.remove("r1").has_value());
  EXPECT_EQ(holder.use_count(), 3) << "a replied or timed-out request keeps no hook";
  requests.removeAll(); // the instance is gone
  EXPECT_EQ(holder.use_count(), 1);
  for (auto& token : tokens) token->cancel();
  EXPECT_EQ(*holder, 0) << "cancelling after the answer reaches nothing";
}

} // namespace
} // namespace surge::engine
