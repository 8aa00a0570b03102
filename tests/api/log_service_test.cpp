// LogService against a real surged with real sandboxes: what functions print, tagged with their
// request, read back stored and followed live; errors only; the per-invocation cap in each
// runtime; invocation records with their filters, pages and fields; the log tail of Invoke; bad
// input and scope; and records that survive a restart.
#include "support/client.h"
#include "support/function_setup.h"
#include "support/process.h"
#include "support/surged_suite.h"
#include "support/temp_dir.h"

#include "surge/v1/admin.grpc.pb.h"
#include "surge/v1/invoke.grpc.pb.h"
#include "surge/v1/logs.grpc.pb.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace surge {
namespace {

using testing::contextWithDeadline;
using ::testing::HasSubstr;

// Prints a line on stdout, logs one with the root logger (Function Compute's format, on stderr),
// and fails when asked to. "wait:<ms>" holds the request that long, so that two overlap.
constexpr const char* kChatty = R"(import logging, time
print('module loaded')
def handler(event, context):
    text = event.decode()
    print('about to', text)
    logging.getLogger().info('handling %s', text)
    if text.startswith('wait:'):
        time.sleep(int(text[5:]) / 1000)
        print('done waiting', text)
    if text == 'fail':
        raise ValueError('asked to fail')
    return 'ok ' + text
)";

class LogServiceTest : public testing::SurgedSuite {
protected:
  static void SetUpTestSuite() {
    testing::SurgedSuite::SetUpTestSuite();
    const absl::Status deployed =
        testing::deployPythonFunction(channel_, {.name = "chatty", .code = kChatty, .concurrency = 2});
    ASSERT_TRUE(deployed.ok()) << deployed;
  }

  static v1::InvokeResponse invoke(const std::string& function, const std::string& payload, bool logTail = false) {
    auto stub = v1::InvokeService::NewStub(channel_);
    v1::InvokeRequest request;
    request.set_function(function);
    request.set_payload(payload);
    request.set_log_tail(logTail);
    v1::InvokeResponse response;
    auto context = contextWithDeadline(std::chrono::seconds(60));
    const grpc::Status status = stub->Invoke(context.get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // The stored lines that match (TailLogs without follow), or the call's error.
  static grpc::Status tail(v1::TailLogsRequest request, std::vector<v1::LogLine>& lines) {
    auto stub = v1::LogService::NewStub(channel_);
    auto context = contextWithDeadline(std::chrono::seconds(30));
    auto stream = stub->TailLogs(context.get(), request);
    v1::LogLine line;
    lines.clear();
    while (stream->Read(&line)) lines.push_back(line);
    return stream->Finish();
  }

  // Lines are written in batches (every 50 ms): reads until `count` lines of `request` are
  // stored, or 10 s pass.
  static std::vector<v1::LogLine> linesOf(const v1::TailLogsRequest& request, size_t count) {
    std::vector<v1::LogLine> lines;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (true) {
      const grpc::Status status = tail(request, lines);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok() || lines.size() >= count || std::chrono::steady_clock::now() > deadline) return lines;
      std::this_thread::sleep_for(std::chrono::milliseconds(20)); // a poll interval
    }
  }

  static v1::TailLogsRequest forRequest(const std::string& requestId) {
    v1::TailLogsRequest request;
    request.set_function("chatty");
    request.set_request_id(requestId);
    return request;
  }

  static std::vector<std::string> texts(const std::vector<v1::LogLine>& lines) {
    std::vector<std::string> out;
    for (const auto& line : lines) out.push_back(line.text());
    return out;
  }

  static grpc::Status query(const v1::QueryInvocationsRequest& request, v1::QueryInvocationsResponse& response) {
    auto stub = v1::LogService::NewStub(channel_);
    auto context = contextWithDeadline();
    return stub->QueryInvocations(context.get(), request, &response);
  }

  // The record of one request, once written (bounded wait).
  static std::optional<v1::InvocationRecord> recordOf(const std::string& function, const std::string& requestId) {
    v1::QueryInvocationsRequest request;
    request.set_function(function);
    request.set_request_id(requestId);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      v1::QueryInvocationsResponse response;
      const grpc::Status status = query(request, response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) return std::nullopt;
      if (response.invocations_size() == 1) return response.invocations(0);
      std::this_thread::sleep_for(std::chrono::milliseconds(20)); // a poll interval
    }
    return std::nullopt;
  }
};

TEST_F(LogServiceTest, ALoggerLineCarriesItsRequestIdAndEveryTag) {
  const v1::InvokeResponse response = invoke("chatty", "first", /*logTail=*/true);
  ASSERT_EQ(response.result(), "ok first");
  // The tail came back with the answer: the print and Function Compute's logger line.
  EXPECT_THAT(response.log_tail(), HasSubstr("about to first\n"));
  EXPECT_THAT(response.log_tail(), HasSubstr(" " + response.request_id() + " [INFO] handling first\n"));

  const auto lines = linesOf(forRequest(response.request_id()), 2);
  ASSERT_EQ(lines.size(), 2u) << ::testing::PrintToString(texts(lines));
  for (const v1::LogLine& line : lines) {
    EXPECT_EQ(line.namespace_(), "default");
    EXPECT_EQ(line.function(), "chatty");
    EXPECT_EQ(line.version(), 1);
    EXPECT_EQ(line.request_id(), response.request_id());
    EXPECT_EQ(line.instance_id(), response.instance_id());
    EXPECT_FALSE(line.initializer());
    EXPECT_FALSE(line.cut());
    EXPECT_GT(line.time().seconds(), 0);
  }
  EXPECT_EQ(lines[0].text(), "about to first");
  EXPECT_EQ(lines[0].stream(), v1::LogLine::STDOUT);
  EXPECT_THAT(lines[1].text(), HasSubstr(response.request_id() + " [INFO] handling first"));
  EXPECT_EQ(lines[1].stream(), v1::LogLine::STDERR);

  // What the module printed while the instance started is the instance's, marked initializer.
  v1::TailLogsRequest all;
  all.set_function("chatty");
  bool sawLoading = false;
  for (const v1::LogLine& line : linesOf(all, 3)) {
    if (line.text() != "module loaded") continue;
    sawLoading = true;
    EXPECT_TRUE(line.initializer());
    EXPECT_EQ(line.request_id(), "");
    EXPECT_EQ(line.instance_id(), response.instance_id());
  }
  EXPECT_TRUE(sawLoading);
}

TEST_F(LogServiceTest, TheRequestIdFilterSeparatesTwoConcurrentRequests) {
  // Two requests on one instance (concurrency 2) at once, each printing before and after a wait.
  auto first = std::async(std::launch::async, [] { return invoke("chatty", "wait:300"); });
  auto second = std::async(std::launch::async, [] { return invoke("chatty", "wait:301"); });
  const v1::InvokeResponse a = first.get(), b = second.get();
  ASSERT_NE(a.request_id(), b.request_id());
  for (const auto& [response, payload] : {std::pair{a, "wait:300"}, std::pair{b, "wait:301"}}) {
    const auto lines = linesOf(forRequest(response.request_id()), 3);
    ASSERT_EQ(lines.size(), 3u) << ::testing::PrintToString(texts(lines));
    EXPECT_EQ(lines.front().text(), std::string("about to ") + payload);
    for (const auto& line : lines) {
      EXPECT_EQ(line.request_id(), response.request_id());
      EXPECT_THAT(line.text(), HasSubstr(payload));
    }
  }
}

TEST_F(LogServiceTest, ErrorsOnlyGivesStderrAndEveryLineOfAFailedInvocation) {
  const v1::InvokeResponse good = invoke("chatty", "good-one");
  const v1::InvokeResponse bad = invoke("chatty", "fail");
  ASSERT_TRUE(bad.has_error());
  ASSERT_TRUE(recordOf("chatty", bad.request_id())); // its record is written: the lines follow it
  v1::TailLogsRequest request;
  request.set_function("chatty");
  request.set_errors_only(true);
  const auto lines = linesOf(request, 1);
  bool sawFailedStdout = false, sawGoodStdout = false, sawGoodStderr = false;
  for (const v1::LogLine& line : lines) {
    if (line.request_id() == bad.request_id() && line.text() == "about to fail") sawFailedStdout = true;
    if (line.request_id() == good.request_id() && line.stream() == v1::LogLine::STDOUT) sawGoodStdout = true;
    if (line.request_id() == good.request_id() && line.stream() == v1::LogLine::STDERR) sawGoodStderr = true;
  }
  EXPECT_TRUE(sawFailedStdout);
  // The handler's error and its trace are in the log too, on stderr.
  bool sawError = false;
  for (const v1::LogLine& line : lines) {
    if (line.request_id() == bad.request_id() && line.text() == "ValueError: asked to fail") {
      sawError = true;
      EXPECT_EQ(line.stream(), v1::LogLine::STDERR);
    }
  }
  EXPECT_TRUE(sawError);
  EXPECT_FALSE(sawGoodStdout);
  EXPECT_TRUE(sawGoodStderr); // the logger writes to stderr
}

// Reads a following stream on a thread of its own, keeping every line.
class Follower {
public:
  Follower(const std::shared_ptr<grpc::Channel>& channel, v1::TailLogsRequest request) {
    request.set_follow(true);
    stub_ = v1::LogService::NewStub(channel);
    context_ = contextWithDeadline(std::chrono::seconds(60));
    stream_ = stub_->TailLogs(context_.get(), request);
    reader_ = std::thread([this] {
      v1::LogLine line;
      while (stream_->Read(&line)) {
        std::lock_guard lock(mu_);
        lines_.push_back(line);
        cv_.notify_all();
      }
    });
  }
  ~Follower() {
    context_->TryCancel();
    reader_.join();
    status_ = stream_->Finish();
  }
  // Whether a line with `text` of `requestId` came within `timeout`.
  bool waitFor(const std::string& requestId, const std::string& text,
               std::chrono::seconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return find(requestId, text) != nullptr; });
  }
  bool has(const std::string& requestId, const std::string& text) {
    std::lock_guard lock(mu_);
    return find(requestId, text) != nullptr;
  }

private:
  const v1::LogLine* find(const std::string& requestId, const std::string& text) {
    for (const auto& line : lines_) {
      if (line.request_id() == requestId && line.text() == text) return &line;
    }
    return nullptr;
  }
  std::unique_ptr<v1::LogService::Stub> stub_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReader<v1::LogLine>> stream_;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<v1::LogLine> lines_;
  grpc::Status status_;
};

TEST_F(LogServiceTest, AFollowerGetsNewLinesAsTheyArePrinted) {
  v1::TailLogsRequest request;
  request.set_function("chatty");
  request.mutable_since_time()->set_seconds(0); // replay too: nothing is lost in between
  Follower follower(channel_, request);
  const v1::InvokeResponse response = invoke("chatty", "live");
  EXPECT_TRUE(follower.waitFor(response.request_id(), "about to live"));
  const v1::InvokeResponse again = invoke("chatty", "again");
  EXPECT_TRUE(follower.waitFor(again.request_id(), "about to again"));
}

TEST_F(LogServiceTest, AnErrorsOnlyFollowerGetsAFailedInvocationsLinesWhenItEnds) {
  v1::TailLogsRequest request;
  request.set_function("chatty");
  request.set_errors_only(true);
  Follower follower(channel_, request);
  const v1::InvokeResponse good = invoke("chatty", "fine");
  const v1::InvokeResponse bad = invoke("chatty", "fail");
  EXPECT_TRUE(follower.waitFor(bad.request_id(), "about to fail"));
  // The good one's stdout never comes (its lines were published before the bad one's).
  EXPECT_FALSE(follower.has(good.request_id(), "about to fine"));
}

TEST_F(LogServiceTest, RecordsSayWhatHappenedToEachInvocation) {
  const v1::InvokeResponse earlierBad = invoke("chatty", "fail");
  const v1::InvokeResponse good = invoke("chatty", "recorded");
  const v1::InvokeResponse bad = invoke("chatty", "fail");
  const auto ok = recordOf("chatty", good.request_id());
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status(), v1::SUCCEEDED);
  EXPECT_EQ(ok->namespace_(), "default");
  EXPECT_EQ(ok->function(), "chatty");
  EXPECT_EQ(ok->version(), 1);
  EXPECT_EQ(ok->instance_id(), good.instance_id());
  EXPECT_EQ(ok->instance_kind(), good.instance_kind());
  EXPECT_EQ(ok->queue_wait_us(), good.queue_wait_us());
  EXPECT_EQ(ok->execution_us(), good.execution_us());
  EXPECT_EQ(ok->billed_ms(), good.billed_ms());
  EXPECT_EQ(ok->cold_start(), good.cold_start());
  EXPECT_GT(ok->peak_memory_bytes(), 1 << 20); // at least the interpreter
  EXPECT_LE(ok->peak_memory_bytes(), int64_t{128} << 20);
  EXPECT_GT(ok->arrival_time().seconds(), 0);
  EXPECT_TRUE(ok->error_type().empty());
  const auto failed = recordOf("chatty", bad.request_id());
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->status(), v1::FUNCTION_ERROR);
  EXPECT_EQ(failed->error_type(), "HandlerError");
  EXPECT_THAT(failed->error_message(), HasSubstr("asked to fail"));

  // Errors only, newest first, a page at a time.
  v1::QueryInvocationsRequest errors;
  errors.set_function("chatty");
  for (int status = v1::FUNCTION_ERROR; status <= v1::PLATFORM_ERROR; ++status) {
    errors.add_statuses(static_cast<v1::InvocationStatus>(status));
  }
  errors.set_page_size(1);
  v1::QueryInvocationsResponse page;
  ASSERT_TRUE(query(errors, page).ok());
  ASSERT_EQ(page.invocations_size(), 1);
  EXPECT_EQ(page.invocations(0).request_id(), bad.request_id());
  ASSERT_FALSE(page.next_page_token().empty());
  errors.set_page_token(page.next_page_token());
  ASSERT_TRUE(query(errors, page).ok());
  ASSERT_EQ(page.invocations_size(), 1);
  EXPECT_EQ(page.invocations(0).request_id(), earlierBad.request_id());
  v1::QueryInvocationsRequest all;
  all.set_function("chatty");
  all.set_page_size(1000);
  v1::QueryInvocationsResponse everything;
  ASSERT_TRUE(query(all, everything).ok());
  ASSERT_GE(everything.invocations_size(), 2);
  for (int i = 1; i < everything.invocations_size(); ++i) {
    EXPECT_GE(everything.invocations(i - 1).arrival_time().seconds(),
              everything.invocations(i).arrival_time().seconds());
  }
  // Paging through one at a time gives the same records, once each.
  all.set_page_size(1);
  std::vector<std::string> paged;
  for (int pages = 0; pages < 1000; ++pages) {
    v1::QueryInvocationsResponse one;
    ASSERT_TRUE(query(all, one).ok());
    for (const auto& record : one.invocations()) paged.push_back(record.request_id());
    if (one.next_page_token().empty()) break;
    all.set_page_token(one.next_page_token());
  }
  ASSERT_EQ(static_cast<int>(paged.size()), everything.invocations_size());
  for (int i = 0; i < everything.invocations_size(); ++i) EXPECT_EQ(paged[i], everything.invocations(i).request_id());
}

TEST_F(LogServiceTest, EachRuntimeCapsAnInvocationsLogAndSaysSo) {
  // 2000 lines of 100 bytes: 200 KB, over the 64 KiB an invocation may keep.
  const std::vector<testing::PythonFunction> functions = {
      {.name = "flood-python",
       .code = "def handler(e, c):\n    for i in range(2000):\n        print('%099d' % i)\n    return 'done'\n"},
      {.name = "flood-nodejs",
       .code = "exports.handler = (e, c, cb) => {\n  for (let i = 0; i < 2000; i++) "
               "console.log(String(i).padStart(99, '0'));\n  cb(null, 'done');\n};\n",
       .runtime = v1::RUNTIME_NODEJS,
       .file = "index.js"},
      {.name = "flood-custom",
       .code = "#!/bin/sh\nexport LC_ALL=C\nread -r type id len rest <&3 || exit 0\nhead -c \"$len\" <&3 >/dev/null\n"
               "printf 'READY - 0\\n' >&3\nwhile read -r type id len rest <&3; do\n"
               "  head -c \"$len\" <&3 >/dev/null\n  case $type in\n"
               "    INVOKE) seq -f '%099g' 0 1999; printf 'RESULT %s 4\\ndone' \"$id\" >&3 ;;\n"
               "    STOP) exit 0 ;;\n  esac\ndone\n",
       .runtime = v1::RUNTIME_CUSTOM,
       .handler = "bootstrap.handler",
       .file = "bootstrap",
       .fileMode = 0755},
  };
  for (const testing::PythonFunction& function : functions) {
    const absl::Status deployed = testing::deployPythonFunction(channel_, function);
    ASSERT_TRUE(deployed.ok()) << deployed;
    const v1::InvokeResponse response = invoke(function.name, "", /*logTail=*/true);
    EXPECT_EQ(response.result(), "done") << function.name;
    EXPECT_THAT(response.log_tail(), ::testing::EndsWith("truncated at 64 KiB]\n")) << function.name;
    v1::TailLogsRequest request;
    request.set_function(function.name);
    request.set_request_id(response.request_id());
    // 64 KiB hold 655 lines of 100 bytes and their newlines; then one platform line.
    const auto lines = linesOf(request, 656);
    ASSERT_EQ(lines.size(), 656u) << function.name;
    EXPECT_EQ(lines.front().text(), std::string(99, '0')) << function.name;
    EXPECT_EQ(lines.front().stream(), v1::LogLine::STDOUT) << function.name;
    EXPECT_EQ(lines.back().stream(), v1::LogLine::PLATFORM) << function.name;
    EXPECT_THAT(lines.back().text(), HasSubstr("truncated at 64 KiB")) << function.name;
  }
}

TEST_F(LogServiceTest, BadRequestsAreRefusedWithTheirReason) {
  std::vector<v1::LogLine> lines;
  v1::TailLogsRequest followUntil;
  followUntil.set_function("chatty");
  followUntil.set_follow(true);
  followUntil.mutable_until_time()->set_seconds(1);
  grpc::Status status = tail(followUntil, lines);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("until_time and follow"));
  v1::TailLogsRequest limit;
  limit.set_limit(-1);
  EXPECT_EQ(tail(limit, lines).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::TailLogsRequest badName;
  badName.set_function("Not A Name");
  EXPECT_EQ(tail(badName, lines).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::QueryInvocationsResponse response;
  v1::QueryInvocationsRequest page;
  page.set_page_size(5000);
  EXPECT_EQ(query(page, response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::QueryInvocationsRequest status99;
  status99.add_statuses(static_cast<v1::InvocationStatus>(99));
  EXPECT_EQ(query(status99, response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::QueryInvocationsRequest token;
  token.set_page_token("not-a-token");
  status = query(token, response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("page_token"));
}

TEST_F(LogServiceTest, AViewerSeesTheLogsOfItsNamespacesOnly) {
  auto admin = v1::AdminService::NewStub(channel_);
  const std::string viewer = testing::createApiKey(*admin, "log-viewer", v1::VIEWER, {"default"});
  const std::string outsider = testing::createApiKey(*admin, "log-outsider", v1::VIEWER, {"elsewhere"});
  const v1::InvokeResponse response = invoke("chatty", "seen");
  testing::setDefaultApiKey(viewer);
  EXPECT_FALSE(linesOf(forRequest(response.request_id()), 1).empty());
  testing::setDefaultApiKey(outsider);
  std::vector<v1::LogLine> lines;
  EXPECT_EQ(tail(forRequest(response.request_id()), lines).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::QueryInvocationsRequest request;
  request.set_function("chatty");
  v1::QueryInvocationsResponse records;
  EXPECT_EQ(query(request, records).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST(LogServiceRestartTest, RecordsAndLinesSurviveARestart) {
  testing::TempDir dir;
  std::string requestId;
  {
    testing::SurgedProcess surged(dir.path() / "data");
    auto channel = testing::makeChannel(surged.address());
    ASSERT_TRUE(testing::deployPythonFunction(channel, {.name = "chatty", .code = kChatty}).ok());
    auto stub = v1::InvokeService::NewStub(channel);
    v1::InvokeRequest request;
    request.set_function("chatty");
    request.set_payload("before");
    v1::InvokeResponse response;
    auto context = contextWithDeadline(std::chrono::seconds(60));
    ASSERT_TRUE(stub->Invoke(context.get(), request, &response).ok());
    requestId = response.request_id();
    EXPECT_EQ(surged.stop(), 0); // a clean stop writes what is queued
  }
  testing::SurgedProcess surged(dir.path() / "data");
  auto logs = v1::LogService::NewStub(testing::makeChannel(surged.address()));
  v1::QueryInvocationsRequest query;
  query.set_function("chatty");
  query.set_request_id(requestId);
  v1::QueryInvocationsResponse records;
  auto context = contextWithDeadline();
  ASSERT_TRUE(logs->QueryInvocations(context.get(), query, &records).ok());
  ASSERT_EQ(records.invocations_size(), 1);
  EXPECT_EQ(records.invocations(0).status(), v1::SUCCEEDED);
  v1::TailLogsRequest tail;
  tail.set_function("chatty");
  tail.set_request_id(requestId);
  auto tailContext = contextWithDeadline();
  auto stream = logs->TailLogs(tailContext.get(), tail);
  v1::LogLine line;
  std::vector<std::string> texts;
  while (stream->Read(&line)) texts.push_back(line.text());
  ASSERT_TRUE(stream->Finish().ok());
  EXPECT_THAT(texts, ::testing::Contains("about to before"));
}

} // namespace
} // namespace surge
