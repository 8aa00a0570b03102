// LogStore: the lines and records tables, batched appends on one writer connection, queries on
// pooled reader connections, page tokens, and retention by age, size and free disk space.
#include "logs/log_store.h"

#include "common/function_ref.h"
#include "common/mutex.h"
#include "store/sqlite_call.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <absl/strings/escaping.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_split.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <system_error>
#include <utility>

namespace surge::logs {
namespace {

constexpr int kBusyTimeoutMs = 5000;
constexpr int kSchemaVersion = 1;
constexpr size_t kMaxPageSize = 1000;
// Reader connections kept open between queries; more are opened while many queries run at once.
constexpr size_t kIdleReadersKept = 4;
// Each slice deletes at least the oldest 10 % of the time span kept, so 200 slices leave less than
// a millionth of it: the bound only guards against a file that will not shrink.
constexpr int kMaxRetentionSlices = 200;
// The WAL is truncated to this after a checkpoint, about what SQLite's auto-checkpoint lets it reach.
constexpr int64_t kJournalSizeLimit = 4 << 20;

// Times are µs since the Unix epoch. lines.id is AUTOINCREMENT, never reused: followers rely on it
// growing, even after retention emptied the table. records.id orders the records of one µs for paging.
constexpr const char* kSchema = R"sql(
CREATE TABLE lines(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time INTEGER NOT NULL,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  instance INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  stream INTEGER NOT NULL,
  initializer INTEGER NOT NULL,
  cut INTEGER NOT NULL,
  text TEXT NOT NULL);
CREATE INDEX lines_by_function ON lines(namespace, name, time);
CREATE INDEX lines_by_namespace ON lines(namespace, time);
CREATE INDEX lines_by_request ON lines(request_id);
CREATE TABLE records(
  id INTEGER PRIMARY KEY,
  request_id TEXT NOT NULL,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  instance INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  arrival INTEGER NOT NULL,
  queue_wait_us INTEGER NOT NULL,
  execution_us INTEGER NOT NULL,
  billed_ms INTEGER NOT NULL,
  cold_start INTEGER NOT NULL,
  peak_memory_bytes INTEGER,
  status INTEGER NOT NULL,
  error_type TEXT NOT NULL,
  error_message TEXT NOT NULL);
CREATE INDEX records_by_function ON records(namespace, name, arrival);
CREATE INDEX records_by_namespace ON records(namespace, arrival);
CREATE INDEX records_by_request ON records(request_id);
)sql";

constexpr const char* kLineColumns =
    "id, time, namespace, name, version, instance, request_id, stream, initializer, cut, text";
constexpr const char* kRecordColumns =
    "id, request_id, namespace, name, version, instance, kind, arrival, queue_wait_us, execution_us, billed_ms, "
    "cold_start, peak_memory_bytes, status, error_type, error_message";

// A table retention trims by time; both have an index on (namespace, <time>).
struct TimedTable {
  const char* name;
  const char* time;
  int64_t RetentionReport::*deleted;
};
constexpr TimedTable kTimedTables[] = {{"lines", "time", &RetentionReport::linesDeleted},
                                       {"records", "arrival", &RetentionReport::recordsDeleted}};

constexpr char kPageTokenPrefix[] = "records/1/";

// The store's columns for InstanceKind: numbered here, not by the enum's order.
int64_t kindColumn(common::InstanceKind kind) { return kind == common::InstanceKind::kReserved ? 1 : 2; }
common::InstanceKind kindFromColumn(int64_t column) {
  return column == 1 ? common::InstanceKind::kReserved : common::InstanceKind::kOnDemand;
}

// "namespace/name" as its two columns. A key without a '/' (never made by the platform) is kept
// whole as the name, under no namespace.
common::FunctionRef splitFunction(const std::string& function) {
  if (auto ref = common::FunctionRef::parse(function)) return std::move(*ref);
  return {"", function};
}
std::string joinFunction(std::string ns, std::string name) {
  return ns.empty() ? name : common::FunctionRef{std::move(ns), std::move(name)}.key();
}

StoredLine readLine(SQLite::Statement& row) {
  auto line = std::make_shared<common::LogLine>();
  line->time = absl::FromUnixMicros(row.getColumn(1).getInt64());
  line->function = joinFunction(row.getColumn(2).getString(), row.getColumn(3).getString());
  line->version = row.getColumn(4).getInt64();
  line->instance = static_cast<uint64_t>(row.getColumn(5).getInt64());
  line->requestId = row.getColumn(6).getString();
  line->stream = static_cast<common::LogStream>(row.getColumn(7).getInt());
  line->initializer = row.getColumn(8).getInt() != 0;
  line->cut = row.getColumn(9).getInt() != 0;
  line->text = row.getColumn(10).getString();
  return {row.getColumn(0).getInt64(), std::move(line)};
}

InvocationRecord readRecord(SQLite::Statement& row) {
  InvocationRecord record;
  record.requestId = row.getColumn(1).getString();
  record.function = joinFunction(row.getColumn(2).getString(), row.getColumn(3).getString());
  record.version = row.getColumn(4).getInt64();
  record.instance = static_cast<uint64_t>(row.getColumn(5).getInt64());
  record.kind = kindFromColumn(row.getColumn(6).getInt64());
  record.arrival = absl::FromUnixMicros(row.getColumn(7).getInt64());
  record.queueWait = absl::Microseconds(row.getColumn(8).getInt64());
  record.execution = absl::Microseconds(row.getColumn(9).getInt64());
  record.billedMs = row.getColumn(10).getInt64();
  record.coldStart = row.getColumn(11).getInt() != 0;
  if (!row.getColumn(12).isNull()) record.peakMemoryBytes = static_cast<uint64_t>(row.getColumn(12).getInt64());
  record.status = static_cast<RecordStatus>(row.getColumn(13).getInt());
  record.errorType = row.getColumn(14).getString();
  record.errorMessage = row.getColumn(15).getString();
  return record;
}

std::string makePageToken(int64_t arrivalMicros, int64_t id) {
  return absl::WebSafeBase64Escape(absl::StrCat(kPageTokenPrefix, arrivalMicros, "/", id));
}

// The position after which the next page starts: the last record's arrival and id.
std::optional<std::pair<int64_t, int64_t>> parsePageToken(const std::string& token) {
  std::string decoded;
  if (!absl::WebSafeBase64Unescape(token, &decoded) || !decoded.starts_with(kPageTokenPrefix)) return std::nullopt;
  const std::vector<std::string> parts = absl::StrSplit(decoded.substr(sizeof(kPageTokenPrefix) - 1), '/');
  std::pair<int64_t, int64_t> position;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &position.first) ||
      !absl::SimpleAtoi(parts[1], &position.second)) {
    return std::nullopt;
  }
  return position;
}

uint64_t fileBytes(const std::filesystem::path& file) {
  uint64_t total = 0;
  for (const char* suffix : {"", "-wal"}) {
    std::filesystem::path part = file;
    part += suffix;
    std::error_code ec;
    const uintmax_t size = std::filesystem::file_size(part, ec);
    if (!ec) total += size;
  }
  return total;
}

// Free bytes for an unprivileged writer on the file's file system; nullopt when it cannot be
// read, which retention takes as "not low" rather than deleting everything.
std::optional<uint64_t> freeDiskBytes(const std::filesystem::path& file) {
  struct statvfs fs {};
  if (statvfs(file.parent_path().empty() ? "." : file.parent_path().c_str(), &fs) != 0) return std::nullopt;
  return static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
}

} // namespace

struct LogStore::Impl {
  explicit Impl(LogStoreOptions options) : options(std::move(options)) {}

  absl::Status open();
  absl::StatusOr<std::vector<StoredLine>> append(const std::vector<common::LogLinePtr>& lines,
                                                 const std::vector<InvocationRecord>& records);
  absl::StatusOr<RetentionReport> enforceRetention(absl::Time now);
  absl::StatusOr<std::vector<StoredLine>> lines(const LineFilter& filter, size_t limit);
  absl::StatusOr<std::vector<StoredLine>> linesOf(const std::string& requestId);
  absl::StatusOr<RecordPage> records(const RecordFilter& filter, size_t pageSize, const std::string& pageToken);

  // Retention's steps, inside its sqliteCall.
  std::vector<std::string> namespacesOf(const TimedTable& table) ABSL_EXCLUSIVE_LOCKS_REQUIRED(writerMu);
  // The oldest and newest time in either table; nullopt when both are empty.
  std::optional<std::pair<int64_t, int64_t>> timeSpan() ABSL_EXCLUSIVE_LOCKS_REQUIRED(writerMu);
  void deleteOlderThan(int64_t cutoffMicros, RetentionReport& report) ABSL_EXCLUSIVE_LOCKS_REQUIRED(writerMu);
  // Gives the free pages back to the file system and empties the WAL.
  void shrinkFile() ABSL_EXCLUSIVE_LOCKS_REQUIRED(writerMu);
  bool diskLow() const;

  // A reader connection for the length of one query, then back to the pool.
  class Reader {
  public:
    explicit Reader(Impl& impl) : impl_(impl), db_(impl.takeReader()) {}
    ~Reader() { impl_.returnReader(std::move(db_)); }
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    SQLite::Database& db() { return *db_; }

  private:
    Impl& impl_;
    std::unique_ptr<SQLite::Database> db_;
  };
  std::unique_ptr<SQLite::Database> takeReader();
  void returnReader(std::unique_ptr<SQLite::Database> db);

  const LogStoreOptions options;
  common::Mutex writerMu;
  std::unique_ptr<SQLite::Database> writer ABSL_PT_GUARDED_BY(writerMu);
  // Prepared once: an append is one insert per line and per record.
  std::unique_ptr<SQLite::Statement> insertLine ABSL_PT_GUARDED_BY(writerMu);
  std::unique_ptr<SQLite::Statement> insertRecord ABSL_PT_GUARDED_BY(writerMu);
  // Set after each committed append; the id outlives the rows (sqlite_sequence keeps it on disk).
  std::atomic<int64_t> lastLineId{0};
  common::Mutex readersMu;
  std::vector<std::unique_ptr<SQLite::Database>> idleReaders ABSL_GUARDED_BY(readersMu);
};

absl::Status LogStore::Impl::open() {
  const std::string path = options.file.string();
  common::MutexLock lock(writerMu);
  try {
    writer = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, kBusyTimeoutMs);
    // What functions print may hold secrets: for surged's user alone. SQLite gives the -wal and
    // -shm files the database file's mode, so this comes before WAL mode.
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::path file = options.file;
      file += suffix;
      std::error_code ec;
      std::filesystem::permissions(file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                                   std::filesystem::perm_options::replace, ec);
    }
    const int version = writer->execAndGet("PRAGMA user_version").getInt();
    if (version > kSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrCat("the log store ", path, " has schema version ", version,
                                                        ", newer than this surged's ", kSchemaVersion,
                                                        "; run a newer surged or move the file away"));
    }
    const bool fresh = version == 0;
    if (fresh && writer->execAndGet("SELECT count(*) FROM sqlite_master").getInt() > 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " is not a log store (it holds other tables); give the log store a file of its own"));
    }
    // Retention gives pages back with incremental_vacuum, which needs this before any table exists.
    if (fresh) writer->exec("PRAGMA auto_vacuum = INCREMENTAL");
    writer->exec("PRAGMA journal_mode = WAL");
    // Losing the last batch of lines in a power cut is acceptable; a sync per batch is not.
    writer->exec("PRAGMA synchronous = NORMAL");
    writer->exec(absl::StrCat("PRAGMA journal_size_limit = ", kJournalSizeLimit));
    if (fresh) {
      SQLite::Transaction transaction(*writer);
      writer->exec(kSchema);
      writer->exec(absl::StrCat("PRAGMA user_version = ", kSchemaVersion));
      transaction.commit();
    }
    SQLite::Statement sequence(*writer, "SELECT seq FROM sqlite_sequence WHERE name = 'lines'");
    if (sequence.executeStep()) lastLineId = sequence.getColumn(0).getInt64();
    insertLine = std::make_unique<SQLite::Statement>(
        *writer, "INSERT INTO lines(time, namespace, name, version, instance, request_id, stream, initializer, cut, "
                 "text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    insertRecord = std::make_unique<SQLite::Statement>(
        *writer, "INSERT INTO records(request_id, namespace, name, version, instance, kind, arrival, queue_wait_us, "
                 "execution_us, billed_ms, cold_start, peak_memory_bytes, status, error_type, error_message) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  } catch (const SQLite::Exception& e) {
    return absl::FailedPreconditionError(absl::StrCat("cannot open the log store ", path, ": ", e.what()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StoredLine>> LogStore::Impl::append(const std::vector<common::LogLinePtr>& lines,
                                                               const std::vector<InvocationRecord>& records) {
  common::MutexLock lock(writerMu);
  return store::sqliteCall([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(writerMu) -> absl::StatusOr<std::vector<StoredLine>> {
    std::vector<StoredLine> stored;
    stored.reserve(lines.size());
    SQLite::Transaction transaction(*writer);
    for (const common::LogLinePtr& line : lines) {
      const common::FunctionRef function = splitFunction(line->function);
      SQLite::Statement& insert = *insertLine;
      insert.reset(); // also after an insert that threw in an earlier, rolled back append
      insert.bind(1, absl::ToUnixMicros(line->time));
      insert.bind(2, function.ns);
      insert.bind(3, function.name);
      insert.bind(4, line->version);
      insert.bind(5, static_cast<int64_t>(line->instance));
      insert.bind(6, line->requestId);
      insert.bind(7, static_cast<int>(line->stream));
      insert.bind(8, line->initializer ? 1 : 0);
      insert.bind(9, line->cut ? 1 : 0);
      insert.bind(10, line->text);
      insert.exec();
      stored.push_back({writer->getLastInsertRowid(), line});
    }
    for (const InvocationRecord& record : records) {
      const common::FunctionRef function = splitFunction(record.function);
      SQLite::Statement& insert = *insertRecord;
      insert.reset();
      insert.bind(1, record.requestId);
      insert.bind(2, function.ns);
      insert.bind(3, function.name);
      insert.bind(4, record.version);
      insert.bind(5, static_cast<int64_t>(record.instance));
      insert.bind(6, kindColumn(record.kind));
      insert.bind(7, absl::ToUnixMicros(record.arrival));
      insert.bind(8, absl::ToInt64Microseconds(record.queueWait));
      insert.bind(9, absl::ToInt64Microseconds(record.execution));
      insert.bind(10, record.billedMs);
      insert.bind(11, record.coldStart ? 1 : 0);
      if (record.peakMemoryBytes) {
        insert.bind(12, static_cast<int64_t>(*record.peakMemoryBytes));
      } else {
        insert.bind(12);
      }
      insert.bind(13, static_cast<int>(record.status));
      insert.bind(14, record.errorType);
      insert.bind(15, record.errorMessage);
      insert.exec();
    }
    transaction.commit();
    if (!stored.empty()) lastLineId = stored.back().id;
    return stored;
  });
}

absl::StatusOr<std::vector<StoredLine>> LogStore::Impl::lines(const LineFilter& filter, size_t limit) {
  if (limit == 0) return std::vector<StoredLine>{};
  // With a request id, its index finds the few rows: the unary + keeps the planner off the
  // namespace indexes, which would walk the namespace's every line.
  const bool byRequest = !filter.requestId.empty();
  std::string sql = absl::StrCat("SELECT ", kLineColumns, " FROM lines WHERE ",
                                 byRequest ? "+namespace = :ns AND request_id = :request" : "namespace = :ns");
  if (!filter.function.empty()) absl::StrAppend(&sql, byRequest ? " AND +name = :name" : " AND name = :name");
  absl::StrAppend(&sql, " AND time >= :since AND time < :until AND id <= :max_id");
  if (filter.errorsOnly) {
    absl::StrAppend(&sql, " AND (stream = ", static_cast<int>(common::LogStream::kStderr),
                    " OR (request_id != '' AND EXISTS (SELECT 1 FROM records WHERE records.request_id = "
                    "lines.request_id AND records.status != ",
                    static_cast<int>(RecordStatus::kSucceeded), ")))");
  }
  absl::StrAppend(&sql, " ORDER BY time DESC, id DESC LIMIT :limit");
  return store::sqliteCall([&]() -> absl::StatusOr<std::vector<StoredLine>> {
    Reader reader(*this);
    SQLite::Statement query(reader.db(), sql);
    query.bind(":ns", filter.ns);
    if (byRequest) query.bind(":request", filter.requestId);
    if (!filter.function.empty()) query.bind(":name", filter.function);
    query.bind(":since", absl::ToUnixMicros(filter.since));
    query.bind(":until", absl::ToUnixMicros(filter.until));
    query.bind(":max_id", filter.maxId);
    query.bind(":limit", static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)));
    std::vector<StoredLine> found;
    while (query.executeStep()) found.push_back(readLine(query));
    std::reverse(found.begin(), found.end());
    return found;
  });
}

absl::StatusOr<std::vector<StoredLine>> LogStore::Impl::linesOf(const std::string& requestId) {
  if (requestId.empty()) return std::vector<StoredLine>{}; // lines of no named request
  return store::sqliteCall([&]() -> absl::StatusOr<std::vector<StoredLine>> {
    Reader reader(*this);
    SQLite::Statement query(
        reader.db(), absl::StrCat("SELECT ", kLineColumns, " FROM lines WHERE request_id = ? ORDER BY time, id"));
    query.bind(1, requestId);
    std::vector<StoredLine> found;
    while (query.executeStep()) found.push_back(readLine(query));
    return found;
  });
}

absl::StatusOr<RecordPage> LogStore::Impl::records(const RecordFilter& filter, size_t pageSize,
                                                   const std::string& pageToken) {
  std::optional<std::pair<int64_t, int64_t>> after;
  if (!pageToken.empty()) {
    after = parsePageToken(pageToken);
    if (!after) {
      return absl::InvalidArgumentError(
          absl::StrCat("page_token '", pageToken,
                       "' is not one this server issued; pass the previous page's next_page_token, "
                       "or none for the first page"));
    }
  }
  pageSize = std::clamp<size_t>(pageSize, 1, kMaxPageSize);
  const bool byRequest = !filter.requestId.empty();
  std::string sql = absl::StrCat("SELECT ", kRecordColumns, " FROM records WHERE ",
                                 byRequest ? "+namespace = :ns AND request_id = :request" : "namespace = :ns");
  if (!filter.function.empty()) absl::StrAppend(&sql, byRequest ? " AND +name = :name" : " AND name = :name");
  if (!filter.statuses.empty()) {
    absl::StrAppend(&sql, " AND status IN (");
    const char* separator = "";
    for (RecordStatus status : filter.statuses) {
      absl::StrAppend(&sql, separator, static_cast<int>(status));
      separator = ", ";
    }
    absl::StrAppend(&sql, ")");
  }
  absl::StrAppend(&sql, " AND arrival >= :start AND arrival < :end");
  if (after) absl::StrAppend(&sql, " AND (arrival < :after_arrival OR (arrival = :after_arrival AND id < :after_id))");
  absl::StrAppend(&sql, " ORDER BY arrival DESC, id DESC LIMIT :limit");
  return store::sqliteCall([&]() -> absl::StatusOr<RecordPage> {
    Reader reader(*this);
    SQLite::Statement query(reader.db(), sql);
    query.bind(":ns", filter.ns);
    if (byRequest) query.bind(":request", filter.requestId);
    if (!filter.function.empty()) query.bind(":name", filter.function);
    query.bind(":start", absl::ToUnixMicros(filter.start));
    query.bind(":end", absl::ToUnixMicros(filter.end));
    if (after) {
      query.bind(":after_arrival", after->first);
      query.bind(":after_id", after->second);
    }
    // One more than the page: whether there is a next page.
    query.bind(":limit", static_cast<int64_t>(pageSize + 1));
    RecordPage page;
    int64_t lastArrival = 0;
    int64_t lastId = 0;
    while (query.executeStep()) {
      if (page.records.size() == pageSize) {
        page.nextPageToken = makePageToken(lastArrival, lastId);
        break;
      }
      page.records.push_back(readRecord(query));
      lastArrival = query.getColumn(7).getInt64();
      lastId = query.getColumn(0).getInt64();
    }
    return page;
  });
}

std::vector<std::string> LogStore::Impl::namespacesOf(const TimedTable& table) {
  // One index seek per namespace, rather than a walk over every row as DISTINCT would do.
  std::vector<std::string> namespaces;
  SQLite::Statement first(*writer, absl::StrCat("SELECT namespace FROM ", table.name, " ORDER BY namespace LIMIT 1"));
  if (!first.executeStep()) return namespaces;
  namespaces.push_back(first.getColumn(0).getString());
  SQLite::Statement next(
      *writer, absl::StrCat("SELECT namespace FROM ", table.name, " WHERE namespace > ? ORDER BY namespace LIMIT 1"));
  for (;;) {
    next.reset();
    next.bind(1, namespaces.back());
    if (!next.executeStep()) return namespaces;
    namespaces.push_back(next.getColumn(0).getString());
  }
}

std::optional<std::pair<int64_t, int64_t>> LogStore::Impl::timeSpan() {
  std::optional<std::pair<int64_t, int64_t>> span;
  for (const TimedTable& table : kTimedTables) {
    SQLite::Statement oldest(*writer, absl::StrCat("SELECT ", table.time, " FROM ", table.name,
                                                   " WHERE namespace = ? ORDER BY ", table.time, " LIMIT 1"));
    SQLite::Statement newest(*writer, absl::StrCat("SELECT ", table.time, " FROM ", table.name,
                                                   " WHERE namespace = ? ORDER BY ", table.time, " DESC LIMIT 1"));
    for (const std::string& ns : namespacesOf(table)) {
      oldest.reset();
      newest.reset();
      oldest.bind(1, ns);
      newest.bind(1, ns);
      if (!oldest.executeStep() || !newest.executeStep()) continue;
      const int64_t first = oldest.getColumn(0).getInt64();
      const int64_t last = newest.getColumn(0).getInt64();
      span = span ? std::pair{std::min(span->first, first), std::max(span->second, last)} : std::pair{first, last};
    }
  }
  return span;
}

void LogStore::Impl::deleteOlderThan(int64_t cutoffMicros, RetentionReport& report) {
  SQLite::Transaction transaction(*writer);
  for (const TimedTable& table : kTimedTables) {
    // Per namespace, so that each delete is a range of the (namespace, time) index.
    SQLite::Statement remove(*writer,
                             absl::StrCat("DELETE FROM ", table.name, " WHERE namespace = ? AND ", table.time, " < ?"));
    for (const std::string& ns : namespacesOf(table)) {
      remove.reset();
      remove.bind(1, ns);
      remove.bind(2, cutoffMicros);
      report.*table.deleted += remove.exec();
    }
  }
  transaction.commit();
}

void LogStore::Impl::shrinkFile() {
  writer->exec("PRAGMA incremental_vacuum");
  // The vacuum's pages reach the main file, and the file its smaller size, at the checkpoint.
  writer->exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

bool LogStore::Impl::diskLow() const {
  const std::optional<uint64_t> free = freeDiskBytes(options.file);
  return free && *free < options.minFreeDiskBytes;
}

absl::StatusOr<RetentionReport> LogStore::Impl::enforceRetention(absl::Time now) {
  common::MutexLock lock(writerMu);
  return store::sqliteCall([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(writerMu) -> absl::StatusOr<RetentionReport> {
    RetentionReport report;
    deleteOlderThan(absl::ToUnixMicros(now - options.maxAge), report);
    if (report.linesDeleted > 0 || report.recordsDeleted > 0) shrinkFile();
    uint64_t bytes = fileBytes(options.file);
    bool low = diskLow();
    // Once over the cap, down to 10 % under it, so that the next batches do not start again.
    const bool overCap = bytes > options.maxBytes;
    const uint64_t target = options.maxBytes - options.maxBytes / 10;
    for (int slice = 0; slice < kMaxRetentionSlices && ((overCap && bytes > target) || low); ++slice) {
      const std::optional<std::pair<int64_t, int64_t>> span = timeSpan();
      if (!span) break; // nothing left to delete
      const auto [oldest, newest] = *span;
      deleteOlderThan(oldest + std::max<int64_t>((newest - oldest) / 10, 1), report);
      shrinkFile();
      bytes = fileBytes(options.file);
      low = diskLow();
    }
    report.fileBytes = bytes;
    report.diskLow = low;
    return report;
  });
}

std::unique_ptr<SQLite::Database> LogStore::Impl::takeReader() {
  {
    common::MutexLock lock(readersMu);
    if (!idleReaders.empty()) {
      std::unique_ptr<SQLite::Database> db = std::move(idleReaders.back());
      idleReaders.pop_back();
      return db;
    }
  }
  return std::make_unique<SQLite::Database>(options.file.string(), SQLite::OPEN_READONLY, kBusyTimeoutMs);
}

void LogStore::Impl::returnReader(std::unique_ptr<SQLite::Database> db) {
  if (!db) return;
  common::MutexLock lock(readersMu);
  if (idleReaders.size() < kIdleReadersKept) idleReaders.push_back(std::move(db));
}

LogStore::LogStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LogStore::~LogStore() = default;

absl::StatusOr<std::unique_ptr<LogStore>> LogStore::open(LogStoreOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (absl::Status opened = impl->open(); !opened.ok()) return opened;
  return std::unique_ptr<LogStore>(new LogStore(std::move(impl)));
}

absl::StatusOr<std::vector<StoredLine>> LogStore::append(const std::vector<common::LogLinePtr>& lines,
                                                         const std::vector<InvocationRecord>& records) {
  return impl_->append(lines, records);
}

absl::StatusOr<RetentionReport> LogStore::enforceRetention(absl::Time now) { return impl_->enforceRetention(now); }

absl::StatusOr<std::vector<StoredLine>> LogStore::lines(const LineFilter& filter, size_t limit) const {
  return impl_->lines(filter, limit);
}

absl::StatusOr<std::vector<StoredLine>> LogStore::linesOf(const std::string& requestId) const {
  return impl_->linesOf(requestId);
}

int64_t LogStore::lastLineId() const { return impl_->lastLineId; }

absl::StatusOr<RecordPage> LogStore::records(const RecordFilter& filter, size_t pageSize,
                                             const std::string& pageToken) const {
  return impl_->records(filter, pageSize, pageToken);
}

} // namespace surge::logs
