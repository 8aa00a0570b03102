// WindowDriver on its own thread with the real clock: it applies a window when its warm-up and
// end come, wakes for windows set while it sleeps, and stops promptly. Waits are on conditions,
// with timeouts.
#include "control/window_driver.h"

#include "common/mutex.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace surge::control {
namespace {

using namespace std::chrono_literals;

class Pushed {
public:
  void add(scheduler::ScheduledTarget target) {
    common::MutexLock lock(mu_);
    targets_.push_back(target);
    cv_.notifyAll();
  }
  // Waits until `count` targets were pushed, at most 10 s; the targets by then.
  std::vector<scheduler::ScheduledTarget> waitFor(size_t count) {
    common::MutexLock lock(mu_);
    cv_.waitFor(mu_, 10s, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return targets_.size() >= count; });
    return targets_;
  }

private:
  common::Mutex mu_;
  common::CondVar cv_;
  std::vector<scheduler::ScheduledTarget> targets_ ABSL_GUARDED_BY(mu_);
};

reservations::Window soon(absl::Duration in, absl::Duration length, absl::Duration lead) {
  reservations::Window window;
  window.id = 1;
  window.count = 4;
  window.when = reservations::OneOff{absl::Now() + in, absl::Now() + in + length};
  window.lead = lead;
  return window;
}

TEST(WindowDriver, TheThreadAppliesEachChangeWhenItComesAndStops) {
  Pushed pushed;
  WindowDriver driver(common::SystemClock::instance(),
                      [&](const std::string&, scheduler::ScheduledTarget target) { pushed.add(target); });
  driver.start();
  // Set while the thread sleeps with nothing to do: it wakes for it.
  driver.setWindows("default/promo", {soon(absl::Milliseconds(300), absl::Milliseconds(200), absl::Milliseconds(100))});
  const std::vector<scheduler::ScheduledTarget> targets = pushed.waitFor(3);
  ASSERT_EQ(targets.size(), 3u);
  EXPECT_EQ(targets[0], (scheduler::ScheduledTarget{.open = std::nullopt, .warming = 4}));
  EXPECT_EQ(targets[1], (scheduler::ScheduledTarget{.open = 4, .warming = 0}));
  EXPECT_EQ(targets[2], scheduler::ScheduledTarget{}) << "after the end: back to the standing target";
  const auto stopping = std::chrono::steady_clock::now();
  driver.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, 5s) << "stop() does not wait for the next wake-up";
}

TEST(WindowDriver, RemovingTheWindowsGoesBackToTheStandingTargetAtOnce) {
  Pushed pushed;
  WindowDriver driver(common::SystemClock::instance(),
                      [&](const std::string&, scheduler::ScheduledTarget target) { pushed.add(target); });
  driver.setWindows("default/promo", {soon(absl::ZeroDuration(), absl::Hours(1), absl::ZeroDuration())});
  driver.start();
  ASSERT_EQ(pushed.waitFor(1).size(), 1u);
  driver.setWindows("default/promo", {});
  const std::vector<scheduler::ScheduledTarget> targets = pushed.waitFor(2);
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_TRUE(targets[1].empty());
}

} // namespace
} // namespace surge::control
