// LogPipeline: the queue the loops fill, the writer thread that stores and then publishes each
// batch, the followers' queues, and retention on the same thread.
#include "logs/log_pipeline.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace surge::logs {
namespace {

// More than this many lines and records queued wake the writer before its interval ends; below
// it, submit() makes no system call.
constexpr size_t kWakeAtQueued = 1000;
// The record bound's estimate of one queued record (the struct and its strings).
constexpr size_t kQueuedRecordBytes = 512;
constexpr absl::Duration kDropWarningEvery = absl::Seconds(10);
// Error records remembered so that their invocations' later lines still go live.
constexpr size_t kRecentErrorsKept = 4096;

size_t queuedBytes(const common::LogLine& line) {
  return sizeof(common::LogLine) + line.text.size() + line.function.size() + line.requestId.size();
}

// `function` is "namespace/name".
bool matchesFunction(const LineFilter& filter, std::string_view function) {
  if (function.size() <= filter.ns.size() || !function.starts_with(filter.ns) || function[filter.ns.size()] != '/') {
    return false;
  }
  return filter.function.empty() || function.substr(filter.ns.size() + 1) == filter.function;
}

bool matchesRequest(const LineFilter& filter, const std::string& requestId) {
  return filter.requestId.empty() || filter.requestId == requestId;
}

} // namespace

LogPipeline::LogPipeline(LogStore& store, LogPipelineOptions options)
    : store_(store), options_(std::move(options)), thread_([this] { run(); }) {}

LogPipeline::~LogPipeline() {
  {
    common::MutexLock lock(mu_);
    stopping_ = true;
  }
  wake_.notifyAll();
  thread_.join();
}

void LogPipeline::submit(std::vector<common::LogLinePtr> lines) {
  if (lines.empty()) return;
  bool wake = false;
  {
    common::MutexLock lock(mu_);
    ++submitted_;
    if (diskLow_) {
      counters_.linesDropped += lines.size();
      return;
    }
    const size_t queuedBefore = lines_.size() + records_.size();
    for (common::LogLinePtr& line : lines) {
      const size_t bytes = queuedBytes(*line);
      if (queuedBytes_ + bytes > options_.maxQueuedBytes) {
        ++counters_.linesDropped;
        continue;
      }
      queuedBytes_ += bytes;
      lines_.push_back(std::move(line));
    }
    wake = queuedBefore <= kWakeAtQueued && lines_.size() + records_.size() > kWakeAtQueued;
  }
  if (wake) wake_.notifyOne();
}

void LogPipeline::submit(InvocationRecord record) {
  bool wake = false;
  {
    common::MutexLock lock(mu_);
    ++submitted_;
    if (diskLow_ || records_.size() >= options_.maxQueuedBytes / kQueuedRecordBytes) {
      ++counters_.recordsDropped;
      return;
    }
    records_.push_back(std::move(record));
    wake = lines_.size() + records_.size() == kWakeAtQueued + 1;
  }
  if (wake) wake_.notifyOne();
}

std::shared_ptr<Follower> LogPipeline::follow(LineFilter filter) {
  common::MutexLock lock(followersMu_);
  std::shared_ptr<Follower> follower(new Follower(std::move(filter), store_.lastLineId()));
  followers_.push_back(follower);
  return follower;
}

void LogPipeline::unfollow(const std::shared_ptr<Follower>& follower) {
  common::MutexLock lock(followersMu_);
  std::erase(followers_, follower);
}

void LogPipeline::flush() {
  common::MutexLock lock(mu_);
  const uint64_t target = submitted_;
  if (written_ >= target) return;
  flushWanted_ = std::max(flushWanted_, target);
  wake_.notifyOne();
  flushed_.wait(mu_, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return written_ >= target; });
}

PipelineCounters LogPipeline::counters() const {
  common::MutexLock lock(mu_);
  return counters_;
}

void LogPipeline::run() {
  const auto interval = absl::ToChronoMicroseconds(options_.flushInterval);
  for (;;) {
    if (absl::Now() >= nextRetention_) enforceRetention();
    std::vector<common::LogLinePtr> lines;
    std::vector<InvocationRecord> records;
    uint64_t taken = 0;
    bool stopping = false;
    {
      common::MutexLock lock(mu_);
      wake_.waitFor(mu_, interval, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || flushWanted_ > written_ || lines_.size() + records_.size() > kWakeAtQueued;
      });
      lines.swap(lines_);
      records.swap(records_);
      queuedBytes_ = 0;
      taken = submitted_;
      stopping = stopping_;
    }
    if (!lines.empty() || !records.empty()) writeBatch(std::move(lines), std::move(records));
    PipelineCounters counters;
    bool diskLow = false;
    {
      common::MutexLock lock(mu_);
      written_ = taken;
      counters = counters_;
      diskLow = diskLow_;
    }
    flushed_.notifyAll();
    warnAboutDrops(counters, diskLow);
    if (stopping) return;
  }
}

void LogPipeline::writeBatch(std::vector<common::LogLinePtr> lines, std::vector<InvocationRecord> records) {
  // One read per instance and batch: its high-water mark is the same for all its records of
  // the last 50 ms, and a read is a system call.
  std::unordered_map<const common::PeakMemoryReader*, std::optional<uint64_t>> peaks;
  for (InvocationRecord& record : records) {
    if (!record.readPeakMemory) continue;
    auto [peak, first] = peaks.try_emplace(record.readPeakMemory.get());
    if (first) peak->second = (*record.readPeakMemory)();
    record.peakMemoryBytes = peak->second;
    record.readPeakMemory = nullptr; // let go of what it holds (the instance's cgroup) now
  }
  absl::Status written;
  Wakeups wakeups;
  {
    common::MutexLock lock(followersMu_);
    absl::StatusOr<std::vector<StoredLine>> stored = store_.append(lines, records);
    if (stored.ok()) {
      wakeups = publish(*stored, records);
    } else {
      written = stored.status();
    }
  }
  // Outside the locks: a wakeup may start a write that calls next() at once.
  for (auto& wakeup : wakeups) wakeup();
  if (!written.ok())
    spdlog::warn("logs: {} lines and {} records were not stored: {}", lines.size(), records.size(), written.ToString());
  common::MutexLock lock(mu_);
  if (written.ok()) {
    counters_.linesWritten += lines.size();
    counters_.recordsWritten += records.size();
  } else {
    counters_.linesDropped += lines.size();
    counters_.recordsDropped += records.size();
  }
}

LogPipeline::Wakeups LogPipeline::publish(const std::vector<StoredLine>& stored,
                                          const std::vector<InvocationRecord>& records) {
  Wakeups wakeups;
  auto deliver = [&](Follower& follower, const StoredLine& line) {
    bool wake = false;
    follower.push(line, options_.maxFollowerLag, wake);
    if (!wake) return;
    if (auto wakeup = follower.wakeup()) wakeups.push_back(std::move(wakeup));
  };
  for (const StoredLine& line : stored) {
    const common::LogLine& text = *line.line;
    const bool ofError = text.stream == common::LogStream::kStderr || recentErrorSet_.contains(text.requestId);
    for (const std::shared_ptr<Follower>& follower : followers_) {
      const LineFilter& filter = follower->filter_;
      if (matchesFunction(filter, text.function) && matchesRequest(filter, text.requestId) &&
          (!filter.errorsOnly || ofError)) {
        deliver(*follower, line);
      }
    }
  }
  // An invocation that failed: errors-only followers get its other lines now (its stderr ones
  // went live). Lines it prints after this still go live, through recentErrorSet_.
  for (const InvocationRecord& record : records) {
    if (!isError(record.status) || record.requestId.empty()) continue;
    if (recentErrorSet_.insert(record.requestId).second) {
      recentErrors_.push_back(record.requestId);
      if (recentErrors_.size() > kRecentErrorsKept) {
        recentErrorSet_.erase(recentErrors_.front());
        recentErrors_.pop_front();
      }
    }
    std::optional<std::vector<StoredLine>> requestLines; // read once, if a follower wants them
    for (const std::shared_ptr<Follower>& follower : followers_) {
      const LineFilter& filter = follower->filter_;
      if (!filter.errorsOnly || !matchesFunction(filter, record.function) ||
          !matchesRequest(filter, record.requestId)) {
        continue;
      }
      if (!requestLines) {
        absl::StatusOr<std::vector<StoredLine>> read = store_.linesOf(record.requestId);
        if (!read.ok()) {
          spdlog::warn("logs: the lines of failed request {} were not sent to its followers: {}", record.requestId,
                       read.status().ToString());
        }
        requestLines = read.ok() ? std::move(*read) : std::vector<StoredLine>{};
      }
      for (const StoredLine& line : *requestLines) {
        if (line.line->stream != common::LogStream::kStderr) deliver(*follower, line);
      }
    }
  }
  std::erase_if(followers_, [](const std::shared_ptr<Follower>& follower) { return follower->dropped(); });
  return wakeups;
}

void LogPipeline::enforceRetention() {
  nextRetention_ = absl::Now() + options_.retentionInterval;
  absl::StatusOr<RetentionReport> report = store_.enforceRetention(absl::Now());
  if (!report.ok()) {
    spdlog::warn("logs: retention did not run: {}", report.status().ToString());
    return;
  }
  if (report->linesDeleted > 0 || report->recordsDeleted > 0) {
    spdlog::debug("logs: retention deleted {} lines and {} records; the store holds {} bytes", report->linesDeleted,
                  report->recordsDeleted, report->fileBytes);
  }
  bool wasLow = false;
  {
    common::MutexLock lock(mu_);
    wasLow = std::exchange(diskLow_, report->diskLow);
  }
  if (report->diskLow && !wasLow) {
    spdlog::warn("logs: the log store's disk is below its free-space reserve even with the oldest lines deleted: "
                 "new lines and records are dropped until it has room");
  } else if (!report->diskLow && wasLow) {
    spdlog::info("logs: the log store's disk has room again; lines and records are stored again");
  }
}

void LogPipeline::warnAboutDrops(const PipelineCounters& counters, bool diskLow) {
  const uint64_t lines = counters.linesDropped - countersWarned_.linesDropped;
  const uint64_t records = counters.recordsDropped - countersWarned_.recordsDropped;
  if (lines == 0 && records == 0) return;
  const absl::Time now = absl::Now();
  if (now - lastDropWarning_ < kDropWarningEvery) return;
  spdlog::warn("logs: {} lines and {} records were not stored since the last warning ({} and {} in all): {}", lines,
               records, counters.linesDropped, counters.recordsDropped,
               diskLow ? "the disk is below its reserve" : "the queue was full or a write failed");
  lastDropWarning_ = now;
  countersWarned_ = counters;
}

} // namespace surge::logs
