// LogPipeline over a real LogStore: flush, followers and their filters, errors-only following,
// a lagging follower dropped, the bounded queue, disk-low dropping, peak memory read on the
// writer thread, and a follower that joins mid-stream missing nothing.
#include "logs/log_pipeline.h"
#include "support/temp_dir.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace surge::logs {
namespace {

using common::LogStream;

common::LogLinePtr makeLine(const std::string& function, const std::string& requestId, const std::string& text,
                            LogStream stream = LogStream::kStdout) {
  auto line = std::make_shared<common::LogLine>();
  line->time = absl::Now();
  line->function = function;
  line->requestId = requestId;
  line->stream = stream;
  line->text = text;
  return line;
}

InvocationRecord makeRecord(const std::string& requestId, const std::string& function, RecordStatus status) {
  InvocationRecord record;
  record.requestId = requestId;
  record.function = function;
  record.arrival = absl::Now();
  record.status = status;
  return record;
}

LineFilter lineFilter(const std::string& ns, const std::string& function = "", bool errorsOnly = false) {
  LineFilter filter;
  filter.ns = ns;
  filter.function = function;
  filter.errorsOnly = errorsOnly;
  return filter;
}

std::vector<std::string> drain(Follower& follower) {
  std::vector<std::string> texts;
  while (auto line = follower.next()) texts.push_back(line->line->text);
  return texts;
}

using Texts = std::vector<std::string>;

// Counts onReady calls, for a test to wait on.
struct Wakeups {
  std::mutex mu;
  std::condition_variable changed;
  int count = 0;

  std::function<void()> callback() {
    return [this] {
      std::lock_guard lock(mu);
      ++count;
      changed.notify_all();
    };
  }
  bool waitFor(int expected) {
    std::unique_lock lock(mu);
    return changed.wait_for(lock, std::chrono::seconds(30), [&] { return count >= expected; });
  }
  int seen() {
    std::lock_guard lock(mu);
    return count;
  }
};

class LogPipelineTest : public ::testing::Test {
protected:
  void SetUp() override {
    LogStoreOptions options;
    options.file = dir_.path() / "logs.db";
    options.minFreeDiskBytes = 0;
    auto store = LogStore::open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  Texts stored(const LineFilter& filter) {
    auto lines = store_->lines(filter, 100000);
    EXPECT_TRUE(lines.ok()) << lines.status();
    Texts texts;
    if (lines.ok()) {
      for (const StoredLine& line : *lines) texts.push_back(line.line->text);
    }
    return texts;
  }

  surge::testing::TempDir dir_;
  std::unique_ptr<LogStore> store_;
};

TEST_F(LogPipelineTest, FlushStoresWhatWasSubmitted) {
  LogPipeline pipeline(*store_);
  pipeline.submit({makeLine("ns/f", "r1", "one"), makeLine("ns/f", "r1", "two")});
  pipeline.submit(makeRecord("r1", "ns/f", RecordStatus::kSucceeded));
  pipeline.flush();
  EXPECT_EQ(stored(lineFilter("ns")), (Texts{"one", "two"}));
  RecordFilter records;
  records.ns = "ns";
  auto page = store_->records(records, 10, "");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->records.size(), 1u);
  EXPECT_EQ(page->records[0].requestId, "r1");
  const PipelineCounters counters = pipeline.counters();
  EXPECT_EQ(counters.linesWritten, 2u);
  EXPECT_EQ(counters.recordsWritten, 1u);
  EXPECT_EQ(counters.linesDropped, 0u);
  EXPECT_EQ(counters.recordsDropped, 0u);
}

TEST_F(LogPipelineTest, TheDestructorWritesWhatIsQueued) {
  {
    LogPipelineOptions options;
    options.flushInterval = absl::Hours(1);
    LogPipeline pipeline(*store_, options);
    pipeline.submit({makeLine("ns/f", "r1", "queued")});
  }
  EXPECT_EQ(stored(lineFilter("ns")), (Texts{"queued"}));
}

TEST_F(LogPipelineTest, AFollowerGetsTheLinesAfterItsStoredUpToThatPassItsFilter) {
  LogPipeline pipeline(*store_);
  pipeline.submit({makeLine("ns/a", "r1", "before")});
  pipeline.flush();
  auto follower = pipeline.follow(lineFilter("ns", "a"));
  EXPECT_EQ(follower->storedUpTo(), store_->lastLineId());
  EXPECT_EQ(follower->storedUpTo(), 1);
  Wakeups wakeups;
  follower->onReady(wakeups.callback());
  EXPECT_FALSE(follower->next().has_value());

  pipeline.submit({makeLine("ns/a", "r2", "a1"), makeLine("ns/b", "r3", "b"), makeLine("other/a", "r4", "other"),
                   makeLine("ns/a", "r5", "a2", LogStream::kStderr)});
  pipeline.flush();
  ASSERT_TRUE(wakeups.waitFor(1));
  std::vector<int64_t> ids;
  Texts texts;
  while (auto line = follower->next()) {
    ids.push_back(line->id);
    texts.push_back(line->line->text);
  }
  EXPECT_EQ(texts, (Texts{"a1", "a2"}));
  EXPECT_EQ(ids, (std::vector<int64_t>{2, 5}));
  EXPECT_EQ(wakeups.seen(), 1) << "one wake-up for a follower that waited, not one per line";

  pipeline.unfollow(follower);
  pipeline.submit({makeLine("ns/a", "r6", "after unfollow")});
  pipeline.flush();
  EXPECT_FALSE(follower->next().has_value());
}

TEST_F(LogPipelineTest, AnErrorsOnlyFollowerGetsAFailedRequestsOtherLinesWithItsRecord) {
  LogPipeline pipeline(*store_);
  auto follower = pipeline.follow(lineFilter("ns", "f", true));
  pipeline.submit({makeLine("ns/f", "bad", "bad stdout"), makeLine("ns/f", "bad", "bad stderr", LogStream::kStderr),
                   makeLine("ns/f", "good", "good stdout"),
                   makeLine("ns/f", "good", "good stderr", LogStream::kStderr)});
  pipeline.flush();
  EXPECT_EQ(drain(*follower), (Texts{"bad stderr", "good stderr"})) << "stderr goes live";

  pipeline.submit(makeRecord("bad", "ns/f", RecordStatus::kFunctionError));
  pipeline.submit(makeRecord("good", "ns/f", RecordStatus::kSucceeded));
  pipeline.submit(makeRecord("bad-elsewhere", "ns/g", RecordStatus::kFunctionError));
  pipeline.flush();
  EXPECT_EQ(drain(*follower), (Texts{"bad stdout"})) << "its stderr line came already";

  // A line the failed request printed after its record was written still comes.
  pipeline.submit({makeLine("ns/f", "bad", "bad late"), makeLine("ns/f", "good", "good late")});
  pipeline.flush();
  EXPECT_EQ(drain(*follower), (Texts{"bad late"}));
}

TEST_F(LogPipelineTest, ARecordAndItsLinesInOneBatchReachAnErrorsOnlyFollowerOnce) {
  LogPipelineOptions options;
  options.flushInterval = absl::Hours(1); // one batch: the flush takes both
  LogPipeline pipeline(*store_, options);
  auto follower = pipeline.follow(lineFilter("ns", "", true));
  pipeline.submit({makeLine("ns/f", "bad", "one"), makeLine("ns/f", "bad", "two", LogStream::kStderr),
                   makeLine("ns/f", "bad", "three")});
  pipeline.submit(makeRecord("bad", "ns/f", RecordStatus::kTimedOut));
  pipeline.flush();
  EXPECT_EQ(drain(*follower), (Texts{"two", "one", "three"}));
}

TEST_F(LogPipelineTest, ALaggingFollowerIsDroppedAndTheOthersGoOn) {
  LogPipelineOptions options;
  options.maxFollowerLag = 5;
  LogPipeline pipeline(*store_, options);
  auto lagging = pipeline.follow(lineFilter("ns"));
  Wakeups wakeups;
  lagging->onReady(wakeups.callback());
  EXPECT_FALSE(lagging->next().has_value());
  auto keeping = pipeline.follow(lineFilter("ns"));

  // Five lines reach the limit; the sixth is one more than the lagging follower may hold.
  for (int batch = 0; batch < 2; ++batch) {
    std::vector<common::LogLinePtr> lines;
    for (int i = 0; i < 3; ++i) lines.push_back(makeLine("ns/f", "r", std::to_string(batch * 3 + i)));
    pipeline.submit(lines);
    pipeline.flush();
    EXPECT_EQ(drain(*keeping).size(), 3u);
  }
  ASSERT_TRUE(wakeups.waitFor(1));
  EXPECT_TRUE(lagging->dropped());
  EXPECT_FALSE(lagging->next().has_value()) << "its queue is emptied";
  EXPECT_FALSE(keeping->dropped());

  auto fresh = pipeline.follow(lineFilter("ns"));
  pipeline.submit({makeLine("ns/f", "r", "later")});
  pipeline.flush();
  EXPECT_EQ(drain(*fresh), (Texts{"later"}));
  EXPECT_FALSE(lagging->next().has_value()) << "a dropped follower gets nothing more";
}

TEST_F(LogPipelineTest, PastItsBoundTheQueueDropsAndCounts) {
  LogPipelineOptions options;
  options.flushInterval = absl::Hours(1); // nothing is taken before the flush
  options.maxQueuedBytes = 20 << 10;      // four 4 KiB lines, and 40 records
  LogPipeline pipeline(*store_, options);
  std::vector<common::LogLinePtr> lines;
  for (int i = 0; i < 20; ++i) lines.push_back(makeLine("ns/f", "r", std::string(4096, 'a' + i)));
  pipeline.submit(lines);
  for (int i = 0; i < 50; ++i) pipeline.submit(makeRecord("r" + std::to_string(i), "ns/f", RecordStatus::kSucceeded));
  pipeline.flush();
  const PipelineCounters counters = pipeline.counters();
  EXPECT_EQ(counters.linesWritten, 4u);
  EXPECT_EQ(counters.linesDropped, 16u);
  EXPECT_EQ(counters.recordsWritten, 40u);
  EXPECT_EQ(counters.recordsDropped, 10u);
  const Texts kept = stored(lineFilter("ns"));
  ASSERT_EQ(kept.size(), 4u);
  EXPECT_EQ(kept.front()[0], 'a') << "the first ones are kept, the newest dropped";

  // Written, the queue has room again.
  pipeline.submit({makeLine("ns/f", "r", "room again")});
  pipeline.flush();
  EXPECT_EQ(pipeline.counters().linesWritten, 5u);
}

TEST_F(LogPipelineTest, WhileTheDiskIsLowLinesAndRecordsAreDropped) {
  LogStoreOptions options;
  options.file = dir_.path() / "low.db";
  options.minFreeDiskBytes = UINT64_MAX / 2;
  auto store = LogStore::open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  LogPipeline pipeline(**store);
  // Retention runs before the writer first takes the queue: after this flush, it has run.
  pipeline.submit({makeLine("ns/f", "r1", "first")});
  pipeline.flush();
  const PipelineCounters before = pipeline.counters();
  pipeline.submit({makeLine("ns/f", "r2", "dropped"), makeLine("ns/f", "r2", "dropped too")});
  pipeline.submit(makeRecord("r2", "ns/f", RecordStatus::kSucceeded));
  pipeline.flush();
  const PipelineCounters counters = pipeline.counters();
  EXPECT_EQ(counters.linesDropped - before.linesDropped, 2u);
  EXPECT_EQ(counters.recordsDropped - before.recordsDropped, 1u);
  EXPECT_EQ(counters.linesWritten, before.linesWritten);
  auto lines = (*store)->lines(lineFilter("ns"), 10);
  ASSERT_TRUE(lines.ok());
  for (const StoredLine& line : *lines) EXPECT_NE(line.line->text, "dropped");
}

TEST_F(LogPipelineTest, PeakMemoryIsReadOnTheWriterThread) {
  LogPipeline pipeline(*store_);
  std::atomic<std::thread::id> readOn{};
  InvocationRecord record = makeRecord("r1", "ns/f", RecordStatus::kSucceeded);
  record.readPeakMemory = std::make_shared<const common::PeakMemoryReader>([&readOn]() -> std::optional<uint64_t> {
    readOn = std::this_thread::get_id();
    return 48ull << 20;
  });
  pipeline.submit(std::move(record));
  InvocationRecord gone = makeRecord("r2", "ns/f", RecordStatus::kInstanceDied);
  gone.readPeakMemory = std::make_shared<const common::PeakMemoryReader>([] { return std::optional<uint64_t>(); });
  pipeline.submit(std::move(gone));
  pipeline.flush();
  EXPECT_NE(readOn.load(), std::thread::id());
  EXPECT_NE(readOn.load(), std::this_thread::get_id());
  RecordFilter filter;
  filter.ns = "ns";
  filter.requestId = "r1";
  auto page = store_->records(filter, 10, "");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->records.size(), 1u);
  EXPECT_EQ(page->records[0].peakMemoryBytes, std::optional<uint64_t>(48ull << 20));
  filter.requestId = "r2";
  EXPECT_EQ(store_->records(filter, 10, "").value().records.at(0).peakMemoryBytes, std::nullopt);
}

// The follower's promise: replaying the store up to storedUpTo() and then reading the queue
// gives every line once, even while lines are submitted from other threads.
TEST_F(LogPipelineTest, AFollowerThatJoinsMidStreamMissesNoLineAndSeesNoneTwice) {
  LogPipelineOptions options;
  options.flushInterval = absl::Milliseconds(1);
  options.maxFollowerLag = 1'000'000;
  LogPipeline pipeline(*store_, options);
  constexpr int kThreads = 2;
  constexpr int kBatches = 200;
  constexpr int kPerBatch = 5;
  std::atomic<int> batchesSubmitted{0};
  std::vector<std::thread> submitters;
  for (int t = 0; t < kThreads; ++t) {
    submitters.emplace_back([&pipeline, &batchesSubmitted, t] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<common::LogLinePtr> lines;
        for (int i = 0; i < kPerBatch; ++i) {
          lines.push_back(makeLine("ns/f", "", std::to_string(t) + "-" + std::to_string(b) + "-" + std::to_string(i)));
        }
        pipeline.submit(std::move(lines));
        ++batchesSubmitted;
      }
    });
  }
  // Join once some lines are in, while the rest still come.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (store_->lastLineId() < 50 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  auto follower = pipeline.follow(lineFilter("ns"));
  for (std::thread& submitter : submitters) submitter.join();
  pipeline.flush();

  LineFilter replay = lineFilter("ns");
  replay.maxId = follower->storedUpTo();
  auto replayed = store_->lines(replay, 100000);
  ASSERT_TRUE(replayed.ok());
  std::vector<int64_t> ids;
  for (const StoredLine& line : *replayed) ids.push_back(line.id);
  std::sort(ids.begin(), ids.end()); // replay is in time order; the ids are what must be whole
  while (auto line = follower->next()) ids.push_back(line->id);
  constexpr int kLines = kThreads * kBatches * kPerBatch;
  ASSERT_EQ(ids.size(), static_cast<size_t>(kLines));
  for (int i = 0; i < kLines; ++i) ASSERT_EQ(ids[i], i + 1) << "at " << i;
  EXPECT_GE(follower->storedUpTo(), 50);
  EXPECT_EQ(pipeline.counters().linesWritten, static_cast<uint64_t>(kLines));
}

} // namespace
} // namespace surge::logs
