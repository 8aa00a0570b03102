// Runtime conformance: every runtime (python3, nodejs, and custom both in POSIX shell and in C++)
// passes the same cases through the real SandboxEngine and real sandboxes, so that the runtime
// protocol (docs/runtime-protocol.md) means the same thing whatever language serves it.
#include "engine/sandbox_engine.h"

#include "engine/sandbox_launcher.h"
#include "engine_fixture.h"
#include "support/task_thread.h"
#include "support/temp_dir.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <condition_variable>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <ostream>
#include <random>

namespace surge::engine {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

// Each conformance function below picks its behaviour from the payload, the same way in every
// language: "echo:..." returns the whole payload, "count" how often the initializer ran, "fail"
// raises (errorType, "bad input"), "hang" never returns, "log" writes "raw line from stderr" to
// fd 2 and then logs "log line from the handler" the runtime's own way, "gather" returns
// "gathered" once four requests are in flight at once; anything else is greeted.

constexpr std::string_view kPythonFunction = R"code(
"""Conformance function for the python3 runtime."""
import os
import threading

inits = 0
gathering = threading.Barrier(4)


def initializer(context):
    global inits
    inits += 1


def handler(event, context):
    if event.startswith(b"echo:"):
        return event
    if event == b"count":
        return str(inits)
    if event == b"fail":
        raise ValueError("bad input")
    if event == b"hang":
        while True:
            pass
    if event == b"log":
        os.write(2, b"raw line from stderr\n")
        print("log line from the handler")
        return "logged"
    if event == b"gather":
        gathering.wait(timeout=30)
        return "gathered"
    return b"hello, " + (event or b"world") + b"!"
)code";

constexpr std::string_view kNodeFunction = R"code(// Conformance function for the nodejs runtime.
const fs = require('fs');

let inits = 0;
let gathering = [];

exports.initializer = async (context) => {
  inits += 1;
};

exports.handler = async (event, context) => {
  const text = event.toString('latin1');
  if (text.startsWith('echo:')) return event;
  switch (text) {
    case 'count':
      return String(inits);
    case 'fail':
      throw new TypeError('bad input');
    case 'hang':
      for (;;) {}
    case 'log':
      fs.writeSync(2, 'raw line from stderr\n');
      console.log('log line from the handler');
      return 'logged';
    case 'gather':
      return new Promise((resolve) => {
        gathering.push(resolve);
        if (gathering.length === 4) gathering.forEach((release) => release('gathered'));
      });
    default:
      return Buffer.concat([Buffer.from('hello, '), event.length > 0 ? event : Buffer.from('world'), Buffer.from('!')]);
  }
};
)code";

// Bodies pass through files: $(...) would drop trailing newlines and NUL bytes.
constexpr std::string_view kShellFunction = R"code(#!/bin/sh
# Conformance function for the custom runtime in POSIX shell (one request at a time).
export LC_ALL=C
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
reply() { # TYPE ID FILE
  printf '%s %s %d\n' "$1" "$2" "$(wc -c <"$3")" >&3
  cat "$3" >&3
}
read -r type id len rest <&3 || exit 0
head -c "$len" <&3 >/dev/null
inits=1
printf 'READY - 0\n' >&3
while read -r type id len rest <&3; do
  head -c "$len" <&3 >"$tmp/in"
  case $type in
    INVOKE) ;;
    INIT) inits=$((inits + 1)); continue ;;
    STOP) exit 0 ;;
    *) continue ;;
  esac
  if [ "$(head -c 5 "$tmp/in")" = "echo:" ]; then
    reply RESULT "$id" "$tmp/in"
    continue
  fi
  case $(cat "$tmp/in") in
    count) printf '%s' "$inits" >"$tmp/out"; reply RESULT "$id" "$tmp/out" ;;
    fail)
      printf 'ConformanceError\nbad input\n  at the "fail" case of /code/bootstrap\n' >"$tmp/out"
      reply ERROR "$id" "$tmp/out" ;;
    hang) while :; do :; done ;;
    log)
      printf 'raw line from stderr\n' >&2
      printf 'log line from the handler\n' >"$tmp/out"
      reply LOG "$id" "$tmp/out"
      printf 'logged' >"$tmp/out"
      reply RESULT "$id" "$tmp/out" ;;
    *)
      {
        printf 'hello, '
        if [ "$len" -eq 0 ]; then printf 'world'; else cat "$tmp/in"; fi
        printf '!'
      } >"$tmp/out"
      reply RESULT "$id" "$tmp/out" ;;
  esac
done
exit 0
)code";

void writeFile(const fs::path& path, std::string_view content, bool executable = false) {
  std::ofstream(path, std::ios::binary) << content;
  if (executable)
    fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
}

// One runtime under test.
struct RuntimeCase {
  std::string name;
  common::Runtime runtime;
  std::string handler;
  std::string initializer;
  std::function<void(const fs::path&)> writeFunction; // the conformance function into a code dir
  fs::path sample;                                    // a folder whose files are a deployable sample
  std::string errorType;                              // what the function's "fail" raises
  bool concurrent = true;                             // serves several requests at once

  friend void PrintTo(const RuntimeCase& c, std::ostream* os) { *os << c.name; }
};

std::vector<RuntimeCase> runtimeCases() {
  const fs::path samples = fs::path(SURGE_SOURCE_DIR) / "resources/samples";
  return {
      {"Python3", common::Runtime::kPython3, "index.handler", "index.initializer",
       [](const fs::path& code) { writeFile(code / "index.py", kPythonFunction); }, samples / "hello-python",
       "ValueError"},
      {"Nodejs", common::Runtime::kNodejs, "index.handler", "index.initializer",
       [](const fs::path& code) { writeFile(code / "index.js", kNodeFunction); }, samples / "hello-nodejs",
       "TypeError"},
      {"CustomShell", common::Runtime::kCustom, "bootstrap.handler", "bootstrap.initializer",
       [](const fs::path& code) { writeFile(code / "bootstrap", kShellFunction, true); }, samples / "hello-custom",
       "ConformanceError", false},
      {"CustomCpp", common::Runtime::kCustom, "bootstrap.handler", "bootstrap.initializer",
       [](const fs::path& code) { fs::copy_file(SURGE_CONFORMANCE_BOOTSTRAP, code / "bootstrap"); },
       fs::path(SURGE_HELLO_CPP_BOOTSTRAP).parent_path(), "ConformanceError"},
  };
}

class RuntimeConformanceTest : public EngineFixture<::testing::TestWithParam<RuntimeCase>> {
protected:
  // A fresh code dir holding the conformance function (or, with `sample`, a copy of the sample).
  InstanceSpec function(bool sample = false) {
    const RuntimeCase& runtime = GetParam();
    const fs::path code = dir_.path() / ("code-" + std::to_string(++functions_));
    fs::create_directories(code);
    fs::permissions(code, fs::perms::others_exec | fs::perms::others_read, fs::perm_options::add);
    if (sample) {
      fs::copy(runtime.sample, code, fs::copy_options::recursive);
    } else {
      runtime.writeFunction(code);
    }
    InstanceSpec spec;
    spec.function = "default/conformance-" + std::to_string(functions_);
    spec.functionId = functions_;
    spec.version = 1;
    spec.codeDir = code;
    spec.runtime = runtime.runtime;
    spec.handler = runtime.handler;
    if (!sample) spec.initializer = runtime.initializer;
    spec.timeout = absl::Seconds(30);
    return spec;
  }

  // The output of a call that must succeed, or a description of why it did not.
  std::string output(InstanceId id, std::string payload) {
    auto result = call(id, std::move(payload));
    if (!result.completed()) return "<" + std::string(invokeKindName(result.kind)) + ": " + result.reason + ">";
    if (result->error)
      return "<" + result->error->type + ": " + result->error->message + "\n" + result->error->trace + ">";
    return result->output;
  }
};

TEST_P(RuntimeConformanceTest, TheSampleGreetsWhoeverThePayloadNames) {
  const InstanceId id = startReady(function(/*sample=*/true));
  EXPECT_EQ(output(id, "Surge"), "hello, Surge!");
  EXPECT_EQ(output(id, ""), "hello, world!");
}

TEST_P(RuntimeConformanceTest, GreetsWhoeverThePayloadNames) {
  const InstanceId id = startReady(function());
  EXPECT_EQ(output(id, "Surge"), "hello, Surge!");
  EXPECT_EQ(output(id, ""), "hello, world!");
}

TEST_P(RuntimeConformanceTest, EchoesSixMebibytesOfBinaryDataByteForByte) {
  // Every byte value, NULs and newlines included, and a body that ends in newlines.
  std::string payload(6u << 20, '\0');
  std::mt19937 random(20240501);
  for (char& byte : payload) byte = static_cast<char>(random() & 0xff);
  payload.replace(0, 5, "echo:");
  payload.replace(payload.size() - 3, 3, std::string("\0\n\n", 3));
  const InstanceId id = startReady(function());
  auto result = call(id, payload);
  ASSERT_TRUE(result.completed()) << result;
  ASSERT_FALSE(result->error.has_value()) << result->error->type << ": " << result->error->message;
  EXPECT_EQ(result->output.size(), payload.size());
  EXPECT_TRUE(result->output == payload) << "the echo differs from the payload";
}

TEST_P(RuntimeConformanceTest, TheInitializerRunsExactlyOncePerInstance) {
  const InstanceSpec spec = function();
  const InstanceId first = startReady(spec);
  const InstanceId second = startReady(spec);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(output(first, "count"), "1");
    EXPECT_EQ(output(second, "count"), "1");
  }
}

TEST_P(RuntimeConformanceTest, AHandlerErrorCarriesItsTypeAndTraceAndTheInstanceStaysUsable) {
  const InstanceId id = startReady(function());
  auto failed = call(id, "fail");
  ASSERT_TRUE(failed.completed()) << failed;
  ASSERT_TRUE(failed->error.has_value()) << failed->output;
  EXPECT_EQ(failed->error->type, "HandlerError");
  EXPECT_EQ(failed->error->message, GetParam().errorType + ": bad input");
  EXPECT_FALSE(failed->error->trace.empty());
  EXPECT_EQ(output(id, "Surge"), "hello, Surge!");
}

TEST_P(RuntimeConformanceTest, AHandlerThatNeverReturnsTimesOutAndItsInstanceIsKilled) {
  InstanceSpec spec = function();
  spec.timeout = absl::Seconds(1);
  const InstanceId id = startReady(spec);
  auto result = call(id, "hang");
  ASSERT_TRUE(result.completed()) << result;
  ASSERT_TRUE(result->error.has_value()) << result->output;
  EXPECT_EQ(result->error->type, "Timeout");
  EXPECT_EQ(result->error->message, "timed out after 1 s");
  auto exit = recorder_.waitExit(id, 30s);
  ASSERT_TRUE(exit.has_value());
  EXPECT_FALSE(exit->requested);
}

TEST_P(RuntimeConformanceTest, OutputWhileHandlingIsCapturedAsTheRequestsLines) {
  // Concurrency 1: raw stderr belongs to the one request in flight.
  const InstanceSpec spec = function();
  const InstanceId id = startReady(spec);
  auto result = call(id, "log", "req-log");
  ASSERT_TRUE(result.completed()) << result;
  ASSERT_FALSE(result->error.has_value()) << result->error->type << ": " << result->error->message;
  EXPECT_EQ(result->output, "logged");
  EXPECT_THAT(result->logTail, HasSubstr("log line from the handler\n"));
  EXPECT_THAT(result->logTail, HasSubstr("raw line from stderr\n"));
  EXPECT_FALSE(result->logsTruncated);
  // The same lines reached the log sink, tagged, before the reply.
  bool sawLog = false, sawRaw = false;
  for (const common::LogLine& line : lines_.ofRequest("req-log")) {
    EXPECT_EQ(line.function, spec.function);
    EXPECT_EQ(line.instance, id);
    EXPECT_FALSE(line.initializer);
    if (line.text.find("log line from the handler") != std::string::npos) sawLog = true;
    if (line.text == "raw line from stderr") {
      sawRaw = true;
      EXPECT_EQ(line.stream, common::LogStream::kStderr);
    }
  }
  EXPECT_TRUE(sawLog);
  EXPECT_TRUE(sawRaw);
}

TEST_P(RuntimeConformanceTest, FourRequestsThatWaitForEachOtherAllComplete) {
  if (!GetParam().concurrent) GTEST_SKIP() << "a shell runtime serves one request at a time";
  InstanceSpec spec = function();
  spec.concurrency = 4;
  const InstanceId id = startReady(spec);
  std::vector<std::future<InvokeOutcome>> calls;
  for (int i = 0; i < 4; ++i) calls.push_back(callAsync(id, "gather"));
  for (auto& call : calls) {
    ASSERT_EQ(call.wait_for(60s), std::future_status::ready);
    auto result = call.get();
    ASSERT_TRUE(result.completed()) << result;
    ASSERT_FALSE(result->error.has_value()) << result->error->type << ": " << result->error->message;
    EXPECT_EQ(result->output, "gathered");
  }
}

INSTANTIATE_TEST_SUITE_P(Runtimes, RuntimeConformanceTest, ::testing::ValuesIn(runtimeCases()),
                         [](const ::testing::TestParamInfo<RuntimeCase>& info) { return info.param.name; });

} // namespace
} // namespace surge::engine
