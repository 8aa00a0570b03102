// LogPipeline: where captured lines and invocation records go. The engine's and the scheduler's
// loop only queue them (never a disk write on the invoke path); a thread of the pipeline's own
// writes them to the LogStore in batches, fills each record's peak memory, enforces retention,
// and only then hands the stored lines to the followers (TailLogs with follow). So a line a
// follower has seen is already stored, and a follower that replays the store up to the id it
// was given at follow() and then reads its queue sees every line once.
#pragma once

#include "common/log_line.h"
#include "common/mutex.h"
#include "common/waking_queue.h"
#include "logs/invocation_record.h"
#include "logs/log_store.h"

#include <absl/time/time.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace surge::logs {

struct LogPipelineOptions {
  // The writer wakes this often, or sooner when more than 1000 lines and records wait.
  absl::Duration flushInterval = absl::Milliseconds(50);
  // Retention runs when the writer starts and then this often.
  absl::Duration retentionInterval = absl::Seconds(10);
  // Queued bytes (each line's text and strings, plus its struct) past which new lines are
  // dropped, counted, and warned about (at most every 10 s): the loop never waits for the disk.
  // Records are dropped past maxQueuedBytes / 512 queued records (the same budget at about 512
  // bytes a record: 131072 for 64 MiB, some 13 s at 10000 invocations a second).
  size_t maxQueuedBytes = 64u << 20;
  // A follower whose queue holds more lines than this is ended (Follower::dropped()).
  size_t maxFollowerLag = 10000;
};

// One follower's queue of stored lines that passed its filter: the pipeline pushes, the
// follower's stream pops. Dropped past maxFollowerLag lines.
class Follower : public common::WakingQueue<StoredLine> {
public:
  // Lines with an id up to this one are in the store already: replay them from there.
  int64_t storedUpTo() const { return storedUpTo_; }

private:
  friend class LogPipeline;
  Follower(LineFilter filter, int64_t storedUpTo) : filter_(std::move(filter)), storedUpTo_(storedUpTo) {}

  const LineFilter filter_;
  const int64_t storedUpTo_;
};

struct PipelineCounters {
  uint64_t linesWritten = 0;
  uint64_t recordsWritten = 0;
  uint64_t linesDropped = 0;   // queue full, disk low, or the write failed
  uint64_t recordsDropped = 0; // the same
};

// Thread-safe. The store must outlive it.
class LogPipeline {
public:
  LogPipeline(LogStore& store, LogPipelineOptions options = {});
  // Writes what is queued, then joins the thread.
  ~LogPipeline();

  // From the engine's or scheduler's loop: never blocks.
  void submit(std::vector<common::LogLinePtr> lines);
  void submit(InvocationRecord record);

  // A new follower of stored lines that match `filter` (its since/until/maxId are ignored).
  // With errorsOnly, a line comes live when it is stderr or its invocation's error record is
  // already written; the other lines of an invocation come when its error record is written,
  // those up to storedUpTo() too. So a replay that ran after that record was written has sent
  // them already: skip queued lines with an id up to storedUpTo() that the replay sent.
  // Both may wait for the batch being written (milliseconds, a disk's worth): call them where
  // the replay query runs, off a gRPC reactor thread.
  std::shared_ptr<Follower> follow(LineFilter filter);
  void unfollow(const std::shared_ptr<Follower>& follower);

  // Writes and publishes everything submitted before this call; for tests and shutdown.
  void flush();
  PipelineCounters counters() const;

private:
  using Wakeups = std::vector<std::function<void()>>;

  void run();
  void writeBatch(std::vector<common::LogLinePtr> lines, std::vector<InvocationRecord> records);
  // Hands the batch to the followers; returns the wakeups to run once the locks are released.
  Wakeups publish(const std::vector<StoredLine>& stored, const std::vector<InvocationRecord>& records)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(followersMu_);
  void enforceRetention();
  void warnAboutDrops(const PipelineCounters& counters, bool diskLow);

  LogStore& store_;
  const LogPipelineOptions options_;
  mutable common::Mutex mu_;
  common::CondVar wake_;
  common::CondVar flushed_;
  std::vector<common::LogLinePtr> lines_ ABSL_GUARDED_BY(mu_);
  std::vector<InvocationRecord> records_ ABSL_GUARDED_BY(mu_);
  size_t queuedBytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t submitted_ ABSL_GUARDED_BY(mu_) = 0; // batches handed in, for flush()
  uint64_t written_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t flushWanted_ ABSL_GUARDED_BY(mu_) = 0; // the newest batch a flush() waits for
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool diskLow_ ABSL_GUARDED_BY(mu_) = false;
  PipelineCounters counters_ ABSL_GUARDED_BY(mu_);
  // Held by the writer from append to the end of publish, and by follow(): a follower's
  // storedUpTo() then splits the lines exactly into stored ones and ones it will be sent.
  mutable common::Mutex followersMu_;
  std::vector<std::shared_ptr<Follower>> followers_ ABSL_GUARDED_BY(followersMu_);
  // Requests of the last error records written: their lines written later still reach
  // errors-only followers live. The writer thread's.
  std::deque<std::string> recentErrors_;
  std::unordered_set<std::string> recentErrorSet_;
  // The writer thread's: when the drops were last warned about, and the counts then.
  absl::Time lastDropWarning_ = absl::InfinitePast();
  PipelineCounters countersWarned_;
  // The writer thread's: when retention runs next.
  absl::Time nextRetention_ = absl::InfinitePast();
  std::thread thread_;
};

} // namespace surge::logs
