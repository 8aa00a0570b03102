// "surgectl logs", "surgectl invocations" and "invoke --log", the real binary, against a real
// surged child process running a real Python function that prints what it is sent: the lines and
// records they show, their filters, JSON lines, and Ctrl-C on a follow.
#include "support/function_setup.h"
#include "support/process.h"
#include "support/surged_suite.h"

#include "surge/v1/invoke.pb.h"
#include "surge/v1/logs.pb.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <absl/strings/str_split.h>

namespace surge {
namespace {

using testing::CommandResult;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
namespace v1 = surge::v1;

constexpr auto kWaitLimit = std::chrono::seconds(60);

// Prints "talker loading" as its instance starts, then "said <payload>" on stdout for each
// request; a payload starting with "fail" then raises.
const std::string kTalker = "print('talker loading', flush=True)\n"
                            "def handler(event, context):\n"
                            "    text = event.decode()\n"
                            "    print('said ' + text, flush=True)\n"
                            "    if text.startswith('fail'):\n"
                            "        raise ValueError('asked to fail')\n"
                            "    return 'ok'\n";

std::vector<std::string> lines(const std::string& out) { return absl::StrSplit(out, '\n', absl::SkipEmpty()); }

// Each line of `out` parsed as one Message; fails the test on a line that is not one.
template <typename Message> std::vector<Message> jsonLines(const std::string& out) {
  std::vector<Message> messages;
  for (const std::string& line : lines(out)) {
    Message message;
    const auto status = google::protobuf::util::JsonStringToMessage(line, &message);
    EXPECT_TRUE(status.ok()) << status.ToString() << " in: " << line;
    messages.push_back(std::move(message));
  }
  return messages;
}

// The line of `out` that holds `text`, or "" when none does.
std::string lineWith(const std::string& out, const std::string& text) {
  for (const std::string& line : lines(out)) {
    if (line.find(text) != std::string::npos) return line;
  }
  return "";
}

bool holds(const CommandResult& result, const std::string& text) { return result.out.find(text) != std::string::npos; }

class SurgectlLogsTest : public testing::SurgedSuite {
protected:
  CommandResult surgectl(const std::vector<std::string>& args) { return testing::runSurgectl(*surged_, args); }

  // Runs surgectl until `done` holds for its output or it fails, at most until kWaitLimit: a line
  // or record is stored a few hundred milliseconds after it happens. Returns the last run.
  CommandResult surgectlUntil(const std::vector<std::string>& args,
                              const std::function<bool(const CommandResult&)>& done) {
    const auto deadline = std::chrono::steady_clock::now() + kWaitLimit;
    for (;;) {
      CommandResult result = surgectl(args);
      if (result.exitCode != 0 || done(result) || std::chrono::steady_clock::now() >= deadline) return result;
      // The pause between two looks at the condition, not a guess at how long storing takes.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  void deployTalker(const std::string& name) {
    ASSERT_TRUE(testing::deployPythonFunction(channel_, {.name = name, .code = kTalker}).ok());
  }

  // Invokes `name` with `payload` and returns the request id; the exit code is 1 for a payload
  // that makes the function fail.
  std::string invoke(const std::string& name, const std::string& payload) {
    CommandResult invoked = surgectl({"-o", "json", "invoke", name, "--data", payload});
    EXPECT_EQ(invoked.exitCode, payload.starts_with("fail") ? 1 : 0) << invoked.err;
    v1::InvokeResponse response;
    const auto status = google::protobuf::util::JsonStringToMessage(invoked.out, &response);
    EXPECT_TRUE(status.ok()) << status.ToString() << " in: " << invoked.out;
    EXPECT_FALSE(response.request_id().empty()) << invoked.out;
    return response.request_id();
  }
};

TEST_F(SurgectlLogsTest, InvokeLogPrintsWhatTheFunctionPrintedOnStderr) {
  deployTalker("tail");
  CommandResult invoked = surgectl({"invoke", "tail", "--data", "hello", "--log"});
  ASSERT_EQ(invoked.exitCode, 0) << invoked.err;
  EXPECT_EQ(invoked.out, "ok") << "stdout stays the result alone";
  EXPECT_THAT(invoked.err, HasSubstr("said hello\n"));

  CommandResult failed = surgectl({"invoke", "tail", "--data", "fail-loudly", "--log"});
  EXPECT_EQ(failed.exitCode, 1);
  EXPECT_EQ(failed.out, "");
  EXPECT_THAT(failed.err, HasSubstr("said fail-loudly\n"));
  EXPECT_THAT(failed.err, HasSubstr("error: the function failed: HandlerError: ValueError: asked to fail"));

  CommandResult json = surgectl({"-o", "json", "invoke", "tail", "--data", "in-json", "--log"});
  ASSERT_EQ(json.exitCode, 0) << json.err;
  v1::InvokeResponse response;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &response).ok()) << json.out;
  EXPECT_THAT(response.log_tail(), HasSubstr("said in-json\n"));
  EXPECT_THAT(json.err, Not(HasSubstr("said in-json"))) << "in JSON the tail is in the object only";

  CommandResult quiet = surgectl({"invoke", "tail", "--data", "unasked"});
  ASSERT_EQ(quiet.exitCode, 0) << quiet.err;
  EXPECT_THAT(quiet.err, Not(HasSubstr("said unasked"))) << "no tail without --log";
}

TEST_F(SurgectlLogsTest, LogsShowAPrintedLineWithItsRequestId) {
  deployTalker("shown");
  const std::string requestId = invoke("shown", "first words");

  CommandResult shown =
      surgectlUntil({"logs", "shown"}, [](const CommandResult& r) { return holds(r, "said first words"); });
  ASSERT_EQ(shown.exitCode, 0) << shown.err;
  const std::string line = lineWith(shown.out, "said first words");
  ASSERT_NE(line, "") << shown.out;
  EXPECT_THAT(line,
              ::testing::MatchesRegex("[0-9-]+T[0-9:]+\\.[0-9]{3}Z +" + requestId + " +stdout +said first words"));
  // The module's own print belongs to no request: it is marked as the instance's start.
  EXPECT_THAT(lineWith(shown.out, "talker loading"), ::testing::ContainsRegex("Z +\\(init\\) +stdout +talker loading$"))
      << shown.out;

  CommandResult json = surgectl({"logs", "shown", "-o", "json"});
  ASSERT_EQ(json.exitCode, 0) << json.err;
  bool found = false;
  for (const v1::LogLine& logLine : jsonLines<v1::LogLine>(json.out)) {
    EXPECT_EQ(logLine.function(), "shown");
    EXPECT_EQ(logLine.namespace_(), "default");
    if (logLine.text() == "talker loading") {
      EXPECT_TRUE(logLine.initializer());
    }
    if (logLine.text() != "said first words") continue;
    found = true;
    EXPECT_EQ(logLine.request_id(), requestId);
    EXPECT_EQ(logLine.stream(), v1::LogLine::STDOUT);
    EXPECT_EQ(logLine.version(), 1);
    EXPECT_FALSE(logLine.instance_id().empty());
    EXPECT_TRUE(logLine.has_time());
  }
  EXPECT_TRUE(found) << json.out;
}

TEST_F(SurgectlLogsTest, LogsRequestShowsOnlyThatRequestsLines) {
  deployTalker("picked");
  const std::string wanted = invoke("picked", "wanted");
  const std::string other = invoke("picked", "other");
  // Both stored, so that the other line's absence below means the filter left it out.
  CommandResult all = surgectlUntil(
      {"logs", "picked"}, [](const CommandResult& r) { return holds(r, "said wanted") && holds(r, "said other"); });
  ASSERT_EQ(all.exitCode, 0) << all.err;
  ASSERT_THAT(all.out, HasSubstr("said other"));

  CommandResult picked = surgectl({"logs", "picked", "--request", wanted});
  ASSERT_EQ(picked.exitCode, 0) << picked.err;
  EXPECT_THAT(picked.out, HasSubstr("said wanted"));
  EXPECT_THAT(picked.out, Not(HasSubstr("said other")));
  EXPECT_THAT(picked.out, Not(HasSubstr(other)));
  for (const std::string& line : lines(picked.out)) EXPECT_THAT(line, HasSubstr(wanted));
}

TEST_F(SurgectlLogsTest, LogsErrorsShowAFailingRequestsStdoutLineAndNotASucceedingOnes) {
  deployTalker("flaky");
  invoke("flaky", "fine");
  const std::string failing = invoke("flaky", "fail-now");
  CommandResult all = surgectlUntil(
      {"logs", "flaky"}, [](const CommandResult& r) { return holds(r, "said fine") && holds(r, "said fail-now"); });
  ASSERT_EQ(all.exitCode, 0) << all.err;
  ASSERT_THAT(all.out, HasSubstr("said fail-now"));

  CommandResult errors = surgectl({"logs", "flaky", "--errors"});
  ASSERT_EQ(errors.exitCode, 0) << errors.err;
  EXPECT_THAT(lineWith(errors.out, "said fail-now"), ::testing::ContainsRegex(failing + " +stdout"));
  EXPECT_THAT(errors.out, Not(HasSubstr("said fine")));
}

TEST_F(SurgectlLogsTest, InvocationsListStatusesFilterErrorsAndPrintJsonLines) {
  deployTalker("listed");
  const std::string succeeded = invoke("listed", "fine");
  const std::string failed = invoke("listed", "fail-once");
  CommandResult json = surgectlUntil({"invocations", "listed", "-o", "json"},
                                     [](const CommandResult& r) { return lines(r.out).size() >= 2; });
  ASSERT_EQ(json.exitCode, 0) << json.err;
  const std::vector<v1::InvocationRecord> records = jsonLines<v1::InvocationRecord>(json.out);
  ASSERT_EQ(records.size(), 2u) << json.out;
  // Newest first.
  EXPECT_EQ(records[0].request_id(), failed);
  EXPECT_EQ(records[0].status(), v1::FUNCTION_ERROR);
  EXPECT_FALSE(records[0].error_type().empty());
  EXPECT_EQ(records[1].request_id(), succeeded);
  EXPECT_EQ(records[1].status(), v1::SUCCEEDED);
  EXPECT_EQ(records[1].function(), "listed");
  EXPECT_EQ(records[1].version(), 1);
  EXPECT_TRUE(records[1].cold_start()) << "the first invocation started the instance";

  CommandResult table = surgectl({"invocations", "listed"});
  ASSERT_EQ(table.exitCode, 0) << table.err;
  const std::vector<std::string> rows = lines(table.out);
  ASSERT_EQ(rows.size(), 3u) << table.out;
  EXPECT_THAT(rows[0], ::testing::StartsWith("TIME "));
  EXPECT_THAT(rows[0], HasSubstr("   STATUS   "));
  EXPECT_THAT(rows[1], HasSubstr(failed));
  EXPECT_THAT(rows[1], HasSubstr("   function-error   "));
  EXPECT_THAT(rows[2], HasSubstr(succeeded));
  EXPECT_THAT(rows[2], HasSubstr("   succeeded   "));

  CommandResult errors = surgectl({"invocations", "listed", "--errors", "-o", "json"});
  ASSERT_EQ(errors.exitCode, 0) << errors.err;
  const std::vector<v1::InvocationRecord> failures = jsonLines<v1::InvocationRecord>(errors.out);
  ASSERT_EQ(failures.size(), 1u) << errors.out;
  EXPECT_EQ(failures[0].request_id(), failed);

  CommandResult one = surgectl({"invocations", "listed", "--limit", "1", "-o", "json"});
  ASSERT_EQ(one.exitCode, 0) << one.err;
  const std::vector<v1::InvocationRecord> newest = jsonLines<v1::InvocationRecord>(one.out);
  ASSERT_EQ(newest.size(), 1u) << one.out;
  EXPECT_EQ(newest[0].request_id(), failed);

  CommandResult byRequest = surgectl({"invocations", "listed", "--request", succeeded});
  ASSERT_EQ(byRequest.exitCode, 0) << byRequest.err;
  EXPECT_EQ(lines(byRequest.out).size(), 2u) << byRequest.out;
  EXPECT_THAT(byRequest.out, HasSubstr(succeeded));

  CommandResult none = surgectl({"invocations", "listed", "--until", "2000-01-01T00:00:00Z"});
  ASSERT_EQ(none.exitCode, 0) << none.err;
  EXPECT_EQ(none.out, "");
  EXPECT_THAT(none.err, HasSubstr("no invocations of default/listed"));
}

TEST_F(SurgectlLogsTest, LogsFollowPrintsNewLinesAndEndsCleanlyOnCtrlC) {
  deployTalker("followed");
  testing::BackgroundSurgectl follow(*surged_, {"logs", "followed", "--follow"});
  const std::string requestId = invoke("followed", "as it happens");
  ASSERT_TRUE(follow.waitForOutput("said as it happens\n", kWaitLimit)) << follow.out;
  EXPECT_EQ(follow.interruptAndWait(kWaitLimit), 0) << follow.out;
  EXPECT_THAT(lineWith(follow.out, "said as it happens"), ::testing::ContainsRegex(requestId + " +stdout"));

  testing::BackgroundSurgectl json(*surged_, {"logs", "followed", "--follow", "-o", "json"});
  invoke("followed", "in json");
  ASSERT_TRUE(json.waitForOutput("\"text\":\"said in json\"", kWaitLimit)) << json.out;
  EXPECT_EQ(json.interruptAndWait(kWaitLimit), 0) << json.out;
  for (const v1::LogLine& line : jsonLines<v1::LogLine>(json.out)) EXPECT_EQ(line.function(), "followed");
}

} // namespace
} // namespace surge
