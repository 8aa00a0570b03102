// Tests of the Node.js runtime shim without a sandbox: each test writes a function's code to a
// temp dir, starts surge_runtime.js under /usr/bin/node on a socketpair and speaks the runtime
// protocol (docs/runtime-protocol.md) to it.
#include "engine/shim_test.h"

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/frame_codec.h"
#include "support/temp_dir.h"

namespace surge::engine {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::vector<std::string> splitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class NodejsRuntimeTest : public ShimTest {
protected:
  NodejsRuntimeTest()
      : ShimTest({"/usr/bin/node", SURGE_NODEJS_RUNTIME}, {{"PATH", "/usr/bin:/bin"}, {"LANG", "C.UTF-8"}}) {}
};

TEST_F(NodejsRuntimeTest, AsyncHandlerReturningStringIsSentAsUtf8) {
  writeCode("index.js", "exports.handler = async (event, context) => {\n"
                        "  return 'hello, ' + event.toString() + ' \\u2713';\n"
                        "};\n");
  auto runtime = startReady({});
  absl::StatusOr<Reply> reply = invoke(*runtime, "r1", "w\xc3\xb6rld");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->frame.type, "RESULT");
  EXPECT_EQ(reply->frame.body, "hello, w\xc3\xb6rld \xe2\x9c\x93");

  ASSERT_TRUE(runtime->send(makeFrame("STOP", "-"), deadline()).ok());
  EXPECT_EQ(runtime->waitForExit(deadline()), 0);
  EXPECT_EQ(runtime->stderrText(), "");
  EXPECT_EQ(runtime->stdoutText(), "");
}

TEST_F(NodejsRuntimeTest, CallbackStyleHandlerAnswersThroughTheCallback) {
  // Three parameters select the callback style, as in Function Compute; the callback comes later.
  writeCode("index.js", "exports.handler = function (event, context, callback) {\n"
                        "  setImmediate(() => {\n"
                        "    if (event.toString() === 'fail') callback(new TypeError('no such order'));\n"
                        "    else callback(null, {order: event.toString()});\n"
                        "  });\n"
                        "};\n");
  auto runtime = startReady({});
  absl::StatusOr<Reply> reply = invoke(*runtime, "r1", "17");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->frame.type, "RESULT") << reply->frame.body;
  EXPECT_EQ(reply->frame.body, R"({"order":"17"})");

  absl::StatusOr<Reply> failed = invoke(*runtime, "r2", "fail");
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_EQ(failed->frame.type, "ERROR");
  const ErrorBody error = parseError(failed->frame.body);
  EXPECT_EQ(error.type, "TypeError");
  EXPECT_EQ(error.message, "no such order");
  EXPECT_THAT(error.trace, StartsWith("TypeError: no such order\n    at Immediate.<anonymous> (" +
                                      (codeDir() / "index.js").string() + ":3:"));
}

TEST_F(NodejsRuntimeTest, EchoesSixMebibytesOfBinaryByteForByte) {
  writeCode("index.js", "exports.handler = async (event) => {\n"
                        "  if (!Buffer.isBuffer(event)) throw new TypeError('event is not a Buffer');\n"
                        "  return event;\n"
                        "};\n");
  auto runtime = startReady({});
  std::mt19937 random(7);
  std::string payload(6u << 20, '\0');
  for (char& c : payload) c = static_cast<char>(random() & 0xff);
  payload[0] = '\0';
  payload[payload.size() - 1] = '\n';
  absl::StatusOr<Reply> reply = invoke(*runtime, "big", payload);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->frame.type, "RESULT") << reply->frame.body.substr(0, 500);
  EXPECT_EQ(reply->frame.body.size(), payload.size());
  EXPECT_TRUE(reply->frame.body == payload) << "the echoed bytes differ";
}

TEST_F(NodejsRuntimeTest, ValuesOtherThanBuffersAndStringsAreSentAsJson) {
  writeCode("index.js", "const values = {\n"
                        "  object: {a: 1, b: [1, 2.5], c: null, d: '\\u00e9'},\n"
                        "  array: [1, 'x', true],\n"
                        "  number: 42,\n"
                        "  false: false,\n"
                        "  null: null,\n"
                        "  undefined: undefined,\n"
                        "  buffer: Buffer.from([0, 114, 97, 119]),\n"
                        "};\n"
                        "exports.handler = async (event) => values[event.toString()];\n");
  auto runtime = startReady({});
  const std::map<std::string, std::string> expected = {
      {"object", "{\"a\":1,\"b\":[1,2.5],\"c\":null,\"d\":\"\xc3\xa9\"}"},
      {"array", R"([1,"x",true])"},
      {"number", "42"},
      {"false", "false"},
      {"null", "null"},
      {"undefined", ""},
      {"buffer", std::string("\0raw", 4)},
  };
  for (const auto& [kind, json] : expected) {
    absl::StatusOr<Reply> reply = invoke(*runtime, "r-" + kind, kind);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->frame.type, "RESULT") << kind << ": " << reply->frame.body;
    EXPECT_EQ(reply->frame.body, json) << kind;
  }
}

TEST_F(NodejsRuntimeTest, UnsupportedReturnTypeIsTypeError) {
  writeCode("index.js", "exports.handler = async () => () => 1;\n");
  auto runtime = startReady({});
  absl::StatusOr<Reply> reply = invoke(*runtime, "r1", "");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->frame.type, "ERROR");
  const ErrorBody error = parseError(reply->frame.body);
  EXPECT_EQ(error.type, "TypeError");
  EXPECT_THAT(error.message, StartsWith("handler returned a value of type 'function', which is not supported: "
                                        "return a Buffer, a string, or a JSON-serialisable value"));
}

TEST_F(NodejsRuntimeTest, ThrownErrorIsErrorAndTheInstanceStaysUsable) {
  writeCode("index.js", "exports.handler = async (event) => {\n"
                        "  if (event.toString() === 'fail') {\n"
                        "    throw new RangeError('quantity must be positive,\\ngot -3');\n"
                        "  }\n"
                        "  return 'fine';\n"
                        "};\n");
  auto runtime = startReady({});
  absl::StatusOr<Reply> failed = invoke(*runtime, "r1", "fail");
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_EQ(failed->frame.type, "ERROR");
  const ErrorBody error = parseError(failed->frame.body);
  EXPECT_EQ(error.type, "RangeError");
  EXPECT_EQ(error.message, "quantity must be positive, got -3");
  EXPECT_THAT(error.trace, StartsWith("RangeError: quantity must be positive,\ngot -3\n    at exports.handler (" +
                                      (codeDir() / "index.js").string() + ":3:11)"));
  // The runtime's own frames are not part of the user's trace.
  EXPECT_THAT(error.trace, Not(HasSubstr("surge_runtime.js")));

  absl::StatusOr<Reply> next = invoke(*runtime, "r2", "ok");
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->frame.type, "RESULT");
  EXPECT_EQ(next->frame.body, "fine");
}

TEST_F(NodejsRuntimeTest, RejectedPromiseIsError) {
  writeCode("index.js", "class OutOfStock extends Error {\n"
                        "  constructor(message) { super(message); this.name = 'OutOfStock'; }\n"
                        "}\n"
                        "exports.handler = (event) => new Promise((resolve, reject) => {\n"
                        "  setImmediate(() => reject(new OutOfStock('item ' + event + ' is sold out')));\n"
                        "});\n");
  auto runtime = startReady({});
  absl::StatusOr<Reply> reply = invoke(*runtime, "r1", "42");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->frame.type, "ERROR");
  const ErrorBody error = parseError(reply->frame.body);
  EXPECT_EQ(error.type, "OutOfStock");
  EXPECT_EQ(error.message, "item 42 is sold out");
  EXPECT_THAT(error.trace, StartsWith("OutOfStock: item 42 is sold out\n    at "));
  EXPECT_THAT(error.trace, HasSubstr((codeDir() / "index.js").string() + ":5:"));
}

TEST_F(NodejsRuntimeTest, ThrowingSomethingOtherThanAnErrorIsAnError) {
  writeCode("index.js", "exports.handler = async () => { throw 'plain string'; };\n");
  auto runtime = startReady({});
  absl::StatusOr<Reply> reply = invoke(*runtime, "r1", "");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->frame.type, "ERROR");
  EXPECT_EQ(reply->frame.body, "Error\nplain string\n");
}

// The initializer in both styles: callback `(context, callback)` and async `(context)`.
class InitializerStyleTest : public NodejsRuntimeTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(InitializerStyleTest, InitializerRunsOncePerInstanceWithAContext) {
  writeCode("index.js", "let calls = 0;\n"
                        "let seen = null;\n"
                        "function record(context) {\n"
                        "  calls += 1;\n"
                        "  seen = [context.requestId, context.function.name, context.function.initializer,\n"
                        "          context.getRemainingTimeInMillis() > 0];\n"
                        "}\n" +
                            GetParam() + "exports.handler = async () => calls + ' ' + JSON.stringify(seen);\n");
  FunctionSetup setup;
  setup.initializer = "index.initializer";
  auto runtime = startReady(setup);
  for (const std::string id : {"r1", "r2", "r3"}) {
    absl::StatusOr<Reply> reply = invoke(*runtime, id, "");
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->frame.type, "RESULT") << reply->frame.body;
    EXPECT_EQ(reply->frame.body, R"(1 ["","checkout","index.initializer",true])") << id;
  }
}

INSTANTIATE_TEST_SUITE_P(Styles, InitializerStyleTest,
                         ::testing::Values("exports.initializer = (context, callback) => {\n"
                                           "  setImmediate(() => { record(context); callback(null, ''); });\n"
                                           "};\n",
                                           "exports.initializer = async (context) => {\n"
                                           "  await new Promise((resolve) => setImmediate(resolve));\n"
                                           "  record(context);\n"
                                           "};\n"));

TEST_F(NodejsRuntimeTest, InitializerFailureSendsInitErrorAndExitsOne) {
  writeCode("index.js", "exports.initializer = async (context) => {\n"
                        "  console.log('connecting');\n"
                        "  throw new Error('database unreachable');\n"
                        "};\n"
                        "exports.handler = async () => 'never';\n");
  FunctionSetup setup;
  setup.initializer = "index.initializer";
  Reply reply;
  const ErrorBody error = initError(setup, &reply);
  EXPECT_EQ(reply.logText("-"), "connecting\n");
  EXPECT_EQ(error.type, "Error");
  EXPECT_EQ(error.message, "database unreachable");
  EXPECT_THAT(error.trace, StartsWith("Error: database unreachable\n    at exports.initializer (" +
                                      (codeDir() / "index.js").string() + ":3:9)"));
}

TEST_F(NodejsRuntimeTest, CallbackInitializerFailureIsInitError) {
  writeCode("index.js", "exports.initializer = (context, callback) => callback(new Error('no config'));\n"
                        "exports.handler = async () => 'never';\n");
  FunctionSetup setup;
  setup.initializer = "index.initializer";
  const ErrorBody error = initError(setup);
  EXPECT_EQ(error.type, "Error");
  EXPECT_EQ(error.message, "no config");
}

TEST_F(NodejsRuntimeTest, MissingModuleIsInitErrorNamingIt) {
  FunctionSetup setup;
  setup.handler = "lib/orders.handler";
  const ErrorBody error = initError(setup);
  EXPECT_EQ(error.type, "Error");
  EXPECT_EQ(error.message,
            "Cannot find module '" + (codeDir() / "lib/orders").string() + "' for handler 'lib/orders.handler'");
  EXPECT_EQ(error.trace, "");
}

TEST_F(NodejsRuntimeTest, MissingModuleRequiredByTheHandlerIsInitErrorNamingIt) {
  writeCode("index.js", "const db = require('no-such-package');\n"
                        "exports.handler = async () => 'never';\n");
  const ErrorBody error = initError({});
  EXPECT_EQ(error.type, "Error");
  EXPECT_THAT(error.message,
              StartsWith("Cannot find module 'no-such-package' Require stack: - " + (codeDir() / "index.js").string()));
}

TEST_F(NodejsRuntimeTest, MissingExportIsInitErrorNamingIt) {
  writeCode("index.js", "exports.handler = async () => 'x';\n");
  FunctionSetup setup;
  setup.handler = "index.main";
  const ErrorBody error = initError(setup);
  EXPECT_EQ(error.type, "Error");
  EXPECT_EQ(error.message, "handler function 'main' not found in module 'index'");
}

TEST_F(NodejsRuntimeTest, ExportThatIsNotAFunctionIsInitError) {
  writeCode("index.js", "exports.handler = 'not callable';\n");
  const ErrorBody error = initError({});
  EXPECT_EQ(error.type, "TypeError");
  EXPECT_EQ(error.message, "handler 'index.handler' is a string, not a function");
}

TEST_F(NodejsRuntimeTest, SyntaxErrorInModuleIsInitError) {
  writeCode("index.js", "exports.handler = async (event => 1;\n");
  const ErrorBody error = initError({});
  EXPECT_EQ(error.type, "SyntaxError");
  EXPECT_EQ(error.message, "missing ) after argument list");
}

TEST_F(NodejsRuntimeTest, HandlerInASubdirectoryIsFound) {
  writeCode("lib/index.js", "exports.create = (event, context, callback) => callback(null, 'created');\n");
  FunctionSetup setup;
  setup.handler = "lib/index.create";
  auto runtime = startReady(setup);
  absl::StatusOr<Reply> reply = invoke(*runtime, "r1", "");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->frame.body, "created");
}

TEST_F(NodejsRuntimeTest, EcmaScriptModuleHandlerIsImported) {
  writeCode("index.mjs", "export const handler = async (event) => 'esm ' + event;\n");
  auto runtime = startReady({});
  absl::StatusOr<Reply> reply = invoke(*runtime, "r1", "works");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->frame.body, "esm works");
}

TEST_F(NodejsRuntimeTest, EnvironmentIsSetBeforeTheModuleIsRequired) {
  writeCode("index.js", "const greeting = process.env.GREETING || 'unset';\n"
                        "exports.handler = async () =>\n"
                        "  greeting + ' ' + (process.env.EMPTY ?? 'missing') + '.' + process.cwd();\n");
  FunctionSetup setup;
  setup.env = {{"GREETING", "hola = hi"}, {"EMPTY", ""}};
  auto runtime = startReady(setup);
  absl::StatusOr<Reply> reply = invoke(*runtime, "r1", "");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->frame.body, "hola = hi ." + codeDir().string());
}

TEST_F(NodejsRuntimeTest, ContextCarriesRequestAndFunctionDetails) {
  writeCode("index.js",
            "exports.handler = async (event, context) => {\n"
            "  const f = context.function;\n"
            "  return [context.requestId, f.name, f.namespace, f.handler, f.version,\n"
            "          JSON.stringify(f.initializer), f.memory, f.timeout, context.service.name,\n"
            "          JSON.stringify(context.credentials), context.getRemainingTimeInMillis()].join('|');\n"
            "};\n");
  FunctionSetup setup;
  setup.memoryMb = 512;
  setup.timeoutMs = 10000;
  auto runtime = startReady(setup);
  absl::StatusOr<Reply> reply = invoke(*runtime, "req-42", "", /*remainingMs=*/4000);
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(reply->frame.type, "RESULT") << reply->frame.body;
  const std::string& body = reply->frame.body;
  const size_t last = body.rfind('|');
  ASSERT_NE(last, std::string::npos) << body;
  EXPECT_EQ(body.substr(0, last + 1), R"(req-42|checkout|shop|index.handler|7|""|512|10|shop|{}|)");
  const int remaining = std::stoi(body.substr(last + 1));
  EXPECT_GT(remaining, 0);
  EXPECT_LE(remaining, 4000);
}

TEST_F(NodejsRuntimeTest, ConsoleStreamsAndLoggerBecomeLogFramesOfTheRequest) {
  writeCode("index.js", "console.log('loading');\n"
                        "exports.handler = async (event, context) => {\n"
                        "  console.log('hello from %s', 'console.log');\n"
                        "  await new Promise((resolve) => setImmediate(resolve));\n"
                        "  console.error('to stderr', {n: 1});\n"
                        "  process.stderr.write('stderr write\\n');\n"
                        "  context.logger.info('charged order %d', 17);\n"
                        "  context.logger.warn('low stock');\n"
                        "  process.stdout.write('no newline at the end');\n"
                        "  return 'ok';\n"
                        "};\n");
  std::vector<Frame> startupLogs;
  auto runtime = startReady({}, &startupLogs);
  ASSERT_EQ(startupLogs.size(), 1u);
  EXPECT_EQ(startupLogs[0].id, "-");
  EXPECT_EQ(startupLogs[0].body, "loading\n");

  absl::StatusOr<Reply> reply = invoke(*runtime, "r-7", "");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->frame.type, "RESULT");
  for (const Frame& log : reply->logs) EXPECT_EQ(log.id, "r-7") << log.body;

  const std::vector<std::string> lines = splitLines(reply->logText("r-7"));
  ASSERT_EQ(lines.size(), 6u) << reply->logText("r-7");
  EXPECT_EQ(lines[0], "hello from console.log");
  EXPECT_EQ(lines[1], "to stderr { n: 1 }");
  EXPECT_EQ(lines[2], "stderr write");
  const std::regex info(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z r-7 \[INFO\] charged order 17)");
  EXPECT_TRUE(std::regex_match(lines[3], info)) << lines[3];
  const std::regex warning(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z r-7 \[WARN\] low stock)");
  EXPECT_TRUE(std::regex_match(lines[4], warning)) << lines[4];
  // A partial line is sent when the request ends, before its reply.
  EXPECT_EQ(lines[5], "no newline at the end");
}

TEST_F(NodejsRuntimeTest, OutputAfterTheReplyBelongsToNoRequest) {
  writeCode("index.js", "exports.handler = async () => {\n"
                        "  setImmediate(() => console.log('after the reply'));\n"
                        "  return 'ok';\n"
                        "};\n");
  auto runtime = startReady({});
  absl::StatusOr<Reply> reply = invoke(*runtime, "r1", "");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->frame.body, "ok");
  EXPECT_TRUE(reply->logs.empty());
  absl::StatusOr<Frame> late = runtime->next(deadline());
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_EQ(late->type, "LOG");
  EXPECT_EQ(late->id, "-");
  EXPECT_EQ(late->body, "after the reply\n");
}

TEST_F(NodejsRuntimeTest, LargeOutputIsSentInBoundedLogFrames) {
  writeCode("index.js", "exports.handler = async () => {\n"
                        "  console.log('x'.repeat(300000));\n"
                        "  console.log('\\u00e9'.repeat(100000));\n"
                        "  console.log('y'.repeat(10));\n"
                        "  return 'done';\n"
                        "};\n");
  auto runtime = startReady({});
  absl::StatusOr<Reply> reply = invoke(*runtime, "r1", "");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->frame.body, "done");
  EXPECT_GT(reply->logs.size(), 7u);
  for (const Frame& log : reply->logs) EXPECT_LE(log.body.size(), 64u << 10);
  std::string accents;
  for (int i = 0; i < 100000; ++i) accents += "\xc3\xa9";
  EXPECT_TRUE(reply->logText("r1") == std::string(300000, 'x') + "\n" + accents + "\n" + std::string(10, 'y') + "\n")
      << "the log text differs";
}

TEST_F(NodejsRuntimeTest, ConcurrentInvokesRunAtTheSameTime) {
  // Each handler waits until all four are inside it: they complete only if they run at once.
  writeCode("index.js", "let arrived = 0;\n"
                        "let allArrived;\n"
                        "const barrier = new Promise((resolve) => { allArrived = resolve; });\n"
                        "exports.handler = async (event) => {\n"
                        "  console.log('arrived', event.toString());\n"
                        "  if (++arrived === 4) allArrived();\n"
                        "  await barrier;\n"
                        "  return 'passed ' + event;\n"
                        "};\n");
  FunctionSetup setup;
  setup.concurrency = 4;
  auto runtime = startReady(setup);
  for (int i = 0; i < 4; ++i) {
    const std::string id = "c" + std::to_string(i);
    ASSERT_TRUE(runtime->send(makeFrame("INVOKE", id, std::to_string(i), {"25000"}), deadline()).ok());
  }
  std::set<std::string> done;
  std::map<std::string, std::string> logs;
  while (done.size() < 4) {
    absl::StatusOr<Frame> frame = runtime->next(deadline());
    ASSERT_TRUE(frame.ok()) << frame.status();
    if (frame->type == "LOG") {
      logs[frame->id] += frame->body;
      continue;
    }
    EXPECT_EQ(frame->type, "RESULT") << frame->body;
    EXPECT_EQ(frame->body, "passed " + frame->id.substr(1));
    done.insert(frame->id);
  }
  EXPECT_EQ(done, (std::set<std::string>{"c0", "c1", "c2", "c3"}));
  // Output is attributed to the request that printed it, though all ran at once.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(logs["c" + std::to_string(i)], "arrived " + std::to_string(i) + "\n");
}

class BlockingHandlerTest : public BlockingHandlerFixture<NodejsRuntimeTest> {
protected:
  BlockingHandlerTest() {
    // Opening a FIFO read-write never blocks (Linux); the read, on libuv's thread pool, then
    // waits for the test's byte.
    writeCode("index.js", "const fs = require('fs');\n"
                          "exports.handler = async () => {\n"
                          "  const fd = fs.openSync(process.env.RELEASE_FIFO, 'r+');\n"
                          "  console.log('started');\n"
                          "  await new Promise((resolve, reject) => fs.read(fd, Buffer.alloc(1), 0, 1, null,\n"
                          "      (error) => (error ? reject(error) : resolve())));\n"
                          "  fs.closeSync(fd);\n"
                          "  return 'finished';\n"
                          "};\n");
  }
};

TEST_F(BlockingHandlerTest, StopWaitsForTheInFlightRequestThenExitsZero) {
  expectStopWaitsForTheInFlightRequestThenExitsZero();
}

TEST_F(BlockingHandlerTest, CancelIsIgnoredAndTheRequestStillCompletes) {
  expectCancelIsIgnoredAndTheRequestStillCompletes();
}

TEST_F(BlockingHandlerTest, EndOfStreamWithAReadPendingInTheThreadPoolKillsItself) {
  auto runtime = startReady(setup_);
  startBlockedRequest(*runtime, "r1");
  // The handler is never released, and Node's own exit would wait for its read forever.
  runtime->closeSocket();
  EXPECT_EQ(runtime->waitForExit(deadline()), 128 + SIGKILL);
}

TEST_F(NodejsRuntimeTest, EndOfStreamExitsZeroWithoutWaitingForHandlers) {
  writeCode("index.js", "exports.handler = async () => {\n"
                        "  console.log('started');\n"
                        "  await new Promise(() => {});\n"
                        "};\n");
  auto runtime = startReady({});
  ASSERT_TRUE(runtime->send(makeFrame("INVOKE", "r1", "", {"25000"}), deadline()).ok());
  absl::StatusOr<Frame> started = runtime->next(deadline());
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_EQ(started->body, "started\n");
  // The handler never finishes: the runtime must not wait for it.
  runtime->closeSocket();
  EXPECT_EQ(runtime->waitForExit(deadline()), 0);
  EXPECT_EQ(runtime->stderrText(), "");
}

TEST_F(NodejsRuntimeTest, EndOfStreamBeforeInitExitsZero) {
  RuntimeHarness runtime(runtimeArgv(), {{"PATH", "/usr/bin:/bin"}});
  runtime.closeSocket();
  EXPECT_EQ(runtime.waitForExit(deadline()), 0);
  EXPECT_EQ(runtime.stderrText(), "");
}

TEST_F(NodejsRuntimeTest, MalformedFrameFromTheHostExitsTwoWithAReason) {
  writeCode("index.js", "exports.handler = async () => '';\n");
  auto runtime = startReady({});
  Frame bad = makeFrame("INVOKE", "r1", "", {"100"});
  bad.type = "invoke";
  ASSERT_TRUE(runtime->send(bad, deadline()).ok());
  EXPECT_EQ(runtime->waitForExit(deadline()), 2);
  EXPECT_EQ(runtime->stderrText(), "surge runtime: protocol error: frame type 'invoke' is not uppercase letters\n");
}

TEST_F(NodejsRuntimeTest, UncaughtExceptionOutsideAHandlerCallExitsThree) {
  writeCode("index.js", "exports.handler = async () => {\n"
                        "  setImmediate(() => { throw new Error('late failure'); });\n"
                        "  return 'answered';\n"
                        "};\n");
  auto runtime = startReady({});
  absl::StatusOr<Reply> reply = invoke(*runtime, "r1", "");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->frame.body, "answered");
  EXPECT_EQ(runtime->waitForExit(deadline()), 3);
  EXPECT_THAT(runtime->stderrText(), StartsWith("surge runtime: uncaught exception, the instance cannot continue:\n"
                                                "Error: late failure\n"));
}

} // namespace
} // namespace surge::engine
