// HistoryStore on a real SQLite file: seconds, their roll-up into minutes (histograms merged),
// steps, retention, a restart, and bad queries. Also the sample's byte form.
#include "metrics/history_store.h"
#include "metrics/sample_codec.h"
#include "support/temp_dir.h"

#include <gtest/gtest.h>

#include <cmath>

namespace surge::metrics {
namespace {

using absl::Microseconds;

constexpr int64_t kStart = 1'800'000'000; // a whole minute

// A second of one function: `calls` successes of `micros` each, `inFlight` at its end.
Sample second(int64_t t, int calls, double micros, uint32_t inFlight) {
  FunctionMetrics metrics;
  for (int i = 0; i < calls; ++i) {
    metrics.invocation(Outcome::kSuccess, Microseconds(micros), Microseconds(1), Microseconds(micros));
  }
  Gauges gauges;
  gauges.inFlight = inFlight;
  gauges.readyCapacity = 10;
  return metrics.roll(t, gauges);
}

size_t successes(const Sample& sample) { return sample.counters.invocations[static_cast<size_t>(Outcome::kSuccess)]; }

class HistoryStoreTest : public ::testing::Test {
protected:
  std::unique_ptr<HistoryStore> open() {
    auto store = HistoryStore::open({dir_.path() / "metrics.db"});
    EXPECT_TRUE(store.ok()) << store.status();
    return std::move(*store);
  }
  surge::testing::TempDir dir_;
};

TEST_F(HistoryStoreTest, SecondsComeBackAtOneSecondOrMergedIntoLongerSteps) {
  auto store = open();
  for (int i = 0; i < 10; ++i) {
    // Seconds 0-4 fast, 5-9 slow: a 10-second step's P95 is the slow ones', not an average.
    ASSERT_TRUE(
        store->append({{"ns/f", second(kStart + i, 10, i < 5 ? 100 : 10000, i)}, {"", second(kStart + i, 20, 100, i)}})
            .ok());
  }
  auto fine = store->query("ns/f", kStart, kStart + 10, 0, kStart + 10);
  ASSERT_TRUE(fine.ok()) << fine.status();
  EXPECT_EQ(fine->step, 1);
  ASSERT_EQ(fine->points.size(), 10u);
  EXPECT_EQ(fine->points[3].sample.second, kStart + 3);
  EXPECT_EQ(successes(fine->points[3].sample), 10u);

  auto coarse = store->query("ns/f", kStart, kStart + 10, 5, kStart + 10);
  ASSERT_TRUE(coarse.ok()) << coarse.status();
  EXPECT_EQ(coarse->step, 5);
  ASSERT_EQ(coarse->points.size(), 2u);
  EXPECT_EQ(successes(coarse->points[0].sample), 50u);
  EXPECT_NEAR(coarse->points[0].sample.latency.endToEnd.quantile(0.95), 100, 1);
  EXPECT_NEAR(coarse->points[1].sample.latency.endToEnd.quantile(0.95), 10000, 100);
  EXPECT_EQ(coarse->points[1].peakInFlight, 9u);
  EXPECT_DOUBLE_EQ(coarse->points[1].meanInFlight, (5 + 6 + 7 + 8 + 9) / 5.0);
  EXPECT_EQ(coarse->points[1].sample.gauges.inFlight, 9u) << "gauges are the last second's";

  auto server = store->query("", kStart, kStart + 10, 10, kStart + 10);
  ASSERT_TRUE(server.ok());
  ASSERT_EQ(server->points.size(), 1u);
  EXPECT_EQ(successes(server->points[0].sample), 200u) << "each series is its own";
}

TEST_F(HistoryStoreTest, FinishedMinutesRollUpAndOutliveTheirSecondsAndARestart) {
  {
    auto store = open();
    for (int i = 0; i < 180; ++i) {
      const double micros = 100 + i; // every second a little slower
      ASSERT_TRUE(store->append({{"ns/f", second(kStart + i, 2, micros, i % 60 == 30 ? 7 : 1)}}).ok());
    }
    // Two minutes have ended at kStart + 150; the third has not.
    ASSERT_TRUE(store->compact(kStart + 150).ok());
    // An hour and a half later: the seconds are gone, the minutes remain.
    ASSERT_TRUE(store->compact(kStart + 5400).ok());
    auto seconds = store->query("ns/f", kStart + 5400 - 60, kStart + 5400, 1, kStart + 5400);
    ASSERT_TRUE(seconds.ok());
    EXPECT_TRUE(seconds->points.empty());
  }
  auto store = open(); // a restart: the file is the history
  auto minutes = store->query("ns/f", kStart, kStart + 180, 0, kStart + 5400);
  ASSERT_TRUE(minutes.ok()) << minutes.status();
  EXPECT_EQ(minutes->step, 60) << "past the last hour only minutes are left";
  ASSERT_EQ(minutes->points.size(), 3u) << "the third minute was rolled by the later compact";
  for (int m = 0; m < 3; ++m) {
    const HistoryPoint& point = minutes->points[m];
    EXPECT_EQ(point.sample.second, kStart + 60 * m);
    EXPECT_EQ(successes(point.sample), 120u);
    // The minute's histogram is the merge of its seconds: its median is its middle second's.
    const double middle = 100 + 60 * m + 29; // rank 59 of 120: the 30th second, twice
    EXPECT_LE(std::abs(point.sample.latency.endToEnd.quantile(0.5) - middle), middle * kRelativeAccuracy);
    EXPECT_EQ(point.sample.latency.endToEnd.min, 100 + 60 * m);
    EXPECT_EQ(point.peakInFlight, 7u);
    EXPECT_DOUBLE_EQ(point.meanInFlight, (59 * 1 + 7) / 60.0);
  }
  auto hour = store->query("ns/f", kStart, kStart + 3600, 3600, kStart + 5400);
  ASSERT_TRUE(hour.ok());
  EXPECT_EQ(hour->step, 3600);
  ASSERT_EQ(hour->points.size(), 1u);
  EXPECT_EQ(successes(hour->points[0].sample), 360u);
}

TEST_F(HistoryStoreTest, MinutesPastThirtyOneDaysAreForgotten) {
  auto store = open();
  ASSERT_TRUE(store->append({{"ns/f", second(kStart, 1, 100, 0)}}).ok());
  ASSERT_TRUE(store->compact(kStart + 60).ok());
  const int64_t later = kStart + 31 * 24 * 3600 + 61;
  ASSERT_TRUE(store->compact(later).ok());
  auto minutes = store->query("ns/f", kStart, later, 3600 * 24, later);
  ASSERT_TRUE(minutes.ok());
  EXPECT_TRUE(minutes->points.empty());
}

TEST_F(HistoryStoreTest, TheFileIsForSurgedsUserAlone) {
  auto store = open();
  ASSERT_TRUE(store->append({{"ns/f", second(kStart, 1, 100, 0)}}).ok());
  for (const char* name : {"metrics.db", "metrics.db-wal", "metrics.db-shm"}) {
    const auto perms = std::filesystem::status(dir_.path() / name).permissions();
    EXPECT_EQ(perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
              std::filesystem::perms::none)
        << name;
  }
}

TEST_F(HistoryStoreTest, StoredSecondsComeBackAsFramesAndTheSeriesThatHadThem) {
  auto store = open();
  for (int64_t t = kStart; t < kStart + 3; ++t) {
    ASSERT_TRUE(
        store
            ->append(
                {{"", second(t, 3, 100, 1)}, {"shop/cart", second(t, 2, 100, 1)}, {"blog/post", second(t, 1, 100, 0)}})
            .ok());
  }
  auto frames = store->framesBetween(kStart + 1, kStart + 10);
  ASSERT_TRUE(frames.ok()) << frames.status();
  ASSERT_EQ(frames->size(), 2u);
  EXPECT_EQ((*frames)[0].second, kStart + 1);
  EXPECT_EQ((*frames)[1].second, kStart + 2);
  ASSERT_EQ((*frames)[0].series.size(), 3u);
  EXPECT_EQ((*frames)[0].series[0].first, "") << "the server's series first, then by name";
  EXPECT_EQ((*frames)[0].series[1].first, "blog/post");
  EXPECT_EQ(successes((*frames)[0].series[2].second), 2u);

  auto names = store->seriesBetween(kStart, kStart + 1);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"", "blog/post", "shop/cart"}));
  names = store->seriesBetween(kStart + 100, kStart + 200);
  ASSERT_TRUE(names.ok());
  EXPECT_TRUE(names->empty());
}

TEST_F(HistoryStoreTest, BadQueriesSayWhatIsWrong) {
  auto store = open();
  EXPECT_EQ(store->query("ns/f", kStart, kStart, 1, kStart).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->query("ns/f", kStart, kStart + 10, -1, kStart).status().code(), absl::StatusCode::kInvalidArgument);
  auto tooMany = store->query("ns/f", kStart - 31 * 24 * 3600, kStart, 60, kStart);
  EXPECT_EQ(tooMany.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(tooMany.status().message().find("raise the step"), std::string_view::npos);
}

TEST(SampleCodec, RoundTripsAndRefusesTruncatedOrForeignBytes) {
  Sample sample = second(kStart, 50, 250, 3);
  sample.counters.heldBack[2] = 4;
  sample.gauges.count(Kind::kReserved, State::kIdle) = 2;
  const std::string bytes = encodeSample(sample);
  auto decoded = decodeSample(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->second, sample.second);
  EXPECT_EQ(decoded->counters, sample.counters);
  EXPECT_EQ(decoded->latency, sample.latency);
  EXPECT_EQ(decoded->gauges, sample.gauges);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    ASSERT_FALSE(decodeSample(std::string_view(bytes).substr(0, cut)).ok()) << cut;
  }
  EXPECT_FALSE(decodeSample(bytes + "x").ok()) << "trailing bytes";
  std::string foreign = bytes;
  foreign[0] = 9;
  EXPECT_EQ(decodeSample(foreign).status().message(), "a metrics sample of version 9");
}

TEST(SampleCodec, AVersionOneRowReadsWithNoUsage) {
  Sample sample = second(kStart, 5, 250, 1);
  sample.counters.requests = {3, 4};
  // Version 1 is version 2 without the six usage counters at the end.
  std::string bytes = encodeSample(sample);
  bytes.resize(bytes.size() - 6 * sizeof(uint64_t));
  bytes[0] = 1;
  auto decoded = decodeSample(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->counters.requests, (std::array<uint64_t, 2>{0, 0}));
  EXPECT_EQ(decoded->counters.invocations, sample.counters.invocations);
}

} // namespace
} // namespace surge::metrics

namespace surge::metrics {
namespace {

// A second of usage: one 256 MB reserved instance alive, and two invocations on it billed 3 ms
// and 1 ms (a 0.2 ms run rounds up to 1 ms).
Sample usageSecond(int64_t t) {
  FunctionMetrics metrics;
  metrics.alive(common::InstanceKind::kReserved, 256);
  metrics.billed(common::InstanceKind::kReserved, 3, 256);
  metrics.billed(common::InstanceKind::kReserved, 1, 256);
  metrics.billed(common::InstanceKind::kOnDemand, 2, 128);
  Gauges gauges;
  gauges.reservedTarget = 1;
  return metrics.roll(t, gauges);
}

TEST_F(HistoryStoreTest, UsageRollsIntoMinutesExactlyAndSurvivesReopening) {
  {
    auto store = open();
    for (int i = 0; i < 120; ++i) ASSERT_TRUE(store->append({{"ns/f", usageSecond(kStart + i)}}).ok());
    ASSERT_TRUE(store->compact(kStart + 120).ok());
  }
  auto store = open(); // a restart: the file is the history
  auto minutes = store->query("ns/f", kStart, kStart + 120, 60, kStart + 120);
  ASSERT_TRUE(minutes.ok()) << minutes.status();
  ASSERT_EQ(minutes->points.size(), 2u);
  for (const HistoryPoint& point : minutes->points) {
    const Counters& c = point.sample.counters;
    EXPECT_EQ(c.instanceMbSeconds, (std::array<uint64_t, 2>{60 * 256, 0}));
    EXPECT_EQ(c.billedMbMs, (std::array<uint64_t, 2>{60 * 4 * 256, 60 * 2 * 128}));
    EXPECT_EQ(c.requests, (std::array<uint64_t, 2>{120, 60}));
  }
  auto seconds = store->query("ns/f", kStart + 5, kStart + 6, 0, kStart + 120);
  ASSERT_TRUE(seconds.ok()) << seconds.status();
  ASSERT_EQ(seconds->points.size(), 1u);
  EXPECT_EQ(seconds->points[0].sample.counters, usageSecond(kStart + 5).counters);
}

} // namespace
} // namespace surge::metrics
