// MetricsHub: the backlog, the watchers' queues, and dropping the ones that stall.
#include "metrics/metrics_hub.h"

#include <algorithm>

namespace surge::metrics {

MetricsHub::MetricsHub(size_t backlogSeconds, size_t maxLag)
    : backlogSeconds_(backlogSeconds), queueLimit_(backlogSeconds + maxLag) {}

std::shared_ptr<Subscription> MetricsHub::subscribe() {
  auto subscription = std::make_shared<Subscription>();
  common::MutexLock lock(mu_);
  subscription->prefill(backlog_.begin(), backlog_.end());
  subscriptions_.push_back(subscription);
  return subscription;
}

void MetricsHub::unsubscribe(const std::shared_ptr<Subscription>& subscription) {
  common::MutexLock lock(mu_);
  std::erase(subscriptions_, subscription);
}

void MetricsHub::publish(FramePtr frame) {
  std::vector<std::function<void()>> wakeups;
  {
    common::MutexLock lock(mu_);
    backlog_.push_back(frame);
    if (backlog_.size() > backlogSeconds_) backlog_.pop_front();
    std::erase_if(subscriptions_, [&](const std::shared_ptr<Subscription>& subscription) {
      bool wake = false;
      const bool kept = subscription->push(frame, queueLimit_, wake);
      if (wake) {
        if (auto wakeup = subscription->wakeup()) wakeups.push_back(std::move(wakeup));
      }
      return !kept;
    });
  }
  // Outside the lock: a wakeup may start a write that calls next() at once.
  for (auto& wakeup : wakeups) wakeup();
}

size_t MetricsHub::watchers() const {
  common::MutexLock lock(mu_);
  return subscriptions_.size();
}

std::vector<FramePtr> MetricsHub::backlog() const {
  common::MutexLock lock(mu_);
  return {backlog_.begin(), backlog_.end()};
}

} // namespace surge::metrics
