// MetricsHub: the backlog a new watcher gets, one shared frame for every watcher, a stalled
// watcher dropped without holding the others back, and wake-ups across threads.
#include "metrics/metrics_hub.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace surge::metrics {
namespace {

FramePtr frame(int64_t second) {
  auto made = std::make_shared<Frame>();
  made->second = second;
  made->series.emplace_back("", Sample{});
  return made;
}

std::vector<int64_t> drain(Subscription& subscription) {
  std::vector<int64_t> seconds;
  while (auto next = subscription.next()) seconds.push_back((*next)->second);
  return seconds;
}

TEST(MetricsHub, ANewWatcherStartsWithTheLastFiveMinutesOldestFirst) {
  MetricsHub hub(300, 30);
  for (int64_t s = 0; s < 310; ++s) hub.publish(frame(s));
  auto watcher = hub.subscribe();
  const std::vector<int64_t> seconds = drain(*watcher);
  ASSERT_EQ(seconds.size(), 300u);
  EXPECT_EQ(seconds.front(), 10);
  EXPECT_EQ(seconds.back(), 309);
  hub.publish(frame(310));
  EXPECT_EQ(drain(*watcher), std::vector<int64_t>{310});
}

TEST(MetricsHub, AHundredWatchersShareEachFrameAndGetItOnce) {
  MetricsHub hub(300, 30);
  std::vector<std::shared_ptr<Subscription>> watchers;
  for (int i = 0; i < 100; ++i) watchers.push_back(hub.subscribe());
  std::vector<FramePtr> published;
  for (int64_t s = 0; s < 5; ++s) {
    published.push_back(frame(s));
    hub.publish(published.back());
  }
  for (auto& watcher : watchers) {
    for (const FramePtr& expected : published) {
      auto got = watcher->next();
      ASSERT_TRUE(got.has_value());
      EXPECT_EQ(got->get(), expected.get()) << "the same frame, not a copy";
    }
    EXPECT_FALSE(watcher->next().has_value());
  }
  EXPECT_EQ(published[0].use_count(), 2) << "the backlog and this test hold it; the watchers let go";
}

TEST(MetricsHub, AStalledWatcherIsDroppedAndTheOthersGoOn) {
  MetricsHub hub(10, 3);
  auto stalled = hub.subscribe();
  auto reader = hub.subscribe();
  int wakeups = 0;
  stalled->onReady([&] { ++wakeups; });
  std::vector<int64_t> read;
  for (int64_t s = 0; s < 13; ++s) {
    hub.publish(frame(s));
    for (int64_t second : drain(*reader)) read.push_back(second);
  }
  EXPECT_FALSE(stalled->dropped()) << "13 frames queued: the backlog of 10 plus a lag of 3";
  EXPECT_EQ(wakeups, 0) << "it never asked, so it is not woken";
  hub.publish(frame(13));
  for (int64_t second : drain(*reader)) read.push_back(second);
  EXPECT_TRUE(stalled->dropped());
  EXPECT_EQ(wakeups, 1) << "woken once, to learn it was dropped";
  EXPECT_FALSE(stalled->next().has_value()) << "its queue is gone";
  EXPECT_EQ(hub.watchers(), 1u);
  EXPECT_EQ(read.size(), 14u) << "the reader got every frame";
  EXPECT_EQ(read.back(), 13);
}

TEST(MetricsHub, AWatcherThatFoundNothingIsWokenByTheNextFrameOnly) {
  MetricsHub hub(300, 30);
  auto watcher = hub.subscribe();
  int wakeups = 0;
  watcher->onReady([&] { ++wakeups; });
  hub.publish(frame(1));
  EXPECT_EQ(wakeups, 0) << "it has not asked yet";
  EXPECT_EQ(drain(*watcher), std::vector<int64_t>{1}); // ends with an empty next(): waiting
  hub.publish(frame(2));
  hub.publish(frame(3));
  EXPECT_EQ(wakeups, 1) << "once, for the frame it waited for";
  EXPECT_EQ(drain(*watcher), (std::vector<int64_t>{2, 3}));
  hub.unsubscribe(watcher);
  hub.publish(frame(4));
  EXPECT_EQ(wakeups, 1);
  EXPECT_EQ(hub.watchers(), 0u);
}

TEST(MetricsHub, WatchersOnTheirOwnThreadsGetEveryFrameInOrder) {
  constexpr int kFrames = 2000;
  constexpr int kWatchers = 8;
  MetricsHub hub(300, kFrames); // nobody is dropped here
  struct Watcher {
    std::shared_ptr<Subscription> subscription;
    std::mutex mu;
    std::condition_variable ready;
    bool woken = false;
    std::vector<int64_t> seen;
  };
  std::vector<std::unique_ptr<Watcher>> watchers;
  std::vector<std::thread> threads;
  for (int i = 0; i < kWatchers; ++i) {
    auto& w = *watchers.emplace_back(std::make_unique<Watcher>());
    w.subscription = hub.subscribe();
    w.subscription->onReady([&w] {
      std::lock_guard lock(w.mu);
      w.woken = true;
      w.ready.notify_one();
    });
  }
  for (auto& owned : watchers) {
    threads.emplace_back([w = owned.get()] {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (static_cast<int>(w->seen.size()) < kFrames && std::chrono::steady_clock::now() < deadline) {
        if (auto next = w->subscription->next()) {
          w->seen.push_back((*next)->second);
          continue;
        }
        std::unique_lock lock(w->mu);
        w->ready.wait_until(lock, deadline, [w] { return w->woken; });
        w->woken = false;
      }
    });
  }
  for (int64_t s = 0; s < kFrames; ++s) hub.publish(frame(s));
  for (auto& thread : threads) thread.join();
  for (auto& w : watchers) {
    ASSERT_EQ(w->seen.size(), static_cast<size_t>(kFrames));
    for (int64_t s = 0; s < kFrames; ++s) ASSERT_EQ(w->seen[static_cast<size_t>(s)], s);
  }
}

} // namespace
} // namespace surge::metrics
