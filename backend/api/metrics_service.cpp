// MetricsService: the watch stream's reactor, the scope filter, and history queries.
#include "api/metrics_service.h"

#include "api/function_mapping.h"
#include "api/metrics_mapping.h"
#include "api/proto_time.h"
#include "api/queued_stream.h"
#include "common/clock.h"
#include "common/names.h"
#include "common/worker_pool.h"
#include "control/function_directory.h"

#include <absl/strings/str_cat.h>
#include <google/protobuf/util/time_util.h>

#include <functional>
#include <map>

namespace surge::api {
namespace {

using auth::Operation;
using google::protobuf::util::TimeUtil;

// Seconds a cache keeps: the hub's backlog, and a little more for watchers still catching up.
constexpr size_t kCachedSeconds = 330;
// A history answer holds at most this many function entries over all its points (8 MiB messages).
constexpr size_t kMaxHistoryEntries = 20000;

// What one call may see and asked for.
struct Scope {
  PrincipalPtr who;
  std::string ns;       // "": every namespace the key sees
  std::string function; // "": every function in scope

  // The server's series too: the key sees everything, and asked for everything.
  bool wholeServer() const { return who->namespaces.empty() && ns.empty() && function.empty(); }
  bool includes(const std::string& entryNs, const std::string& entryFunction) const {
    if (!function.empty()) return entryNs == ns && entryFunction == function;
    return ns.empty() ? who->seesNamespace(entryNs) : entryNs == ns;
  }
};

// Checks the request's names and the key's scope. A named namespace the key does not see is
// NOT_FOUND, as for a function there.
absl::StatusOr<Scope> scopeOf(PrincipalPtr who, const std::string& ns, const std::string& function) {
  Scope scope{std::move(who), function.empty() ? ns : namespaceOrDefault(ns), function};
  if (!scope.ns.empty()) {
    if (auto valid = common::validateName("namespace", scope.ns); !valid.ok()) return valid;
  }
  if (!function.empty()) {
    if (auto valid = common::validateName("function name", function); !valid.ok()) return valid;
    if (auto visible = checkFunctionVisible(*scope.who, scope.ns, function); !visible.ok()) return visible;
  } else if (!scope.ns.empty() && !scope.who->seesNamespace(scope.ns)) {
    return absl::NotFoundError(absl::StrCat("namespace '", scope.ns, "' not found"));
  }
  return scope;
}

// The snapshot a watcher in `scope` gets: the shared one when it sees everything, else a copy of
// the entries in scope (a named function always has one, zeros when it had nothing).
std::shared_ptr<const v1::MetricsSnapshot> filtered(const std::shared_ptr<const v1::MetricsSnapshot>& all,
                                                    const Scope& scope) {
  if (scope.wholeServer()) return all;
  auto mine = std::make_shared<v1::MetricsSnapshot>();
  *mine->mutable_time() = all->time();
  for (const v1::FunctionMetrics& entry : all->functions()) {
    if (scope.includes(entry.namespace_(), entry.function())) *mine->add_functions() = entry;
  }
  if (!scope.function.empty() && mine->functions().empty()) {
    v1::FunctionMetrics& idle = *mine->add_functions();
    toProto(scope.ns + "/" + scope.function, metrics::Sample{}, idle);
  }
  return mine;
}

// One watcher: writes the frames its subscription queues, one at a time, until the client
// cancels or the hub drops it for falling behind.
class WatchStream final : public QueuedStream<WatchStream, v1::MetricsSnapshot> {
public:
  WatchStream(metrics::MetricsHub& hub, SnapshotCache& cache, Scope scope)
      : hub_(hub), cache_(cache), scope_(std::move(scope)) {}

  // Subscribes and writes the backlog, then each new second.
  void start() {
    {
      common::MutexLock lock(mu_);
      if (ended()) return; // cancelled before it started
      subscription_ = hub_.subscribe();
    }
    subscription_->onReady([alive = alive()] { ifAlive(*alive, [](WatchStream& stream) { stream.pump(); }); });
    pump();
  }

  // The next queued frame, in the watcher's scope; a dropped watcher ends.
  Step nextStep() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!subscription_) return {};
    if (auto frame = subscription_->next()) {
      current_ = filtered(cache_.of(*frame), scope_);
      return {current_.get(), std::nullopt};
    }
    if (!subscription_->dropped()) return {};
    return {nullptr, grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                  "the watcher fell more than 30 seconds behind and was dropped; watch again")};
  }

  void onDone() {
    if (subscription_) hub_.unsubscribe(subscription_);
  }

private:
  metrics::MetricsHub& hub_;
  SnapshotCache& cache_;
  const Scope scope_;
  std::shared_ptr<metrics::Subscription> subscription_;
  std::shared_ptr<const v1::MetricsSnapshot> current_ ABSL_GUARDED_BY(mu_); // the one being written
};

class FinishedStream final : public grpc::ServerWriteReactor<v1::MetricsSnapshot> {
public:
  explicit FinishedStream(const absl::Status& status) { Finish(toGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

// Adds the points of one series to `byEnd` (snapshots by the second their step ends).
void addSeries(const std::string& series, const metrics::HistoryRange& range,
               std::map<int64_t, v1::MetricsSnapshot>& byEnd) {
  for (const metrics::HistoryPoint& point : range.points) {
    v1::MetricsSnapshot& snapshot = byEnd[point.sample.second + range.step];
    v1::FunctionMetrics& entry =
        series.empty() ? *snapshot.mutable_server()->mutable_total() : *snapshot.add_functions();
    if (!series.empty()) setSeriesName(series, entry);
    toProto(point.sample, range.step, point.peakInFlight, point.meanInFlight, entry);
  }
}

} // namespace

std::shared_ptr<const v1::MetricsSnapshot> SnapshotCache::of(const metrics::FramePtr& frame) {
  common::MutexLock lock(mu_);
  auto it = cache_.find(frame->second);
  if (it != cache_.end() && it->second.first == frame) return it->second.second;
  auto snapshot = std::make_shared<const v1::MetricsSnapshot>(toSnapshot(*frame));
  cache_[frame->second] = {frame, snapshot};
  while (cache_.size() > kCachedSeconds) cache_.erase(cache_.begin());
  return snapshot;
}

MetricsService::MetricsService(metrics::MetricsHub& hub, metrics::HistoryStore& history,
                               control::FunctionDirectory& directory, const common::Clock& clock, CallGuard& guard,
                               common::WorkerPool& workers)
    : hub_(hub), history_(history), directory_(directory), clock_(clock), guard_(guard), workers_(workers) {}

grpc::ServerWriteReactor<v1::MetricsSnapshot>* MetricsService::WatchMetrics(grpc::CallbackServerContext* context,
                                                                            const v1::WatchMetricsRequest* request) {
  auto who = guard_.admit(*context, Operation::kReadMetrics);
  if (!who.ok()) return new FinishedStream(who.status());
  auto scope = scopeOf(std::move(*who), request->namespace_(), request->function());
  if (!scope.ok()) return new FinishedStream(scope.status());
  const bool lookUp = !scope->function.empty() && !directory_.cached(scope->ns, scope->function);
  const std::string ns = scope->ns, function = scope->function;
  auto* stream = new WatchStream(hub_, snapshots_, std::move(*scope));
  if (!lookUp) {
    stream->start();
    return stream;
  }
  // Not cached: the store says whether it exists, read on a worker (never the reactor thread).
  workers_.post([this, ns, function, alive = stream->alive()] {
    auto loaded = directory_.load(ns, function);
    WatchStream::ifAlive(*alive, [&](WatchStream& watch) {
      if (loaded.ok()) {
        watch.start();
      } else {
        watch.fail(loaded.status());
      }
    });
  });
  return stream;
}

grpc::ServerUnaryReactor* MetricsService::QueryMetrics(grpc::CallbackServerContext* context,
                                                       const v1::QueryMetricsRequest* request,
                                                       v1::QueryMetricsResponse* response) {
  return runAdmitted(
      guard_, workers_, context, Operation::kReadMetrics, [this, request, response](const auth::Principal& who) {
        auto scope = scopeOf(std::make_shared<const auth::Principal>(who), request->namespace_(), request->function());
        if (!scope.ok()) return scope.status();
        const int64_t now = absl::ToUnixSeconds(clock_.now());
        const int64_t to = request->has_end_time() ? absl::ToUnixSeconds(fromProtoTimestamp(request->end_time())) : now;
        const int64_t from =
            request->has_start_time() ? absl::ToUnixSeconds(fromProtoTimestamp(request->start_time())) : to - 3600;
        int64_t step = 0;
        if (request->has_step()) {
          if (request->step().nanos() != 0 || request->step().seconds() < 1) {
            return absl::InvalidArgumentError("the step must be a whole number of seconds, at least 1 s");
          }
          step = request->step().seconds();
        }
        if (from >= to) return absl::InvalidArgumentError("start_time must be before end_time");

        std::vector<std::string> series;
        if (!scope->function.empty()) {
          series.push_back(scope->ns + "/" + scope->function);
        } else {
          auto stored = history_.seriesBetween(from, to);
          if (!stored.ok()) return stored.status();
          for (const std::string& name : *stored) {
            const auto slash = name.find('/');
            if (name.empty() ? scope->wholeServer() : scope->includes(name.substr(0, slash), name.substr(slash + 1))) {
              series.push_back(name);
            }
          }
        }
        std::map<int64_t, v1::MetricsSnapshot> byEnd;
        size_t entries = 0;
        int64_t used = 0;
        for (const std::string& name : series) {
          auto range = history_.query(name, from, to, step, now);
          if (!range.ok()) return range.status();
          used = range->step;
          entries += range->points.size();
          if (entries > kMaxHistoryEntries) {
            return absl::InvalidArgumentError(absl::StrCat("the answer would hold more than ", kMaxHistoryEntries,
                                                           " points over all functions; narrow the range, name a "
                                                           "function, or raise the step"));
          }
          addSeries(name, *range, byEnd);
        }
        if (used == 0) { // no series: say the step the range would use
          auto range = history_.query("", from, to, step, now);
          if (!range.ok()) return range.status();
          used = range->step;
        }
        for (auto& [end, snapshot] : byEnd) {
          *snapshot.mutable_time() = toProtoTimestamp(absl::FromUnixSeconds(end));
          *response->add_points() = std::move(snapshot);
        }
        *response->mutable_step() = TimeUtil::SecondsToDuration(used);
        return absl::OkStatus();
      });
}

} // namespace surge::api
