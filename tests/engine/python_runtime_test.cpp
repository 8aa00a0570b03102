// Tests of the Python runtime shim without a sandbox: each test writes a function's code to a
// temp dir, starts surge_runtime.py on a socketpair and speaks the runtime protocol to it. The
// last test runs the shell runtime from docs/runtime-protocol.md, so the documented example
// stays true.
#include "engine/shim_test.h"

#include <chrono>
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
using ::testing::StartsWith;

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

class PythonRuntimeTest : public ShimTest {
protected:
  PythonRuntimeTest()
      : ShimTest({"/usr/bin/python3", "-S", SURGE_PYTHON_RUNTIME},
                 {{"PATH", "/usr/bin:/bin"}, {"LANG", "C.UTF-8"}, {"PYTHONDONTWRITEBYTECODE", "1"}}) {}
};

TEST_F(PythonRuntimeTest, HandlerReturningStrIsSentAsUtf8) {
  writeCode("index.py", "def handler(event, context):\n"
                        "    return 'hello, ' + event.decode() + ' \\u2713'\n");
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

// The runtime imports json, traceback and logging only when it needs them, after /code is
// first on sys.path: a function's own modules of those names must not stand in for them.
TEST_F(PythonRuntimeTest, TheFunctionsOwnJsonTracebackAndLoggingModulesDoNotReplaceTheRuntimes) {
  writeCode("json.py", "raise RuntimeError('the function json.py was imported')\n");
  writeCode("traceback.py", "raise RuntimeError('the function traceback.py was imported')\n");
  writeCode("logging.py", "marker = 'the function logging.py'\n");
  writeCode("index.py", "import logging\n"
                        "def handler(event, context):\n"
                        "    if event == b'dict':\n"
                        "        return {'logging': logging.marker}\n"
                        "    raise ValueError('bad input')\n");
  auto runtime = startReady({});
  absl::StatusOr<Reply> result = invoke(*runtime, "r1", "dict");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->frame.type, "RESULT");
  EXPECT_EQ(result->frame.body, "{\"logging\":\"the function logging.py\"}");
  absl::StatusOr<Reply> failed = invoke(*runtime, "r2", "");
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_EQ(failed->frame.type, "ERROR");
  const ErrorBody error = parseError(failed->frame.body);
  EXPECT_EQ(error.type, "ValueError");
  EXPECT_EQ(error.message, "bad input");
  EXPECT_THAT(error.trace, HasSubstr("in handler\n    raise ValueError('bad input')\n"));
  ASSERT_TRUE(runtime->send(makeFrame("STOP", "-"), deadline()).ok());
  EXPECT_EQ(runtime->waitForExit(deadline()), 0);
  EXPECT_EQ(runtime->stderrText(), "");
}

TEST_F(PythonRuntimeTest, EchoesSixMebibytesOfBinaryByteForByte) {
  writeCode("index.py", "def handler(event, context):\n"
                        "    assert isinstance(event, bytes)\n"
                        "    return event\n");
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

TEST_F(PythonRuntimeTest, JsonValuesAreSentAsCompactJson) {
  writeCode("index.py", "VALUES = {\n"
                        "    'dict': {'a': 1, 'b': [1, 2.5], 'c': None, 'd': '\\u00e9'},\n"
                        "    'list': [1, 'x', True],\n"
                        "    'int': 42,\n"
                        "    'false': False,\n"
                        "    'none': None,\n"
                        "    'bytes': b'\\x00raw',\n"
                        "}\n"
                        "def handler(event, context):\n"
                        "    return VALUES[event.decode()]\n");
  auto runtime = startReady({});
  const std::map<std::string, std::string> expected = {
      {"dict", R"({"a":1,"b":[1,2.5],"c":null,"d":"\u00e9"})"},
      {"list", R"([1,"x",true])"},
      {"int", "42"},
      {"false", "false"},
      {"none", "null"},
      {"bytes", std::string("\0raw", 4)},
  };
  for (const auto& [kind, json] : expected) {
    absl::StatusOr<Reply> reply = invoke(*runtime, "r-" + kind, kind);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->frame.type, "RESULT") << kind << ": " << reply->frame.body;
    EXPECT_EQ(reply->frame.body, json) << kind;
  }
}

TEST_F(PythonRuntimeTest, UnsupportedReturnTypeIsTypeError) {
  writeCode("index.py", "def handler(event, context):\n"
                        "    return {1, 2}\n");
  auto runtime = startReady({});
  absl::StatusOr<Reply> reply = invoke(*runtime, "r1", "");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->frame.type, "ERROR");
  const ErrorBody error = parseError(reply->frame.body);
  EXPECT_EQ(error.type, "TypeError");
  EXPECT_THAT(error.message, StartsWith("handler returned a value of type 'set', which is not supported: return "
                                        "bytes, str, or a JSON-serialisable value"));
}

TEST_F(PythonRuntimeTest, HandlerExceptionIsErrorAndTheInstanceStaysUsable) {
  writeCode("index.py", "def handler(event, context):\n"
                        "    if event == b'fail':\n"
                        "        raise ValueError('quantity must be positive,\\ngot -3')\n"
                        "    return 'fine'\n");
  auto runtime = startReady({});
  absl::StatusOr<Reply> failed = invoke(*runtime, "r1", "fail");
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_EQ(failed->frame.type, "ERROR");
  const ErrorBody error = parseError(failed->frame.body);
  EXPECT_EQ(error.type, "ValueError");
  EXPECT_EQ(error.message, "quantity must be positive, got -3");
  EXPECT_THAT(error.trace, StartsWith("Traceback (most recent call last):\n  File \"" +
                                      (codeDir() / "index.py").string() + "\", line 3, in handler\n"));
  EXPECT_THAT(error.trace, HasSubstr("raise ValueError('quantity must be positive,\\ngot -3')"));
  EXPECT_THAT(error.trace, HasSubstr("ValueError: quantity must be positive,\ngot -3\n"));
  // The runtime's own frames are not part of the user's trace.
  EXPECT_THAT(error.trace, ::testing::Not(HasSubstr("surge_runtime.py")));

  absl::StatusOr<Reply> next = invoke(*runtime, "r2", "ok");
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->frame.type, "RESULT");
  EXPECT_EQ(next->frame.body, "fine");
}

TEST_F(PythonRuntimeTest, SystemExitInHandlerIsAnErrorNotAnExit) {
  writeCode("index.py", "import sys\n"
                        "def handler(event, context):\n"
                        "    if event:\n"
                        "        sys.exit(3)\n"
                        "    return 'alive'\n");
  auto runtime = startReady({});
  absl::StatusOr<Reply> failed = invoke(*runtime, "r1", "exit");
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_EQ(failed->frame.type, "ERROR");
  EXPECT_EQ(parseError(failed->frame.body).type, "SystemExit");
  absl::StatusOr<Reply> next = invoke(*runtime, "r2", "");
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->frame.body, "alive");
}

TEST_F(PythonRuntimeTest, InitializerRunsOncePerInstanceWithAContext) {
  writeCode("index.py", "calls = 0\n"
                        "seen = None\n"
                        "def initializer(context):\n"
                        "    global calls, seen\n"
                        "    calls += 1\n"
                        "    seen = (context.request_id, context.function.name, context.function.initializer,\n"
                        "            context.get_remaining_time_in_millis() > 0)\n"
                        "def handler(event, context):\n"
                        "    return '%d %r' % (calls, seen)\n");
  FunctionSetup setup;
  setup.initializer = "index.initializer";
  auto runtime = startReady(setup);
  for (const std::string id : {"r1", "r2", "r3"}) {
    absl::StatusOr<Reply> reply = invoke(*runtime, id, "");
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->frame.type, "RESULT");
    EXPECT_EQ(reply->frame.body, "1 ('', 'checkout', 'index.initializer', True)") << id;
  }
}

TEST_F(PythonRuntimeTest, InitializerFailureSendsInitErrorAndExitsOne) {
  writeCode("index.py", "def initializer(context):\n"
                        "    print('connecting')\n"
                        "    raise RuntimeError('database unreachable')\n"
                        "def handler(event, context):\n"
                        "    return 'never'\n");
  FunctionSetup setup;
  setup.initializer = "index.initializer";
  auto runtime = start(setup);
  absl::StatusOr<Reply> reply = nextReply(*runtime);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->frame.type, "INITERROR");
  EXPECT_EQ(reply->frame.id, "-");
  EXPECT_EQ(reply->logText("-"), "connecting\n");
  const ErrorBody error = parseError(reply->frame.body);
  EXPECT_EQ(error.type, "RuntimeError");
  EXPECT_EQ(error.message, "database unreachable");
  EXPECT_THAT(error.trace, HasSubstr("line 3, in initializer\n    raise RuntimeError('database unreachable')"));
  EXPECT_EQ(runtime->waitForExit(deadline()), 1);
}

TEST_F(PythonRuntimeTest, MissingModuleIsInitErrorNamingIt) {
  FunctionSetup setup;
  setup.handler = "shop.orders.handler";
  auto runtime = start(setup);
  absl::StatusOr<Reply> reply = nextReply(*runtime);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->frame.type, "INITERROR");
  const ErrorBody error = parseError(reply->frame.body);
  EXPECT_EQ(error.type, "ModuleNotFoundError");
  EXPECT_EQ(error.message, "No module named 'shop'");
  EXPECT_EQ(runtime->waitForExit(deadline()), 1);
}

TEST_F(PythonRuntimeTest, MissingFunctionIsInitErrorNamingIt) {
  writeCode("index.py", "def handler(event, context):\n"
                        "    return 'x'\n");
  FunctionSetup setup;
  setup.handler = "index.main";
  auto runtime = start(setup);
  absl::StatusOr<Reply> reply = nextReply(*runtime);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->frame.type, "INITERROR");
  const ErrorBody error = parseError(reply->frame.body);
  EXPECT_EQ(error.type, "AttributeError");
  EXPECT_EQ(error.message, "handler function 'main' not found in module 'index'");
  EXPECT_EQ(runtime->waitForExit(deadline()), 1);
}

TEST_F(PythonRuntimeTest, HandlerInAPackageModuleIsFound) {
  fs::create_directories(codeDir() / "shop");
  writeCode("shop/__init__.py", "");
  writeCode("shop/orders.py", "def create(event, context):\n"
                              "    return 'created'\n");
  FunctionSetup setup;
  setup.handler = "shop.orders.create";
  auto runtime = startReady(setup);
  absl::StatusOr<Reply> reply = invoke(*runtime, "r1", "");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->frame.body, "created");
}

TEST_F(PythonRuntimeTest, SyntaxErrorInModuleIsInitError) {
  writeCode("index.py", "def handler(event, context)\n"
                        "    return 1\n");
  auto runtime = start({});
  absl::StatusOr<Reply> reply = nextReply(*runtime);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->frame.type, "INITERROR");
  const ErrorBody error = parseError(reply->frame.body);
  EXPECT_EQ(error.type, "SyntaxError");
  EXPECT_EQ(error.message, "expected ':' (index.py, line 1)");
  EXPECT_EQ(runtime->waitForExit(deadline()), 1);
}

TEST_F(PythonRuntimeTest, EnvironmentIsSetBeforeTheModuleIsImported) {
  writeCode("index.py", "import os\n"
                        "GREETING = os.environ.get('GREETING', 'unset')\n"
                        "def handler(event, context):\n"
                        "    return GREETING + ' ' + os.environ.get('EMPTY', 'missing') + '.' + os.getcwd()\n");
  FunctionSetup setup;
  setup.env = {{"GREETING", "hola = hi"}, {"EMPTY", ""}};
  auto runtime = startReady(setup);
  absl::StatusOr<Reply> reply = invoke(*runtime, "r1", "");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->frame.body, "hola = hi ." + codeDir().string());
}

TEST_F(PythonRuntimeTest, ContextCarriesRequestAndFunctionDetails) {
  writeCode("index.py",
            "def handler(event, context):\n"
            "    f = context.function\n"
            "    fields = [context.request_id, context.function_name, f.name, f.namespace, f.handler, f.version,\n"
            "              repr(f.initializer), f.memory, context.memory_limit_in_mb, f.timeout,\n"
            "              context.service.name, context.get_remaining_time_in_millis()]\n"
            "    return '|'.join(str(x) for x in fields)\n");
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
  EXPECT_EQ(body.substr(0, last + 1), "req-42|checkout|checkout|shop|index.handler|7|''|512|512|10|shop|");
  const int remaining = std::stoi(body.substr(last + 1));
  EXPECT_GT(remaining, 0);
  EXPECT_LE(remaining, 4000);
  EXPECT_LT(remaining, setup.timeoutMs);
}

TEST_F(PythonRuntimeTest, PrintAndLoggingBecomeLogFramesOfTheRequest) {
  writeCode("index.py", "import logging, sys\n"
                        "print('loading')\n"
                        "def handler(event, context):\n"
                        "    print('hello from print')\n"
                        "    sys.stderr.write('to stderr\\n')\n"
                        "    logging.getLogger().info('charged order %d', 17)\n"
                        "    logging.getLogger('child').warning('low stock')\n"
                        "    logging.getLogger().debug('not shown: below INFO')\n"
                        "    sys.stdout.write('no newline at the end')\n"
                        "    return 'ok'\n");
  std::vector<Frame> startupLogs;
  auto runtime = startReady({}, &startupLogs);
  ASSERT_EQ(startupLogs.size(), 1u);
  EXPECT_EQ(startupLogs[0].id, "-");
  EXPECT_EQ(startupLogs[0].body, "loading\n");

  absl::StatusOr<Reply> reply = invoke(*runtime, "r-7", "");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->frame.type, "RESULT");
  for (const Frame& log : reply->logs) EXPECT_EQ(log.id, "r-7") << log.body;

  std::vector<std::string> lines;
  std::istringstream text(reply->logText("r-7"));
  for (std::string line; std::getline(text, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 5u) << reply->logText("r-7");
  EXPECT_EQ(lines[0], "hello from print");
  EXPECT_EQ(lines[1], "to stderr");
  const std::regex info(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z r-7 \[INFO\] charged order 17)");
  EXPECT_TRUE(std::regex_match(lines[2], info)) << lines[2];
  const std::regex warning(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z r-7 \[WARNING\] low stock)");
  EXPECT_TRUE(std::regex_match(lines[3], warning)) << lines[3];
  // A partial line is sent when the request ends, before its reply.
  EXPECT_EQ(lines[4], "no newline at the end");
}

TEST_F(PythonRuntimeTest, LargeOutputIsSentInBoundedLogFrames) {
  writeCode("index.py", "def handler(event, context):\n"
                        "    print('x' * 300000)\n"
                        "    print('y' * 10)\n"
                        "    return 'done'\n");
  auto runtime = startReady({});
  absl::StatusOr<Reply> reply = invoke(*runtime, "r1", "");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->frame.body, "done");
  EXPECT_GT(reply->logs.size(), 4u);
  for (const Frame& log : reply->logs) EXPECT_LE(log.body.size(), 64u << 10);
  EXPECT_EQ(reply->logText("r1"), std::string(300000, 'x') + "\n" + std::string(10, 'y') + "\n");
}

TEST_F(PythonRuntimeTest, ConcurrentInvokesRunAtTheSameTime) {
  // Each handler waits until all four are inside it: they complete only if they run at once.
  writeCode("index.py", "import threading\n"
                        "barrier = threading.Barrier(4)\n"
                        "def handler(event, context):\n"
                        "    print('arrived', event.decode())\n"
                        "    barrier.wait(timeout=20)\n"
                        "    return 'passed ' + event.decode()\n");
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

class BlockingHandlerTest : public BlockingHandlerFixture<PythonRuntimeTest> {
protected:
  BlockingHandlerTest() {
    // O_RDWR on a FIFO never blocks (Linux), and the read then waits for the test's byte.
    writeCode("index.py", "import os\n"
                          "def handler(event, context):\n"
                          "    fd = os.open(os.environ['RELEASE_FIFO'], os.O_RDWR)\n"
                          "    print('started', flush=True)\n"
                          "    os.read(fd, 1)\n"
                          "    return 'finished'\n");
  }
};

TEST_F(BlockingHandlerTest, StopWaitsForTheInFlightRequestThenExitsZero) {
  expectStopWaitsForTheInFlightRequestThenExitsZero();
}

TEST_F(BlockingHandlerTest, CancelIsIgnoredAndTheRequestStillCompletes) {
  expectCancelIsIgnoredAndTheRequestStillCompletes();
}

TEST_F(BlockingHandlerTest, EndOfStreamExitsZeroWithoutWaitingForHandlers) {
  // With several slots the main thread keeps reading while handlers run. (With one slot it
  // serves the request itself and sees the end of the stream afterwards; the host kills the
  // sandbox when it goes away anyway.)
  setup_.concurrency = 2;
  auto runtime = startReady(setup_);
  startBlockedRequest(*runtime, "r1");
  // The handler is never released: the runtime must not wait for it.
  runtime->closeSocket();
  EXPECT_EQ(runtime->waitForExit(deadline()), 0);
}

TEST_F(PythonRuntimeTest, EndOfStreamBeforeInitExitsZero) {
  auto runtime =
      std::make_unique<RuntimeHarness>(std::vector<std::string>{"/usr/bin/python3", "-S", SURGE_PYTHON_RUNTIME},
                                       std::map<std::string, std::string>{{"PATH", "/usr/bin:/bin"}});
  runtime->closeSocket();
  EXPECT_EQ(runtime->waitForExit(deadline()), 0);
  EXPECT_EQ(runtime->stderrText(), "");
}

TEST_F(PythonRuntimeTest, MalformedFrameFromTheHostExitsTwoWithAReason) {
  writeCode("index.py", "def handler(event, context):\n"
                        "    return ''\n");
  auto runtime = startReady({});
  Frame bad = makeFrame("INVOKE", "r1", "", {"100"});
  bad.type = "invoke";
  ASSERT_TRUE(runtime->send(bad, deadline()).ok());
  EXPECT_EQ(runtime->waitForExit(deadline()), 2);
  EXPECT_EQ(runtime->stderrText(), "surge runtime: protocol error: frame type 'invoke' is not uppercase letters\n");
}

// The shell runtime printed in docs/runtime-protocol.md, run as documented.
TEST(RuntimeProtocolDoc, ShellExampleServesHelloRequests) {
  const std::string doc = readFile(SURGE_RUNTIME_PROTOCOL_DOC);
  const std::string marker = "<!-- runtime-protocol-shell-example";
  const size_t at = doc.find(marker);
  ASSERT_NE(at, std::string::npos) << "the example's marker is missing from the doc";
  const size_t start = doc.find("```sh\n", at);
  ASSERT_NE(start, std::string::npos);
  const size_t end = doc.find("```\n", start + 6);
  ASSERT_NE(end, std::string::npos);
  TempDir dir;
  const fs::path script = dir.path() / "hello.sh";
  std::ofstream(script) << doc.substr(start + 6, end - start - 6);

  RuntimeHarness runtime({"/bin/sh", script.string()}, {{"PATH", "/usr/bin:/bin"}});
  ASSERT_TRUE(runtime.send(makeFrame("INIT", "-", "handler=index.handler\nconcurrency=1\n"), deadline()).ok());
  absl::StatusOr<Frame> ready = runtime.next(deadline());
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(ready->type, "READY");

  const std::vector<std::pair<std::string, std::string>> requests = {{"r1", "w\xc3\xb6rld"}, {"r2", "two words"}};
  for (const auto& [id, payload] : requests) {
    ASSERT_TRUE(runtime.send(makeFrame("INVOKE", id, payload, {"3000"}), deadline()).ok());
    absl::StatusOr<Frame> log = runtime.next(deadline());
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ(log->type, "LOG");
    EXPECT_EQ(log->id, id);
    EXPECT_EQ(log->body, "greeting " + payload + "\n");
    absl::StatusOr<Frame> result = runtime.next(deadline());
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->type, "RESULT");
    EXPECT_EQ(result->id, id);
    EXPECT_EQ(result->body, "hello, " + payload);
  }
  ASSERT_TRUE(runtime.send(makeFrame("CANCEL", "r2"), deadline()).ok());
  ASSERT_TRUE(runtime.send(makeFrame("STOP", "-"), deadline()).ok());
  EXPECT_EQ(runtime.waitForExit(deadline()), 0);
  EXPECT_EQ(runtime.stderrText(), "");
}

} // namespace
} // namespace surge::engine
