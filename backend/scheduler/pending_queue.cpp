// PendingQueue: a list for the order plus an index for removal from the middle.
#include "scheduler/pending_queue.h"

namespace surge::scheduler {

void PendingQueue::push(Waiter waiter) {
  const uint64_t id = waiter.id;
  waiters_.push_back(std::move(waiter));
  byId_[id] = std::prev(waiters_.end());
}

std::optional<Waiter> PendingQueue::popOldest() {
  if (waiters_.empty()) return std::nullopt;
  Waiter waiter = std::move(waiters_.front());
  waiters_.pop_front();
  byId_.erase(waiter.id);
  return waiter;
}

std::optional<Waiter> PendingQueue::remove(uint64_t id) {
  auto it = byId_.find(id);
  if (it == byId_.end()) return std::nullopt;
  Waiter waiter = std::move(*it->second);
  waiters_.erase(it->second);
  byId_.erase(it);
  return waiter;
}

void PendingQueue::pushFront(Waiter waiter) {
  const uint64_t id = waiter.id;
  waiters_.push_front(std::move(waiter));
  byId_[id] = waiters_.begin();
}

} // namespace surge::scheduler
