// The log store: every captured log line and every invocation record, in a SQLite file of its
// own (<data-dir>/logs.db), never the function store's, so never under its writer lock. One
// writer (the LogPipeline's thread) appends in batches; readers query concurrently (WAL).
// Retention is bounded by age and by size, and by the disk's free space: the oldest data goes
// first, and the file never grows past its cap nor the disk below its reserve.
#pragma once

#include "common/log_line.h"
#include "logs/invocation_record.h"

#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace surge::logs {

struct LogStoreOptions {
  std::filesystem::path file;
  // The file (with its WAL) is kept under this many bytes: past it, the oldest lines and records
  // are deleted until it is 10 % under.
  uint64_t maxBytes = 1ull << 30;
  // Lines and records older than this are deleted.
  absl::Duration maxAge = absl::Hours(24 * 7);
  // Writes stop (and the oldest data is deleted) while the file system has less than this free.
  uint64_t minFreeDiskBytes = 512ull << 20;
};

// A stored line with its id: ids grow with every line written, so a follower can tell stored
// lines it has seen from new ones.
struct StoredLine {
  int64_t id = 0;
  common::LogLinePtr line;
};

struct LineFilter {
  std::string ns;       // required: the namespace
  std::string function; // the function's name in ns; empty: every function of ns
  std::string requestId;
  // stderr lines, and every line of an invocation whose record is an error (isError()).
  bool errorsOnly = false;
  absl::Time since = absl::InfinitePast();   // inclusive
  absl::Time until = absl::InfiniteFuture(); // exclusive
  int64_t maxId = INT64_MAX;                 // lines with an id up to this one (inclusive)
};

struct RecordFilter {
  std::string ns;       // required
  std::string function; // empty: every function of ns
  std::string requestId;
  std::set<RecordStatus> statuses;         // empty: all
  absl::Time start = absl::InfinitePast(); // arrival, inclusive
  absl::Time end = absl::InfiniteFuture(); // arrival, exclusive
};

struct RecordPage {
  std::vector<InvocationRecord> records; // newest arrival first
  std::string nextPageToken;             // empty on the last page
};

struct RetentionReport {
  int64_t linesDeleted = 0;
  int64_t recordsDeleted = 0;
  uint64_t fileBytes = 0; // after
  bool diskLow = false;   // the file system is below minFreeDiskBytes: the writer should drop
};

// Thread-safe: append and enforceRetention serialise on the writer connection; queries use
// their own connections and run beside them.
class LogStore {
public:
  // FAILED_PRECONDITION when the file cannot be opened or is not a log store.
  static absl::StatusOr<std::unique_ptr<LogStore>> open(LogStoreOptions options);
  ~LogStore();

  // Appends lines and records in one transaction. Returns the lines with their ids, in order.
  absl::StatusOr<std::vector<StoredLine>> append(const std::vector<common::LogLinePtr>& lines,
                                                 const std::vector<InvocationRecord>& records);

  // Deletes what is past its age, then, oldest first, what exceeds the size cap or the disk's
  // reserve, and gives the freed pages back to the file system.
  absl::StatusOr<RetentionReport> enforceRetention(absl::Time now);

  // The newest `limit` lines that match, returned oldest first.
  absl::StatusOr<std::vector<StoredLine>> lines(const LineFilter& filter, size_t limit) const;
  // Every line of one invocation, oldest first (errors-only following sends them when it ends).
  absl::StatusOr<std::vector<StoredLine>> linesOf(const std::string& requestId) const;
  // The id of the newest line written; 0 when none.
  int64_t lastLineId() const;

  // One page of records, newest first. INVALID_ARGUMENT for a token this store did not make.
  absl::StatusOr<RecordPage> records(const RecordFilter& filter, size_t pageSize, const std::string& pageToken) const;

private:
  struct Impl;
  explicit LogStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

} // namespace surge::logs
