// MetricsService through the generated client against surged in the test's process (the
// FakeEngine answers every start and request at once): a watch stream's figures and scope, 100
// watchers, a stalled watcher, history by step, and history across a restart.
#include "support/client.h"
#include "support/function_setup.h"
#include "support/in_process_surged.h"
#include "support/surged_suite.h"
#include "support/temp_dir.h"

#include "surge/v1/admin.grpc.pb.h"
#include "surge/v1/invoke.grpc.pb.h"
#include "surge/v1/metrics.grpc.pb.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <google/protobuf/util/time_util.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace surge {
namespace {

using google::protobuf::util::TimeUtil;
using testing::contextWithDeadline;
using ::testing::HasSubstr;

void createWithCode(const std::shared_ptr<grpc::Channel>& channel, const std::string& ns, const std::string& name) {
  const absl::Status deployed =
      testing::deployPythonFunction(channel, {.name = name, .code = "def handler(e, c):\n    return e\n", .ns = ns});
  ASSERT_TRUE(deployed.ok()) << deployed;
}

void invoke(const std::shared_ptr<grpc::Channel>& channel, const std::string& ns, const std::string& name, int times) {
  auto stub = v1::InvokeService::NewStub(channel);
  for (int i = 0; i < times; ++i) {
    v1::InvokeRequest request;
    request.set_namespace_(ns);
    request.set_function(name);
    request.set_payload("x");
    v1::InvokeResponse response;
    auto context = contextWithDeadline();
    ASSERT_TRUE(stub->Invoke(context.get(), request, &response).ok());
  }
}

int64_t seconds(const google::protobuf::Timestamp& t) { return t.seconds(); }

// Watches function `name` (default namespace) until its snapshots have counted `expected`
// successes, or 10 s pass; returns what they counted. A watched second is already stored
// (FramePipeline), so a query may follow at once.
uint64_t watchSuccesses(const std::shared_ptr<grpc::Channel>& channel, const std::string& name, uint64_t expected) {
  auto stub = v1::MetricsService::NewStub(channel);
  v1::WatchMetricsRequest request;
  request.set_function(name);
  auto context = contextWithDeadline(std::chrono::seconds(10));
  auto stream = stub->WatchMetrics(context.get(), request);
  v1::MetricsSnapshot snapshot;
  uint64_t watched = 0;
  while (watched < expected && stream->Read(&snapshot)) {
    for (const auto& entry : snapshot.functions()) watched += entry.outcomes().success();
  }
  context->TryCancel();
  stream->Finish();
  return watched;
}

class MetricsServiceTest : public testing::SurgedSuiteOf<testing::InProcessSurged> {
protected:
  // Reads `stream` until a snapshot satisfies `done` (true) or the stream ends (false).
  template <typename Done> static bool readUntil(grpc::ClientReader<v1::MetricsSnapshot>& stream, Done done) {
    v1::MetricsSnapshot snapshot;
    while (stream.Read(&snapshot)) {
      if (done(snapshot)) return true;
    }
    return false;
  }

  std::unique_ptr<v1::MetricsService::Stub> metrics_ = v1::MetricsService::NewStub(channel_);
  std::unique_ptr<v1::AdminService::Stub> admin_ = v1::AdminService::NewStub(channel_);
};

TEST_F(MetricsServiceTest, AWatcherSeesItsFunctionsInvocationsAndAViewerOnlyItsNamespaces) {
  createWithCode(channel_, "shop", "cart");
  createWithCode(channel_, "blog", "post");
  invoke(channel_, "shop", "cart", 7);
  invoke(channel_, "blog", "post", 3);

  // The admin's stream of everything: the backlog and live seconds add up to every invoke.
  auto context = contextWithDeadline();
  auto stream = metrics_->WatchMetrics(context.get(), v1::WatchMetricsRequest());
  uint64_t cart = 0, post = 0, server = 0;
  ASSERT_TRUE(readUntil(*stream, [&](const v1::MetricsSnapshot& snapshot) {
    for (const auto& entry : snapshot.functions()) {
      if (entry.namespace_() == "shop" && entry.function() == "cart") cart += entry.outcomes().success();
      if (entry.namespace_() == "blog" && entry.function() == "post") post += entry.outcomes().success();
    }
    EXPECT_TRUE(snapshot.has_server()) << "an admin watching everything sees the server";
    server += snapshot.server().total().outcomes().success();
    return cart == 7 && post == 3;
  }));
  EXPECT_EQ(server, 10u);
  context->TryCancel();
  stream->Finish();

  // A viewer of "shop" sees cart only, and no server figures; "blog" does not exist for it.
  const std::string viewer = testing::createApiKey(*admin_, "shop-viewer", v1::VIEWER, {"shop"});
  context = contextWithDeadline(std::chrono::seconds(30), viewer);
  stream = metrics_->WatchMetrics(context.get(), v1::WatchMetricsRequest());
  uint64_t seen = 0;
  ASSERT_TRUE(readUntil(*stream, [&](const v1::MetricsSnapshot& snapshot) {
    EXPECT_FALSE(snapshot.has_server());
    for (const auto& entry : snapshot.functions()) {
      EXPECT_EQ(entry.namespace_(), "shop") << entry.function();
      seen += entry.outcomes().success();
    }
    return seen == 7;
  }));
  context->TryCancel();
  stream->Finish();

  v1::WatchMetricsRequest other;
  other.set_namespace_("blog");
  other.set_function("post");
  context = contextWithDeadline(std::chrono::seconds(30), viewer);
  stream = metrics_->WatchMetrics(context.get(), other);
  v1::MetricsSnapshot snapshot;
  EXPECT_FALSE(stream->Read(&snapshot));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(MetricsServiceTest, ANamedFunctionHasAnEntryEverySecondAndAMissingOneIsNotFound) {
  createWithCode(channel_, "default", "quiet");
  v1::WatchMetricsRequest request;
  request.set_function("quiet");
  auto context = contextWithDeadline();
  auto stream = metrics_->WatchMetrics(context.get(), request);
  int snapshots = 0;
  ASSERT_TRUE(readUntil(*stream, [&](const v1::MetricsSnapshot& snapshot) {
    EXPECT_EQ(snapshot.functions_size(), 1);
    if (snapshot.functions_size() == 1) {
      EXPECT_EQ(snapshot.functions(0).function(), "quiet");
      EXPECT_EQ(TimeUtil::DurationToSeconds(snapshot.functions(0).interval()), 1);
    }
    return ++snapshots == 2;
  }));
  context->TryCancel();
  stream->Finish();

  request.set_function("never-created");
  context = contextWithDeadline();
  stream = metrics_->WatchMetrics(context.get(), request);
  v1::MetricsSnapshot snapshot;
  EXPECT_FALSE(stream->Read(&snapshot));
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(MetricsServiceTest, AHundredWatchersGetTheSameLiveSecondsWhileOneStallsUnread) {
  createWithCode(channel_, "default", "busy");
  // The stalled watcher: opened, never read. Its flow-control window fills and its writes stop;
  // the hub must not wait for it.
  auto stalledContext = contextWithDeadline(std::chrono::seconds(120));
  auto stalled = metrics_->WatchMetrics(stalledContext.get(), v1::WatchMetricsRequest());

  constexpr int kWatchers = 100;
  constexpr int kLiveSeconds = 3;
  std::vector<std::vector<int64_t>> seen(kWatchers);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  const int64_t start = absl::ToUnixSeconds(absl::Now());
  for (int i = 0; i < kWatchers; ++i) {
    threads.emplace_back([&, i] {
      auto channel = testing::makeChannel(surged_->address()); // a connection each, as real watchers
      auto stub = v1::MetricsService::NewStub(channel);
      auto context = contextWithDeadline(std::chrono::seconds(60));
      auto stream = stub->WatchMetrics(context.get(), v1::WatchMetricsRequest());
      const bool reached = readUntil(*stream, [&](const v1::MetricsSnapshot& snapshot) {
        if (seconds(snapshot.time()) > start) seen[i].push_back(seconds(snapshot.time()));
        return seen[i].size() == kLiveSeconds;
      });
      if (!reached) ++failures;
      context->TryCancel();
      stream->Finish();
    });
  }
  invoke(channel_, "default", "busy", 20);
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  for (int i = 1; i < kWatchers; ++i) EXPECT_EQ(seen[i], seen[0]) << "watcher " << i;
  for (size_t s = 1; s < seen[0].size(); ++s) EXPECT_EQ(seen[0][s], seen[0][s - 1] + 1) << "no second skipped";

  // The stalled one still works when it reads at last: it gets what its queue holds.
  v1::MetricsSnapshot snapshot;
  EXPECT_TRUE(stalled->Read(&snapshot));
  stalledContext->TryCancel();
  stalled->Finish();
}

TEST_F(MetricsServiceTest, QueryAnswersBySecondAndRefusesBadSteps) {
  createWithCode(channel_, "default", "history");
  invoke(channel_, "default", "history", 5);
  const int64_t after = absl::ToUnixSeconds(absl::Now()) + 1;
  ASSERT_EQ(watchSuccesses(channel_, "history", 5), 5u);
  v1::QueryMetricsRequest request;
  request.set_function("history");
  *request.mutable_start_time() = TimeUtil::SecondsToTimestamp(after - 60);
  *request.mutable_step() = TimeUtil::SecondsToDuration(1);
  v1::QueryMetricsResponse response;
  auto queried = contextWithDeadline();
  ASSERT_TRUE(metrics_->QueryMetrics(queried.get(), request, &response).ok());
  uint64_t total = 0;
  for (const auto& point : response.points()) {
    for (const auto& entry : point.functions()) total += entry.outcomes().success();
  }
  EXPECT_EQ(total, 5u);
  EXPECT_EQ(TimeUtil::DurationToSeconds(response.step()), 1);

  v1::QueryMetricsRequest bad;
  bad.set_function("history");
  *bad.mutable_step() = TimeUtil::MillisecondsToDuration(500);
  auto context = contextWithDeadline();
  grpc::Status status = metrics_->QueryMetrics(context.get(), bad, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("whole number of seconds"));

  bad.clear_step();
  *bad.mutable_start_time() = TimeUtil::SecondsToTimestamp(after);
  *bad.mutable_end_time() = TimeUtil::SecondsToTimestamp(after - 10);
  context = contextWithDeadline();
  EXPECT_EQ(metrics_->QueryMetrics(context.get(), bad, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// Not in the shared suite: this one restarts its own server on the same data dir.
TEST(MetricsHistoryRestartTest, HistoryAndTheWatchBacklogSurviveARestart) {
  testing::TempDir dir;
  const int64_t from = absl::ToUnixSeconds(absl::Now()) - 5;
  auto countStored = [&](const std::shared_ptr<grpc::Channel>& channel) {
    auto stub = v1::MetricsService::NewStub(channel);
    v1::QueryMetricsRequest request;
    request.set_function("kept");
    *request.mutable_start_time() = TimeUtil::SecondsToTimestamp(from);
    v1::QueryMetricsResponse response;
    auto context = contextWithDeadline();
    EXPECT_TRUE(stub->QueryMetrics(context.get(), request, &response).ok());
    uint64_t total = 0;
    for (const auto& point : response.points()) {
      for (const auto& entry : point.functions()) total += entry.outcomes().success();
    }
    return total;
  };
  {
    testing::InProcessSurged surged(dir.path() / "data");
    auto channel = testing::makeChannel(surged.address());
    createWithCode(channel, "default", "kept");
    invoke(channel, "default", "kept", 4);
    ASSERT_EQ(watchSuccesses(channel, "kept", 4), 4u);
    const uint64_t stored = countStored(channel);
    ASSERT_EQ(stored, 4u);
  }
  testing::InProcessSurged again(dir.path() / "data");
  auto channel = testing::makeChannel(again.address());
  EXPECT_EQ(countStored(channel), 4u);

  // A watcher after the restart gets the stored seconds first, so its chart opens full.
  EXPECT_EQ(watchSuccesses(channel, "kept", 4), 4u);
}

} // namespace
} // namespace surge
