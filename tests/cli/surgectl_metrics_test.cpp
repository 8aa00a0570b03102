// "surgectl metrics" and "surgectl top", the real binary, against a real surged child process
// running real Python functions: the counts they show, what a namespace-limited key sees, errors,
// and Ctrl-C.
#include "api/proto_time.h"
#include "support/client.h"
#include "support/process.h"
#include "support/surged_suite.h"

#include "surge/v1/metrics.grpc.pb.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <absl/strings/str_split.h>

namespace surge {
namespace {

using testing::CommandResult;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
namespace v1 = surge::v1;

constexpr auto kWaitLimit = std::chrono::seconds(60);

const std::string kHandler = "def handler(event, context):\n    return 'ok'\n";

// surgectl's stdout split into lines, each parsed as one snapshot; fails the test on a line that
// is not one.
std::vector<v1::MetricsSnapshot> jsonLines(const std::string& out) {
  std::vector<v1::MetricsSnapshot> snapshots;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    v1::MetricsSnapshot snapshot;
    const auto status = google::protobuf::util::JsonStringToMessage(std::string(line), &snapshot);
    EXPECT_TRUE(status.ok()) << status.ToString() << " in: " << line;
    snapshots.push_back(std::move(snapshot));
  }
  return snapshots;
}

const v1::FunctionMetrics* find(const v1::MetricsSnapshot& snapshot, const std::string& ns, const std::string& name) {
  for (const v1::FunctionMetrics& f : snapshot.functions()) {
    if (f.namespace_() == ns && f.function() == name) return &f;
  }
  return nullptr;
}

class SurgectlMetricsTest : public testing::SurgedSuite {
protected:
  CommandResult surgectl(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    return testing::runSurgectl(*surged_, args, std::move(env));
  }

  void deploy(const std::string& ns, const std::string& name) {
    // A folder for surgectl: the test support's deployPythonFunction() knows only the default
    // namespace.
    const auto folder = dir_->path() / "src" / (ns + "-" + name);
    std::filesystem::create_directories(folder);
    std::ofstream(folder / "index.py") << kHandler;
    CommandResult created = surgectl({"-n", ns, "function", "create", name, "--runtime", "python3", "--handler",
                                      "index.handler", "--code", folder.string()});
    ASSERT_EQ(created.exitCode, 0) << created.err;
  }

  void invoke(const std::string& ns, const std::string& name, int times) {
    for (int i = 0; i < times; ++i) {
      CommandResult invoked = surgectl({"-n", ns, "invoke", name, "--data", "x"});
      ASSERT_EQ(invoked.exitCode, 0) << invoked.err;
      ASSERT_EQ(invoked.out, "ok");
    }
  }

  // The successful invocations of ns/name that WatchMetrics reports, summed over its backlog and
  // the live seconds after it, once the sum reaches `expected` (or what it is at the deadline).
  // The invocations may fall in different seconds, and the last of them in a second not yet
  // published: hence the sum, and reading on.
  uint64_t watchedSuccesses(const std::string& ns, const std::string& name, uint64_t expected) {
    auto stub = v1::MetricsService::NewStub(channel_);
    auto context = testing::contextWithDeadline(kWaitLimit);
    v1::WatchMetricsRequest request;
    request.set_namespace_(ns);
    request.set_function(name);
    auto reader = stub->WatchMetrics(context.get(), request);
    uint64_t sum = 0;
    v1::MetricsSnapshot snapshot;
    while (sum < expected && reader->Read(&snapshot)) {
      if (const v1::FunctionMetrics* f = find(snapshot, ns, name)) sum += f->outcomes().success();
    }
    context->TryCancel();
    while (reader->Read(&snapshot)) {
    }
    reader->Finish();
    return sum;
  }

  // The successful invocations in QueryMetrics' history of the last 10 minutes at 1 s. Asked
  // after watchedSuccesses(): a second a watcher has seen is already stored.
  uint64_t historySuccesses(const std::string& ns, const std::string& name) {
    auto stub = v1::MetricsService::NewStub(channel_);
    v1::QueryMetricsRequest request;
    request.set_namespace_(ns);
    request.set_function(name);
    *request.mutable_start_time() = api::toProtoTimestamp(absl::Now() - absl::Minutes(10));
    request.mutable_step()->set_seconds(1);
    v1::QueryMetricsResponse response;
    auto context = testing::contextWithDeadline();
    const grpc::Status status = stub->QueryMetrics(context.get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    uint64_t sum = 0;
    for (const v1::MetricsSnapshot& point : response.points()) {
      if (const v1::FunctionMetrics* f = find(point, ns, name)) sum += f->outcomes().success();
    }
    return sum;
  }
};

TEST_F(SurgectlMetricsTest, MetricsAndTopShowAFunctionsInvocationsAndInstances) {
  deploy("default", "counted");
  invoke("default", "counted", 5);
  // Every invocation is counted once, whichever seconds they fell in.
  EXPECT_EQ(watchedSuccesses("default", "counted", 5), 5u);
  EXPECT_EQ(historySuccesses("default", "counted"), 5u);

  CommandResult json = surgectl({"metrics", "counted", "-o", "json"});
  ASSERT_EQ(json.exitCode, 0) << json.err;
  ASSERT_EQ(std::count(json.out.begin(), json.out.end(), '\n'), 1) << json.out;
  const std::vector<v1::MetricsSnapshot> one = jsonLines(json.out);
  ASSERT_EQ(one.size(), 1u);
  // The current second, not the oldest of the backlog.
  EXPECT_LT(absl::AbsDuration(api::fromProtoTimestamp(one[0].time()) - absl::Now()), absl::Seconds(5)) << json.out;
  ASSERT_EQ(one[0].functions_size(), 1) << json.out;
  const v1::FunctionMetrics& counted = one[0].functions(0);
  EXPECT_EQ(counted.namespace_(), "default");
  EXPECT_EQ(counted.function(), "counted");
  // The instance that served them stays warm (idle) for minutes.
  EXPECT_EQ(counted.instances(), 1u) << json.out;
  EXPECT_EQ(counted.instance_states().on_demand_idle(), 1u) << json.out;
  EXPECT_THAT(json.out, HasSubstr("\"outcomes\":{\"success\":"));

  CommandResult table = surgectl({"metrics", "counted"});
  ASSERT_EQ(table.exitCode, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("function:    default/counted\n"));
  EXPECT_THAT(table.out, HasSubstr("\nLATENCY "));
  EXPECT_THAT(table.out, ::testing::ContainsRegex("\non-demand +0 +1 +0 +0 +1\n"));

  CommandResult topJson = surgectl({"top", "--once", "-o", "json"});
  ASSERT_EQ(topJson.exitCode, 0) << topJson.err;
  const std::vector<v1::MetricsSnapshot> screens = jsonLines(topJson.out);
  ASSERT_EQ(screens.size(), 1u) << topJson.out;
  const v1::FunctionMetrics* listed = find(screens[0], "default", "counted");
  ASSERT_NE(listed, nullptr) << topJson.out;
  EXPECT_EQ(listed->instances(), 1u);
  // The admin key sees every namespace, so it gets the server's figures.
  EXPECT_TRUE(screens[0].has_server()) << topJson.out;

  CommandResult top = surgectl({"top", "--once"});
  ASSERT_EQ(top.exitCode, 0) << top.err;
  EXPECT_THAT(top.out, HasSubstr("\nFUNCTION "));
  EXPECT_THAT(top.out, ::testing::ContainsRegex("\ndefault/counted +[0-9.]+ +[0-9.]+ .* 1/1 +0/0 "));
  EXPECT_THAT(top.out, HasSubstr("\nmemory: "));
  EXPECT_THAT(top.out, Not(HasSubstr("\x1b["))) << "no screen clearing when stdout is not a terminal";
}

TEST_F(SurgectlMetricsTest, AKeyLimitedToANamespaceSeesOnlyItsFunctionsInTop) {
  deploy("team-a", "mine");
  deploy("team-b", "theirs");
  invoke("team-a", "mine", 1);
  invoke("team-b", "theirs", 1);
  // Each second is published when it ends: wait for those that hold the invocations, after which
  // the idle instances keep both functions listed.
  ASSERT_EQ(watchedSuccesses("team-a", "mine", 1), 1u);
  ASSERT_EQ(watchedSuccesses("team-b", "theirs", 1), 1u);
  auto admin = v1::AdminService::NewStub(channel_);
  const std::string token = testing::createApiKey(*admin, "team-a-viewer", v1::VIEWER, {"team-a"});
  ASSERT_THAT(token, StartsWith("surge_"));

  CommandResult top = surgectl({"top", "--once", "-o", "json"}, {{"SURGE_API_KEY", token}});
  ASSERT_EQ(top.exitCode, 0) << top.err;
  const std::vector<v1::MetricsSnapshot> screens = jsonLines(top.out);
  ASSERT_EQ(screens.size(), 1u) << top.out;
  EXPECT_NE(find(screens[0], "team-a", "mine"), nullptr) << top.out;
  EXPECT_EQ(find(screens[0], "team-b", "theirs"), nullptr) << top.out;
  EXPECT_FALSE(screens[0].has_server()) << "the server's figures are for keys that see everything";

  CommandResult table = surgectl({"top", "--once"}, {{"SURGE_API_KEY", token}});
  ASSERT_EQ(table.exitCode, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("team-a/mine"));
  EXPECT_THAT(table.out, Not(HasSubstr("team-b")));
  EXPECT_THAT(table.out, Not(HasSubstr("memory:")));

  // A function the key may not see is one that does not exist, as elsewhere in the API.
  CommandResult elsewhere = surgectl({"-n", "team-b", "metrics", "theirs"}, {{"SURGE_API_KEY", token}});
  EXPECT_EQ(elsewhere.exitCode, 1);
  EXPECT_THAT(elsewhere.err, HasSubstr("error: NOT_FOUND: "));
  EXPECT_EQ(elsewhere.out, "");
  CommandResult otherTop = surgectl({"-n", "team-b", "top", "--once"}, {{"SURGE_API_KEY", token}});
  EXPECT_EQ(otherTop.exitCode, 1);
  EXPECT_THAT(otherTop.err, HasSubstr("error: NOT_FOUND: namespace 'team-b' not found"));

  // An invoker key may not read metrics at all.
  const std::string invoker = testing::createApiKey(*admin, "team-a-invoker", v1::INVOKER, {"team-a"});
  CommandResult refused = surgectl({"top", "--once"}, {{"SURGE_API_KEY", invoker}});
  EXPECT_EQ(refused.exitCode, 1);
  EXPECT_THAT(refused.err, HasSubstr("error: PERMISSION_DENIED: "));
  EXPECT_THAT(refused.err, HasSubstr("read metrics"));

  // -n narrows top to one namespace for the admin key too.
  CommandResult narrowed = surgectl({"-n", "team-b", "top", "--once", "-o", "json"});
  ASSERT_EQ(narrowed.exitCode, 0) << narrowed.err;
  const std::vector<v1::MetricsSnapshot> onlyB = jsonLines(narrowed.out);
  ASSERT_EQ(onlyB.size(), 1u);
  EXPECT_NE(find(onlyB[0], "team-b", "theirs"), nullptr) << narrowed.out;
  EXPECT_EQ(find(onlyB[0], "team-a", "mine"), nullptr) << narrowed.out;
}

TEST_F(SurgectlMetricsTest, AMissingFunctionIsTheServersNotFound) {
  CommandResult missing = surgectl({"metrics", "no-such"});
  EXPECT_EQ(missing.exitCode, 1);
  EXPECT_THAT(missing.err, HasSubstr("error: NOT_FOUND: "));
  EXPECT_THAT(missing.err, HasSubstr("default/no-such"));
  EXPECT_EQ(missing.out, "");
}

TEST_F(SurgectlMetricsTest, UsageErrorsExitWithTwo) {
  EXPECT_EQ(surgectl({"metrics"}).exitCode, 2);
  CommandResult badName = surgectl({"metrics", "Bad_Name"});
  EXPECT_EQ(badName.exitCode, 2);
  EXPECT_THAT(badName.err, HasSubstr("function name"));
  EXPECT_EQ(surgectl({"top", "--bogus"}).exitCode, 2);
  EXPECT_EQ(surgectl({"top", "extra"}).exitCode, 2);
}

TEST_F(SurgectlMetricsTest, CtrlCEndsWatchAndTopCleanly) {
  deploy("default", "watched");
  invoke("default", "watched", 1);

  testing::BackgroundSurgectl watch(*surged_, {"metrics", "watched", "--watch"});
  // The header, then one row for the current second and one for the next: live rows arrive.
  ASSERT_TRUE(watch.waitForLines(3, kWaitLimit)) << watch.out;
  EXPECT_EQ(watch.interruptAndWait(kWaitLimit), 0) << watch.out;
  EXPECT_THAT(watch.out, StartsWith("TIME "));
  EXPECT_EQ(watch.out.find("TIME ", 1), std::string::npos) << "the header is printed once";

  testing::BackgroundSurgectl top(*surged_, {"top", "-o", "json"});
  ASSERT_TRUE(top.waitForOutput("\"function\":\"watched\"", kWaitLimit)) << top.out;
  EXPECT_EQ(top.interruptAndWait(kWaitLimit), 0) << top.out;
  for (const v1::MetricsSnapshot& screen : jsonLines(top.out)) EXPECT_TRUE(screen.has_time());
}

} // namespace
} // namespace surge
