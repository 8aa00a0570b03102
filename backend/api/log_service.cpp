// LogService: the TailLogs stream (a replay from the store, then a pipeline follower) and the
// QueryInvocations pages.
#include "api/log_service.h"

#include "api/function_mapping.h"
#include "api/log_mapping.h"
#include "api/proto_time.h"
#include "api/queued_stream.h"
#include "api/status_mapping.h"
#include "common/mutex.h"
#include "common/names.h"

#include <absl/strings/str_cat.h>

#include <memory>
#include <optional>
#include <unordered_set>
#include <utility>
#include <vector>

namespace surge::api {
namespace {

using auth::Operation;

constexpr int kDefaultTailLimit = 1000;
constexpr int kMaxTailLimit = 100000;
constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;

// Checks the names and the key's scope: a namespace the key does not see is NOT_FOUND. A
// function need not exist any more: its logs outlive it.
absl::Status checkScope(const auth::Principal& who, const std::string& ns, const std::string& function) {
  if (auto valid = common::validateName("namespace", ns); !valid.ok()) return valid;
  if (!function.empty()) {
    if (auto valid = common::validateName("function name", function); !valid.ok()) return valid;
  }
  if (!who.seesNamespace(ns)) return absl::NotFoundError(absl::StrCat("namespace '", ns, "' not found"));
  return absl::OkStatus();
}

absl::StatusOr<logs::LineFilter> lineFilterOf(const v1::TailLogsRequest& request) {
  logs::LineFilter filter;
  filter.ns = namespaceOrDefault(request.namespace_());
  filter.function = request.function();
  filter.requestId = request.request_id();
  filter.errorsOnly = request.errors_only();
  if (request.has_since_time()) filter.since = fromProtoTimestamp(request.since_time());
  if (request.has_until_time()) {
    if (request.follow()) {
      return absl::InvalidArgumentError("until_time and follow exclude each other: a follower reads up to now and on");
    }
    filter.until = fromProtoTimestamp(request.until_time());
    if (filter.until <= filter.since) return absl::InvalidArgumentError("since_time must be before until_time");
  }
  return filter;
}

absl::StatusOr<size_t> tailLimitOf(int32_t limit) {
  if (limit < 0 || limit > kMaxTailLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit ", limit, " is out of range: 1 to ", kMaxTailLimit, ", or 0 for ", kDefaultTailLimit));
  }
  return static_cast<size_t>(limit == 0 ? kDefaultTailLimit : limit);
}

// One TailLogs call. The replay (and the follower's registration) runs on a worker; the stream
// then writes the replayed lines, and, when following, the follower's.
class TailStream final : public QueuedStream<TailStream, v1::LogLine> {
public:
  TailStream(logs::LogStore& store, logs::LogPipeline& pipeline, logs::LineFilter filter, size_t limit, bool follow)
      : store_(store), pipeline_(pipeline), filter_(std::move(filter)), limit_(limit), follow_(follow) {}

  // On a worker: registers the follower, then reads the stored lines up to where it starts.
  void load() {
    std::shared_ptr<logs::Follower> follower;
    logs::LineFilter stored = filter_;
    if (follow_) {
      follower = pipeline_.follow(filter_);
      stored.maxId = follower->storedUpTo();
    }
    auto replay = store_.lines(stored, limit_);
    {
      common::MutexLock lock(mu_);
      follower_ = follower; // OnDone unfollows it, whatever happens next
      if (ended()) return;  // cancelled meanwhile
      if (replay.ok()) {
        replay_ = std::move(*replay);
        if (filter_.errorsOnly) {
          for (const logs::StoredLine& line : replay_) replayed_.insert(line.id);
        }
        loaded_ = true;
      }
    }
    if (!replay.ok()) return fail(replay.status());
    if (follower) {
      follower->onReady([alive = alive()] { ifAlive(*alive, [](TailStream& stream) { stream.pump(); }); });
    }
    pump();
  }

  // The replay first, then the follower's lines; without a follower the stream ends after the
  // replay, and a dropped follower ends it too.
  Step nextStep() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!loaded_) return {};
    std::optional<logs::StoredLine> next;
    if (nextReplayed_ < replay_.size()) {
      next = std::move(replay_[nextReplayed_++]);
      if (nextReplayed_ == replay_.size()) replay_.clear(); // its memory goes once sent
    } else if (!follower_) {
      return {nullptr, grpc::Status::OK};
    } else {
      while ((next = follower_->next()) && replayed_.contains(next->id)) {
      }
      if (!next && follower_->dropped()) {
        return {nullptr, grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                      "the reader fell more than 10000 lines behind and was dropped; read again from "
                                      "the time of the last line it got")};
      }
    }
    if (!next) return {}; // following: the follower wakes the stream when a line comes
    current_.Clear();
    toProto(*next->line, current_);
    return {&current_, std::nullopt};
  }

  void onDone() {
    std::shared_ptr<logs::Follower> follower;
    {
      common::MutexLock lock(mu_);
      follower = std::move(follower_);
    }
    if (follower) pipeline_.unfollow(follower);
  }

private:
  logs::LogStore& store_;
  logs::LogPipeline& pipeline_;
  const logs::LineFilter filter_;
  const size_t limit_;
  const bool follow_;
  std::shared_ptr<logs::Follower> follower_ ABSL_GUARDED_BY(mu_);
  std::vector<logs::StoredLine> replay_ ABSL_GUARDED_BY(mu_);
  size_t nextReplayed_ ABSL_GUARDED_BY(mu_) = 0;
  // Errors only: lines the replay sent that the follower may send again (log_pipeline.h).
  std::unordered_set<int64_t> replayed_ ABSL_GUARDED_BY(mu_);
  v1::LogLine current_ ABSL_GUARDED_BY(mu_); // the one being written
  bool loaded_ ABSL_GUARDED_BY(mu_) = false;
};

class FinishedStream final : public grpc::ServerWriteReactor<v1::LogLine> {
public:
  explicit FinishedStream(const absl::Status& status) { Finish(toGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

} // namespace

LogService::LogService(logs::LogStore& store, logs::LogPipeline& pipeline, CallGuard& guard,
                       common::WorkerPool& workers)
    : store_(store), pipeline_(pipeline), guard_(guard), workers_(workers) {}

grpc::ServerWriteReactor<v1::LogLine>* LogService::TailLogs(grpc::CallbackServerContext* context,
                                                            const v1::TailLogsRequest* request) {
  auto who = guard_.admit(*context, Operation::kReadLogs);
  if (!who.ok()) return new FinishedStream(who.status());
  auto filter = lineFilterOf(*request);
  if (!filter.ok()) return new FinishedStream(filter.status());
  if (auto scope = checkScope(**who, filter->ns, filter->function); !scope.ok()) return new FinishedStream(scope);
  auto limit = tailLimitOf(request->limit());
  if (!limit.ok()) return new FinishedStream(limit.status());
  auto* stream = new TailStream(store_, pipeline_, std::move(*filter), *limit, request->follow());
  // The store is read, and a follower registered, on a worker: never on the reactor thread.
  workers_.post([alive = stream->alive()] { TailStream::ifAlive(*alive, [](TailStream& tail) { tail.load(); }); });
  return stream;
}

grpc::ServerUnaryReactor* LogService::QueryInvocations(grpc::CallbackServerContext* context,
                                                       const v1::QueryInvocationsRequest* request,
                                                       v1::QueryInvocationsResponse* response) {
  return runAdmitted(
      guard_, workers_, context, Operation::kReadLogs,
      [this, request, response](const auth::Principal& who) -> absl::Status {
        logs::RecordFilter filter;
        filter.ns = namespaceOrDefault(request->namespace_());
        filter.function = request->function();
        filter.requestId = request->request_id();
        if (auto scope = checkScope(who, filter.ns, filter.function); !scope.ok()) return scope;
        for (const int status : request->statuses()) {
          auto parsed = fromProto(status);
          if (!parsed.ok()) return parsed.status();
          filter.statuses.insert(*parsed);
        }
        if (request->has_start_time()) filter.start = fromProtoTimestamp(request->start_time());
        if (request->has_end_time()) filter.end = fromProtoTimestamp(request->end_time());
        if (filter.end <= filter.start) {
          return absl::InvalidArgumentError("start_time must be before end_time");
        }
        const int pageSize = request->page_size();
        if (pageSize < 0 || pageSize > kMaxPageSize) {
          return absl::InvalidArgumentError(absl::StrCat("page_size ", pageSize, " is out of range: 1 to ",
                                                         kMaxPageSize, ", or 0 for ", kDefaultPageSize));
        }
        auto page = store_.records(filter, pageSize == 0 ? kDefaultPageSize : pageSize, request->page_token());
        if (!page.ok()) return page.status();
        for (const logs::InvocationRecord& record : page->records) {
          toProto(record, *response->add_invocations());
        }
        response->set_next_page_token(page->nextPageToken);
        return absl::OkStatus();
      });
}

} // namespace surge::api
