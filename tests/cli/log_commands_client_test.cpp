// "surgectl logs" and "surgectl invocations" in-process against a LogService double on a loopback
// port: what they send (nothing on a usage error), how they print a stream and its end, and how
// they page up to --limit.
#include "api/proto_time.h"
#include "cli/cli_app.h"

#include "surge/v1/logs.grpc.pb.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <absl/strings/str_split.h>

namespace surge::cli {
namespace {

namespace v1 = surge::v1;
using ::testing::HasSubstr;

// Sends the lines it is given and then ends the stream with `tailEnd`; serves `pages` of records
// in order (page token "1" is the second page, and so on). Remembers every request.
class LogServiceDouble final : public v1::LogService::Service {
public:
  std::vector<v1::LogLine> lines;
  grpc::Status tailEnd = grpc::Status::OK;
  std::vector<std::vector<v1::InvocationRecord>> pages;

  grpc::Status TailLogs(grpc::ServerContext*, const v1::TailLogsRequest* request,
                        grpc::ServerWriter<v1::LogLine>* writer) override {
    std::lock_guard lock(mutex_);
    tailRequests_.push_back(*request);
    for (const v1::LogLine& line : lines) writer->Write(line);
    return tailEnd;
  }

  grpc::Status QueryInvocations(grpc::ServerContext*, const v1::QueryInvocationsRequest* request,
                                v1::QueryInvocationsResponse* response) override {
    std::lock_guard lock(mutex_);
    queries_.push_back(*request);
    const size_t page = request->page_token().empty() ? 0 : std::stoul(request->page_token());
    if (page < pages.size()) {
      for (const v1::InvocationRecord& record : pages[page]) *response->add_invocations() = record;
    }
    if (page + 1 < pages.size()) response->set_next_page_token(std::to_string(page + 1));
    return grpc::Status::OK;
  }

  std::vector<v1::TailLogsRequest> tailRequests() {
    std::lock_guard lock(mutex_);
    return tailRequests_;
  }
  std::vector<v1::QueryInvocationsRequest> queries() {
    std::lock_guard lock(mutex_);
    return queries_;
  }

private:
  std::mutex mutex_;
  std::vector<v1::TailLogsRequest> tailRequests_;
  std::vector<v1::QueryInvocationsRequest> queries_;
};

v1::LogLine line(const std::string& requestId, const std::string& text) {
  v1::LogLine l;
  *l.mutable_time() = api::toProtoTimestamp(absl::FromUnixMillis(1'796'666'400'123));
  l.set_namespace_("default");
  l.set_function("hello");
  l.set_request_id(requestId);
  l.set_stream(v1::LogLine::STDOUT);
  l.set_text(text);
  return l;
}

v1::InvocationRecord record(int n) {
  v1::InvocationRecord r;
  r.set_request_id("r-" + std::to_string(n));
  r.set_function("hello");
  r.set_status(v1::SUCCEEDED);
  return r;
}

struct InProcessRun {
  int code;
  std::string out;
  std::string err;
};

class LogCommandsClientTest : public ::testing::Test {
protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    address_ = "127.0.0.1:" + std::to_string(port);
  }
  void TearDown() override { server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10)); }

  InProcessRun surgectl(const std::vector<std::string>& args) {
    std::ostringstream out, err;
    std::vector<std::string> all = {"--server", address_, "--key", "surge_test_secret"};
    all.insert(all.end(), args.begin(), args.end());
    const int code = run(all, out, err);
    return {code, out.str(), err.str()};
  }

  LogServiceDouble service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

TEST_F(LogCommandsClientTest, BadFlagsAreUsageErrorsWithAMessageAndSendNothing) {
  const InProcessRun untilFollow = surgectl({"logs", "hello", "--follow", "--until", "1h"});
  EXPECT_EQ(untilFollow.code, 2);
  EXPECT_THAT(untilFollow.err, HasSubstr("error: --until cannot go with --follow"));
  EXPECT_EQ(untilFollow.out, "");

  const InProcessRun badSince = surgectl({"logs", "hello", "--since", "yesterday"});
  EXPECT_EQ(badSince.code, 2);
  EXPECT_THAT(badSince.err, HasSubstr("'yesterday' is not a time"));

  const InProcessRun badUntil = surgectl({"invocations", "hello", "--until", "noon"});
  EXPECT_EQ(badUntil.code, 2);
  EXPECT_THAT(badUntil.err, HasSubstr("'noon' is not a time"));

  const InProcessRun badLimit = surgectl({"invocations", "hello", "--limit", "0"});
  EXPECT_EQ(badLimit.code, 2);
  EXPECT_THAT(badLimit.err, HasSubstr("'0' is not a whole number from 1 to 100000"));

  EXPECT_EQ(surgectl({"logs"}).code, 2);
  EXPECT_EQ(surgectl({"invocations", "Bad_Name"}).code, 2);
  EXPECT_EQ(surgectl({"logs", "hello", "--bogus"}).code, 2);
  EXPECT_TRUE(service_.tailRequests().empty());
  EXPECT_TRUE(service_.queries().empty());
}

TEST_F(LogCommandsClientTest, LogsSendsTheFlagsAndPrintsOneLinePerLogLine) {
  service_.lines = {line("r-1", "first"), line("r-2", "second")};
  const InProcessRun logs = surgectl({"-n", "shop", "logs", "hello", "--request", "r-1", "--errors", "--limit", "7"});
  ASSERT_EQ(logs.code, 0) << logs.err;
  EXPECT_EQ(logs.out, "2026-12-07T18:00:00.123Z   r-1                  stdout     first\n"
                      "2026-12-07T18:00:00.123Z   r-2                  stdout     second\n");
  ASSERT_EQ(service_.tailRequests().size(), 1u);
  const v1::TailLogsRequest sent = service_.tailRequests()[0];
  EXPECT_EQ(sent.namespace_(), "shop");
  EXPECT_EQ(sent.function(), "hello");
  EXPECT_EQ(sent.request_id(), "r-1");
  EXPECT_TRUE(sent.errors_only());
  EXPECT_FALSE(sent.follow());
  EXPECT_EQ(sent.limit(), 7);

  const InProcessRun json = surgectl({"logs", "hello", "-o", "json"});
  ASSERT_EQ(json.code, 0) << json.err;
  const std::vector<std::string> jsonLines = absl::StrSplit(json.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(jsonLines.size(), 2u) << json.out;
  EXPECT_THAT(jsonLines[0], HasSubstr(R"("text":"first")"));
  EXPECT_THAT(jsonLines[1], HasSubstr(R"("text":"second")"));
}

TEST_F(LogCommandsClientTest, NoLinesIsANoteOnStderr) {
  const InProcessRun logs = surgectl({"logs", "hello"});
  EXPECT_EQ(logs.code, 0);
  EXPECT_EQ(logs.out, "");
  EXPECT_EQ(logs.err, "no log lines of default/hello\n");
}

TEST_F(LogCommandsClientTest, AFollowEndedByTheServerExitsZeroAndADroppedFollowerOne) {
  service_.lines = {line("r-1", "first")};
  const InProcessRun ended = surgectl({"logs", "hello", "--follow"});
  EXPECT_EQ(ended.code, 0) << ended.err;
  EXPECT_THAT(ended.out, HasSubstr("first\n"));
  EXPECT_TRUE(service_.tailRequests().at(0).follow());

  service_.tailEnd = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "follower fell 10000 lines behind");
  const InProcessRun dropped = surgectl({"logs", "hello", "--follow"});
  EXPECT_EQ(dropped.code, 1);
  EXPECT_THAT(dropped.out, HasSubstr("first\n")) << "the lines before the end are printed";
  EXPECT_EQ(dropped.err, "error: RESOURCE_EXHAUSTED: follower fell 10000 lines behind\n");
}

TEST_F(LogCommandsClientTest, InvocationsFollowThePageTokensUpToTheLimit) {
  service_.pages = {{record(1), record(2)}, {record(3), record(4)}, {record(5)}};
  const InProcessRun three = surgectl({"invocations", "hello", "--limit", "3", "--errors", "-o", "json"});
  ASSERT_EQ(three.code, 0) << three.err;
  const std::vector<std::string> lines = absl::StrSplit(three.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << three.out;
  EXPECT_THAT(lines[2], HasSubstr(R"("requestId":"r-3")"));
  // The third page is not asked for; the second carries the first's token and the same filters.
  const std::vector<v1::QueryInvocationsRequest> queries = service_.queries();
  ASSERT_EQ(queries.size(), 2u);
  EXPECT_EQ(queries[0].page_token(), "");
  EXPECT_EQ(queries[1].page_token(), "1");
  for (const v1::QueryInvocationsRequest& query : queries) {
    EXPECT_EQ(query.page_size(), 3);
    EXPECT_EQ(query.statuses_size(), 6);
    EXPECT_EQ(query.function(), "hello");
  }

  const InProcessRun all = surgectl({"invocations", "hello"});
  ASSERT_EQ(all.code, 0) << all.err;
  const std::vector<std::string> rows = absl::StrSplit(all.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(rows.size(), 6u) << all.out;
  EXPECT_THAT(rows[0], ::testing::StartsWith("TIME "));
  EXPECT_THAT(rows[5], HasSubstr("r-5"));
  EXPECT_EQ(service_.queries().size(), 5u) << "two for the first run, three for this one";
}

} // namespace
} // namespace surge::cli
