// WakingQueue: the queue between a producer thread and one streaming consumer (a gRPC write
// reactor) that must never make the producer wait. The consumer takes items until the queue is
// empty and is then woken, without the queue's lock, when the next one comes; a consumer that
// falls more than a limit behind is dropped (its queue cleared) and woken to learn so. It is the
// queue of a metrics watcher (metrics::Subscription) and of a log follower (logs::Follower).
#pragma once

#include "common/mutex.h"

#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <utility>

namespace surge::common {

// Thread-safe.
template <typename T> class WakingQueue {
public:
  // The consumer's side.
  // The oldest item not yet taken; nullopt when none waits (then `onReady` runs when one comes).
  std::optional<T> next() {
    MutexLock lock(mu_);
    if (queue_.empty()) {
      waiting_ = !dropped_;
      return std::nullopt;
    }
    T item = std::move(queue_.front());
    queue_.pop_front();
    return item;
  }
  // Set once: the consumer fell too far behind and was dropped. Its queue is empty then.
  bool dropped() const {
    MutexLock lock(mu_);
    return dropped_;
  }
  // Runs, without any lock, when an item arrives for a consumer that found its queue empty, or
  // when it is dropped. Set it before the first next().
  void onReady(std::function<void()> wakeup) {
    MutexLock lock(mu_);
    wakeup_ = std::move(wakeup);
  }

  // The producer's side.
  // Queues `item`; false when the consumer is (now) dropped: it held `limit` items already.
  // `wake` says whether the consumer must be woken (wakeup(), outside the producer's locks).
  bool push(const T& item, size_t limit, bool& wake) {
    MutexLock lock(mu_);
    wake = false;
    if (dropped_) return false;
    if (queue_.size() >= limit) {
      dropped_ = true;
      queue_.clear();
      wake = true; // it learns that it was dropped
      return false;
    }
    queue_.push_back(item);
    wake = std::exchange(waiting_, false);
    return true;
  }
  std::function<void()> wakeup() const {
    MutexLock lock(mu_);
    return wakeup_;
  }
  // Fills the queue before the consumer starts (a backlog).
  template <typename Iterator> void prefill(Iterator begin, Iterator end) {
    MutexLock lock(mu_);
    queue_.assign(begin, end);
  }

private:
  mutable Mutex mu_;
  std::deque<T> queue_ ABSL_GUARDED_BY(mu_);
  bool waiting_ ABSL_GUARDED_BY(mu_) = false;
  bool dropped_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> wakeup_ ABSL_GUARDED_BY(mu_);
};

} // namespace surge::common
