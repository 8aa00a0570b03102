// The metrics history: every series' seconds for the last hour and its minutes for 31 days, in
// a SQLite file of its own (never the function store's, so never under its writer lock). One
// append writes a whole second of every series in one transaction; compact() rolls finished
// minutes up by merging their seconds (histograms merge, so percentiles stay within 1%) and
// forgets what is past its retention. It survives restarts: the file is the history.
#pragma once

#include "common/mutex.h"
#include "metrics/function_metrics.h"
#include "metrics/metrics_hub.h"

#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace SQLite {
class Database;
}

namespace surge::metrics {

struct HistoryOptions {
  std::filesystem::path file;
  int64_t secondsKept = 3600;           // 1 s resolution for the last hour
  int64_t minutesKept = 31 * 24 * 3600; // 1 min resolution for 31 days
  // A query answers at most this many points; more is INVALID_ARGUMENT (raise the step).
  size_t maxPoints = 10000;
};

// One step of a series: its seconds merged (counters added, histograms merged, the gauges of its
// last second), and the peak and mean of its in-flight concurrency over the step. Seconds
// without a row count as 0 in flight: a series has a row in every second it has instances,
// requests or events.
struct HistoryPoint {
  Sample sample; // sample.second: where the step starts
  uint32_t peakInFlight = 0;
  double meanInFlight = 0;
};

struct HistoryRange {
  int64_t step = 0;                 // seconds: 1, 60, or a multiple of the resolution used
  std::vector<HistoryPoint> points; // ascending; steps without data are left out
};

// Thread-safe.
class HistoryStore {
public:
  // FAILED_PRECONDITION when the file cannot be opened or is not a history file.
  static absl::StatusOr<std::unique_ptr<HistoryStore>> open(HistoryOptions options);
  ~HistoryStore();

  // One second of every series that had anything; "" is the server's series. All samples
  // carry the same second.
  absl::Status append(const std::vector<std::pair<std::string, Sample>>& second);
  // Rolls every minute that ended by `now` (Unix seconds) into the minute table, and forgets
  // seconds and minutes past their retention.
  absl::Status compact(int64_t now);
  // The series between `from` and `to` (Unix seconds, [from, to)) at `step` seconds, or the
  // finest available when step is 0. Seconds when the range lies within the last hour and the
  // step is under a minute; minutes otherwise (the step then rounds up to whole minutes).
  // INVALID_ARGUMENT for from >= to, a negative step, or too many points.
  absl::StatusOr<HistoryRange> query(const std::string& series, int64_t from, int64_t to, int64_t step,
                                     int64_t now) const;

  // The stored seconds in [from, to) as frames, oldest first, each with its series in order (""
  // first); the server's gauges are not stored, so they are zero. For the watchers' backlog
  // after a restart.
  absl::StatusOr<std::vector<Frame>> framesBetween(int64_t from, int64_t to) const;
  // The series with any row between `from` and `to` ([from, to), Unix seconds), sorted; ""
  // (the server) among them.
  absl::StatusOr<std::vector<std::string>> seriesBetween(int64_t from, int64_t to) const;

private:
  explicit HistoryStore(HistoryOptions options);

  HistoryOptions options_;
  mutable common::Mutex mu_;
  std::unique_ptr<SQLite::Database> db_ ABSL_PT_GUARDED_BY(mu_);
};

} // namespace surge::metrics
