// MetricsHub: the backlog, the watchers' queues, and dropping the ones that stall.
#include "metrics/metrics_hub.h"

#include <algorithm>

namespace surge::metrics {

std::optional<FramePtr> Subscription::next() {
  common::MutexLock lock(mu_);
  if (queue_.empty()) {
    waiting_ = !dropped_;
    return std::nullopt;
  }
  FramePtr frame = std::move(queue_.front());
  queue_.pop_front();
  return frame;
}

bool Subscription::dropped() const {
  common::MutexLock lock(mu_);
  return dropped_;
}

void Subscription::onReady(std::function<void()> wakeup) {
  common::MutexLock lock(mu_);
  wakeup_ = std::move(wakeup);
}

bool Subscription::push(const FramePtr& frame, size_t limit, bool& wake) {
  common::MutexLock lock(mu_);
  if (queue_.size() >= limit) {
    dropped_ = true;
    queue_.clear();
    wake = true; // it learns that it was dropped
    return false;
  }
  queue_.push_back(frame);
  wake = std::exchange(waiting_, false);
  return true;
}

std::function<void()> Subscription::wakeup() {
  common::MutexLock lock(mu_);
  return wakeup_;
}

MetricsHub::MetricsHub(size_t backlogSeconds, size_t maxLag)
    : backlogSeconds_(backlogSeconds), queueLimit_(backlogSeconds + maxLag) {}

std::shared_ptr<Subscription> MetricsHub::subscribe() {
  auto subscription = std::make_shared<Subscription>();
  common::MutexLock lock(mu_);
  {
    common::MutexLock queueLock(subscription->mu_);
    subscription->queue_.assign(backlog_.begin(), backlog_.end());
  }
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
