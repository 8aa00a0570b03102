// LogStore on a real SQLite file: every line filter, errors-only, the newest-limit order, record
// pages and their tokens, restarts, ids that never go back, and retention by age, size and disk.
#include "logs/log_store.h"
#include "support/temp_dir.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

namespace surge::logs {
namespace {

using common::LogStream;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

common::LogLinePtr makeLine(const std::string& function, absl::Time time, const std::string& requestId,
                            const std::string& text, LogStream stream = LogStream::kStdout) {
  auto line = std::make_shared<common::LogLine>();
  line->time = time;
  line->function = function;
  line->version = 3;
  line->instance = 7;
  line->requestId = requestId;
  line->stream = stream;
  line->text = text;
  return line;
}

InvocationRecord makeRecord(const std::string& requestId, const std::string& function, absl::Time arrival,
                            RecordStatus status = RecordStatus::kSucceeded) {
  InvocationRecord record;
  record.requestId = requestId;
  record.function = function;
  record.version = 2;
  record.instance = 9;
  record.arrival = arrival;
  record.status = status;
  return record;
}

std::vector<std::string> texts(const std::vector<StoredLine>& lines) {
  std::vector<std::string> found;
  for (const StoredLine& line : lines) found.push_back(line.line->text);
  return found;
}

std::vector<std::string> requestIds(const std::vector<InvocationRecord>& records) {
  std::vector<std::string> found;
  for (const InvocationRecord& record : records) found.push_back(record.requestId);
  return found;
}

using Texts = std::vector<std::string>;

// Filters spelt out: GCC's -Wmissing-field-initializers flags designated initializers that skip fields.
LineFilter lineFilter(const std::string& ns, const std::string& function = "", const std::string& requestId = "") {
  LineFilter filter;
  filter.ns = ns;
  filter.function = function;
  filter.requestId = requestId;
  return filter;
}
LineFilter errorsOnly(LineFilter filter) {
  filter.errorsOnly = true;
  return filter;
}
LineFilter between(LineFilter filter, absl::Time since, absl::Time until) {
  filter.since = since;
  filter.until = until;
  return filter;
}
LineFilter upToId(LineFilter filter, int64_t maxId) {
  filter.maxId = maxId;
  return filter;
}
RecordFilter recordFilter(const std::string& ns, const std::string& function = "", const std::string& requestId = "") {
  RecordFilter filter;
  filter.ns = ns;
  filter.function = function;
  filter.requestId = requestId;
  return filter;
}
RecordFilter withStatuses(RecordFilter filter, std::set<RecordStatus> statuses) {
  filter.statuses = std::move(statuses);
  return filter;
}
RecordFilter arrivedBetween(RecordFilter filter, absl::Time start, absl::Time end) {
  filter.start = start;
  filter.end = end;
  return filter;
}

class LogStoreTest : public ::testing::Test {
protected:
  LogStoreOptions options() const { return {.file = dir_.path() / "logs.db"}; }
  std::unique_ptr<LogStore> open(LogStoreOptions options) {
    auto store = LogStore::open(std::move(options));
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }
  std::unique_ptr<LogStore> open() { return open(options()); }

  // Every line of ns, oldest first.
  static Texts all(const LogStore& store, const std::string& ns) {
    auto lines = store.lines(lineFilter(ns), 1'000'000);
    EXPECT_TRUE(lines.ok()) << lines.status();
    return lines.ok() ? texts(*lines) : Texts{};
  }

  surge::testing::TempDir dir_;
};

TEST_F(LogStoreTest, AppendReturnsIdsInOrderAndTheLinesComeBackWhole) {
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->lastLineId(), 0);
  auto line = makeLine("ns/f", kT0 + absl::Microseconds(5), "r1", "hello", LogStream::kPlatform);
  std::const_pointer_cast<common::LogLine>(line)->initializer = true;
  std::const_pointer_cast<common::LogLine>(line)->cut = true;
  auto stored = store->append({line, makeLine("ns/f", kT0, "r1", "second")}, {});
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->size(), 2u);
  EXPECT_EQ((*stored)[0].id, 1);
  EXPECT_EQ((*stored)[1].id, 2);
  EXPECT_EQ((*stored)[0].line.get(), line.get());
  EXPECT_EQ(store->lastLineId(), 2);

  auto read = store->linesOf("r1");
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ(texts(*read), (Texts{"second", "hello"})) << "oldest first, by time";
  const common::LogLine& back = *(*read)[1].line;
  EXPECT_EQ((*read)[1].id, 1);
  EXPECT_EQ(back.time, kT0 + absl::Microseconds(5));
  EXPECT_EQ(back.function, "ns/f");
  EXPECT_EQ(back.version, 3);
  EXPECT_EQ(back.instance, 7u);
  EXPECT_EQ(back.requestId, "r1");
  EXPECT_EQ(back.stream, LogStream::kPlatform);
  EXPECT_TRUE(back.initializer);
  EXPECT_TRUE(back.cut);
  EXPECT_TRUE(store->linesOf("").value().empty()) << "no request to name";
}

TEST_F(LogStoreTest, LinesAreFilteredByNamespaceFunctionRequestAndTime) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store
                  ->append({makeLine("ns/a", kT0, "r1", "a1"), makeLine("ns/b", kT0 + absl::Seconds(1), "r2", "b1"),
                            makeLine("other/a", kT0 + absl::Seconds(2), "r3", "other"),
                            makeLine("ns/a", kT0 + absl::Seconds(3), "r4", "a2"),
                            makeLine("ns/a", kT0 + absl::Seconds(4), "", "a3")},
                           {})
                  .ok());
  EXPECT_EQ(all(*store, "ns"), (Texts{"a1", "b1", "a2", "a3"}));
  EXPECT_EQ(all(*store, "other"), (Texts{"other"}));
  EXPECT_EQ(all(*store, "n"), Texts{}) << "a namespace, not a prefix";
  EXPECT_EQ(texts(store->lines(lineFilter("ns", "a"), 100).value()), (Texts{"a1", "a2", "a3"}));
  EXPECT_EQ(texts(store->lines(lineFilter("ns", "b"), 100).value()), (Texts{"b1"}));
  EXPECT_EQ(texts(store->lines(lineFilter("ns", "", "r4"), 100).value()), (Texts{"a2"}));
  EXPECT_EQ(texts(store->lines(lineFilter("ns", "b", "r4"), 100).value()), Texts{});
  EXPECT_EQ(texts(store->lines(lineFilter("other", "", "r4"), 100).value()), Texts{})
      << "a request id does not cross namespaces";
  EXPECT_EQ(texts(store->lines(between(lineFilter("ns"), kT0 + absl::Seconds(1), kT0 + absl::Seconds(3)), 100).value()),
            (Texts{"b1"}))
      << "since inclusive, until exclusive";
}

TEST_F(LogStoreTest, ErrorsOnlyIsStderrAndEveryLineOfAFailedInvocation) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store
                  ->append({makeLine("ns/f", kT0, "ok", "ok stdout"),
                            makeLine("ns/f", kT0 + absl::Seconds(1), "ok", "ok stderr", LogStream::kStderr),
                            makeLine("ns/f", kT0 + absl::Seconds(2), "bad", "bad stdout"),
                            makeLine("ns/f", kT0 + absl::Seconds(3), "bad", "bad platform", LogStream::kPlatform),
                            makeLine("ns/f", kT0 + absl::Seconds(4), "", "no request"),
                            makeLine("ns/f", kT0 + absl::Seconds(5), "open", "still running")},
                           {makeRecord("ok", "ns/f", kT0), makeRecord("bad", "ns/f", kT0, RecordStatus::kTimedOut)})
                  .ok());
  EXPECT_EQ(texts(store->lines(errorsOnly(lineFilter("ns")), 100).value()),
            (Texts{"ok stderr", "bad stdout", "bad platform"}));
  EXPECT_EQ(texts(store->lines(errorsOnly(lineFilter("ns", "", "bad")), 100).value()),
            (Texts{"bad stdout", "bad platform"}));
}

TEST_F(LogStoreTest, TheNewestLimitLinesComeOldestFirstAndMaxIdBoundsThem) {
  auto store = open();
  ASSERT_TRUE(store);
  std::vector<common::LogLinePtr> lines;
  for (int i = 0; i < 10; ++i) lines.push_back(makeLine("ns/f", kT0 + absl::Seconds(i), "", std::to_string(i)));
  // Two lines of one µs: the later id is the newer.
  lines.push_back(makeLine("ns/f", kT0 + absl::Seconds(9), "", "9b"));
  auto stored = store->append(lines, {});
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(texts(store->lines(lineFilter("ns"), 3).value()), (Texts{"8", "9", "9b"}));
  EXPECT_EQ(texts(store->lines(lineFilter("ns", "f"), 3).value()), (Texts{"8", "9", "9b"}));
  EXPECT_EQ(texts(store->lines(upToId(lineFilter("ns"), (*stored)[4].id), 2).value()), (Texts{"3", "4"}))
      << "maxId is inclusive";
  EXPECT_EQ(texts(store->lines(lineFilter("ns"), 0).value()), Texts{});
}

TEST_F(LogStoreTest, RecordsPageNewestFirstThroughEveryFilter) {
  auto store = open();
  ASSERT_TRUE(store);
  std::vector<InvocationRecord> records;
  for (int i = 0; i < 25; ++i) {
    // Pairs share an arrival: the token must split ties without losing or repeating one.
    records.push_back(makeRecord("r" + std::to_string(i), i % 3 == 0 ? "ns/a" : "ns/b", kT0 + absl::Seconds(i / 2),
                                 i % 5 == 0 ? RecordStatus::kFunctionError : RecordStatus::kSucceeded));
  }
  records.push_back(makeRecord("elsewhere", "other/a", kT0));
  ASSERT_TRUE(store->append({}, records).ok());

  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    auto page = store->records(recordFilter("ns"), 10, token);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_LE(page->records.size(), 10u);
    for (const InvocationRecord& record : page->records) seen.push_back(record.requestId);
    token = page->nextPageToken;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  std::vector<std::string> expected;
  for (int i = 24; i >= 0; --i) expected.push_back("r" + std::to_string(i));
  EXPECT_EQ(seen, expected) << "newest arrival first, the later of a tie first";

  auto byFunction = store->records(recordFilter("ns", "a"), 4, "");
  ASSERT_TRUE(byFunction.ok());
  EXPECT_EQ(requestIds(byFunction->records), (std::vector<std::string>{"r24", "r21", "r18", "r15"}));
  auto next = store->records(recordFilter("ns", "a"), 4, byFunction->nextPageToken);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(requestIds(next->records), (std::vector<std::string>{"r12", "r9", "r6", "r3"}));
  auto last = store->records(recordFilter("ns", "a"), 4, next->nextPageToken);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(requestIds(last->records), (std::vector<std::string>{"r0"}));
  EXPECT_EQ(last->nextPageToken, "");

  auto failed = store->records(
      withStatuses(recordFilter("ns"), {RecordStatus::kFunctionError, RecordStatus::kTimedOut}), 100, "");
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(requestIds(failed->records), (std::vector<std::string>{"r20", "r15", "r10", "r5", "r0"}));
  EXPECT_EQ(failed->records[0].status, RecordStatus::kFunctionError);

  auto one = store->records(recordFilter("ns", "", "r7"), 100, "");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(requestIds(one->records), (std::vector<std::string>{"r7"}));

  // Arrivals 2 s ..< 4 s: r4..r7.
  auto range =
      store->records(arrivedBetween(recordFilter("ns"), kT0 + absl::Seconds(2), kT0 + absl::Seconds(4)), 3, "");
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(requestIds(range->records), (std::vector<std::string>{"r7", "r6", "r5"}));
  auto rangeNext = store->records(arrivedBetween(recordFilter("ns"), kT0 + absl::Seconds(2), kT0 + absl::Seconds(4)), 3,
                                  range->nextPageToken);
  ASSERT_TRUE(rangeNext.ok());
  EXPECT_EQ(requestIds(rangeNext->records), (std::vector<std::string>{"r4"}));
  EXPECT_EQ(rangeNext->nextPageToken, "");
}

TEST_F(LogStoreTest, ARecordComesBackWithEveryField) {
  auto store = open();
  ASSERT_TRUE(store);
  InvocationRecord known = makeRecord("known", "ns/f", kT0 + absl::Microseconds(3), RecordStatus::kInstanceDied);
  known.kind = common::InstanceKind::kReserved;
  known.queueWait = absl::Microseconds(1500);
  known.execution = absl::Milliseconds(250);
  known.billedMs = 251;
  known.coldStart = true;
  known.peakMemoryBytes = 64ull << 20;
  known.errorType = "OutOfMemory";
  known.errorMessage = "the instance used more than 64 MiB";
  InvocationRecord unknown = makeRecord("unknown", "ns/f", kT0);
  ASSERT_TRUE(store->append({}, {known, unknown}).ok());
  auto page = store->records(recordFilter("ns"), 10, "");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->records.size(), 2u);
  const InvocationRecord& back = page->records[0];
  EXPECT_EQ(back.requestId, "known");
  EXPECT_EQ(back.function, "ns/f");
  EXPECT_EQ(back.version, 2);
  EXPECT_EQ(back.instance, 9u);
  EXPECT_EQ(back.kind, common::InstanceKind::kReserved);
  EXPECT_EQ(back.arrival, kT0 + absl::Microseconds(3));
  EXPECT_EQ(back.queueWait, absl::Microseconds(1500));
  EXPECT_EQ(back.execution, absl::Milliseconds(250));
  EXPECT_EQ(back.billedMs, 251);
  EXPECT_TRUE(back.coldStart);
  EXPECT_EQ(back.peakMemoryBytes, std::optional<uint64_t>(64ull << 20));
  EXPECT_EQ(back.status, RecordStatus::kInstanceDied);
  EXPECT_EQ(back.errorType, "OutOfMemory");
  EXPECT_EQ(back.errorMessage, "the instance used more than 64 MiB");
  EXPECT_EQ(page->records[1].kind, common::InstanceKind::kOnDemand);
  EXPECT_EQ(page->records[1].peakMemoryBytes, std::nullopt) << "unknown stays unknown, not 0";
}

TEST_F(LogStoreTest, APageTokenThisStoreDidNotMakeIsInvalidArgument) {
  auto store = open();
  ASSERT_TRUE(store);
  for (const std::string token : {"garbage", "cmVjb3Jkcy8xLzEyMw", "bm90IGEgdG9rZW4"}) {
    auto page = store->records(recordFilter("ns"), 10, token);
    ASSERT_FALSE(page.ok()) << token;
    EXPECT_EQ(page.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(page.status().message().find("page_token '" + token + "' is not one this server issued"),
              std::string::npos)
        << page.status();
  }
}

TEST_F(LogStoreTest, LinesAndRecordsSurviveARestartAndIdsNeverGoBack) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store
                    ->append({makeLine("ns/f", kT0, "r1", "before"), makeLine("ns/f", kT0, "r1", "restart")},
                             {makeRecord("r1", "ns/f", kT0, RecordStatus::kFunctionError)})
                    .ok());
  }
  {
    auto store = open();
    ASSERT_TRUE(store);
    EXPECT_EQ(store->lastLineId(), 2);
    EXPECT_EQ(all(*store, "ns"), (Texts{"before", "restart"}));
    EXPECT_EQ(requestIds(store->records(recordFilter("ns"), 10, "").value().records), (std::vector<std::string>{"r1"}));
    auto stored = store->append({makeLine("ns/f", kT0 + absl::Seconds(1), "r2", "after")}, {});
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ((*stored)[0].id, 3);
    // Everything is past its age: the table is empty, and the ids go on all the same.
    auto report = store->enforceRetention(kT0 + absl::Hours(24 * 8));
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->linesDeleted, 3);
    EXPECT_EQ(report->recordsDeleted, 1);
    EXPECT_EQ(store->lastLineId(), 3);
  }
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_EQ(all(*store, "ns"), Texts{});
  EXPECT_EQ(store->lastLineId(), 3) << "the last id assigned, not the last one kept";
  auto stored = store->append({makeLine("ns/f", kT0 + absl::Hours(24 * 8), "r3", "new")}, {});
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ((*stored)[0].id, 4);
}

TEST_F(LogStoreTest, TheFileIsTheOwnersAloneAndGivesPagesBack) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->append({makeLine("ns/f", kT0, "r1", "x")}, {}).ok());
  const auto perms = std::filesystem::status(options().file).permissions();
  EXPECT_EQ(perms & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  SQLite::Database db(options().file.string(), SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("PRAGMA auto_vacuum").getInt(), 2) << "incremental";
  EXPECT_EQ(db.execAndGet("PRAGMA journal_mode").getString(), "wal");
}

TEST_F(LogStoreTest, AFileFromANewerSchemaOrAnotherProgramIsRefusedByName) {
  {
    SQLite::Database db(options().file.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA user_version = 99");
  }
  auto newer = LogStore::open(options());
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(newer.status().message().find(options().file.string()), std::string::npos) << newer.status();
  EXPECT_NE(newer.status().message().find("schema version 99"), std::string::npos) << newer.status();

  const std::filesystem::path foreign = dir_.path() / "functions.db";
  {
    SQLite::Database db(foreign.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("CREATE TABLE functions(name TEXT)");
  }
  auto other = LogStore::open({.file = foreign});
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(other.status().message().find(foreign.string() + " is not a log store"), std::string::npos)
      << other.status();
}

TEST_F(LogStoreTest, RetentionByAgeDeletesOnlyWhatIsOlder) {
  LogStoreOptions opts = options();
  opts.maxAge = absl::Hours(1);
  auto store = open(opts);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store
                  ->append({makeLine("ns/f", kT0, "old", "old"), makeLine("zz/f", kT0, "", "old elsewhere"),
                            makeLine("ns/f", kT0 + absl::Minutes(61), "new", "new")},
                           {makeRecord("old", "ns/f", kT0), makeRecord("new", "ns/f", kT0 + absl::Minutes(61))})
                  .ok());
  auto report = store->enforceRetention(kT0 + absl::Minutes(61));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->linesDeleted, 2);
  EXPECT_EQ(report->recordsDeleted, 1);
  EXPECT_FALSE(report->diskLow);
  EXPECT_GT(report->fileBytes, 0u);
  EXPECT_EQ(all(*store, "ns"), (Texts{"new"}));
  EXPECT_EQ(all(*store, "zz"), Texts{});
  EXPECT_EQ(requestIds(store->records(recordFilter("ns"), 10, "").value().records), (std::vector<std::string>{"new"}));
}

uint64_t fileAndWalBytes(const std::filesystem::path& file) {
  std::error_code ec;
  uint64_t bytes = std::filesystem::file_size(file);
  const uintmax_t wal = std::filesystem::file_size(file.string() + "-wal", ec);
  return ec ? bytes : bytes + wal;
}

// About 6 MiB of lines and records, one second apart from kT0 on, in two namespaces.
void fill(LogStore& store, int count) {
  const std::string text(1400, 'x');
  for (int batch = 0; batch < count; batch += 500) {
    std::vector<common::LogLinePtr> lines;
    std::vector<InvocationRecord> records;
    for (int i = batch; i < batch + 500 && i < count; ++i) {
      const std::string function = i % 2 ? "ns/f" : "other/g";
      lines.push_back(makeLine(function, kT0 + absl::Seconds(i), "r" + std::to_string(i), text));
      records.push_back(makeRecord("r" + std::to_string(i), function, kT0 + absl::Seconds(i)));
    }
    ASSERT_TRUE(store.append(lines, records).ok());
  }
}

TEST_F(LogStoreTest, RetentionBySizeKeepsTheFileUnderItsCapOldestFirst) {
  LogStoreOptions opts = options();
  opts.maxBytes = 1 << 20;
  opts.minFreeDiskBytes = 0;
  auto store = open(opts);
  ASSERT_TRUE(store);
  constexpr int kCount = 4000;
  fill(*store, kCount);
  ASSERT_GT(fileAndWalBytes(opts.file), 4u * opts.maxBytes) << "the test must start well over the cap";

  auto report = store->enforceRetention(kT0 + absl::Seconds(kCount));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_LE(report->fileBytes, opts.maxBytes);
  EXPECT_EQ(report->fileBytes, fileAndWalBytes(opts.file));
  EXPECT_FALSE(report->diskLow);
  EXPECT_GT(report->linesDeleted, kCount / 2);
  EXPECT_LT(report->linesDeleted, kCount);
  EXPECT_GT(report->recordsDeleted, kCount / 2);

  // What is left is the newest, with nothing older left behind.
  auto kept = store->lines(lineFilter("ns"), kCount);
  ASSERT_TRUE(kept.ok());
  ASSERT_FALSE(kept->empty());
  EXPECT_EQ(kept->back().line->requestId, "r" + std::to_string(kCount - 1));
  const absl::Time oldestKept = kept->front().line->time;
  EXPECT_GT(oldestKept, kT0);
  EXPECT_TRUE(store->lines(between(lineFilter("other"), absl::InfinitePast(), oldestKept - absl::Seconds(1)), 1)
                  .value()
                  .empty());
  auto records =
      store->records(arrivedBetween(recordFilter("ns"), absl::InfinitePast(), oldestKept - absl::Seconds(1)), 10, "");
  ASSERT_TRUE(records.ok());
  EXPECT_TRUE(records->records.empty()) << "records went with the lines of their time";
  EXPECT_EQ(store->records(recordFilter("ns"), 1, "").value().records.at(0).requestId,
            "r" + std::to_string(kCount - 1));

  // Under the cap, another pass deletes nothing.
  auto again = store->enforceRetention(kT0 + absl::Seconds(kCount));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->linesDeleted, 0);
  EXPECT_EQ(again->recordsDeleted, 0);
}

TEST_F(LogStoreTest, ADiskBelowItsReserveDeletesEverythingAndSaysSo) {
  LogStoreOptions opts = options();
  opts.minFreeDiskBytes = UINT64_MAX / 2; // no disk has that much free
  auto store = open(opts);
  ASSERT_TRUE(store);
  fill(*store, 1000);
  auto report = store->enforceRetention(kT0 + absl::Seconds(1000));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->diskLow);
  EXPECT_EQ(report->linesDeleted, 1000);
  EXPECT_EQ(report->recordsDeleted, 1000);
  EXPECT_EQ(all(*store, "ns"), Texts{});
  EXPECT_EQ(all(*store, "other"), Texts{});
  EXPECT_TRUE(store->records(recordFilter("ns"), 10, "").value().records.empty());
  EXPECT_LT(report->fileBytes, 256u << 10) << "the freed pages went back to the file system";
  EXPECT_EQ(store->lastLineId(), 1000);
}

} // namespace
} // namespace surge::logs
