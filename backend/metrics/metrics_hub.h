// MetricsHub: hands each second's metrics to every watcher. The second is built once, as an
// immutable Frame, and every watcher's queue holds the same shared pointer, so 100 watchers cost
// 100 pointer pushes more than one does (bench/metrics_record, BM_PublishToWatchers). A new
// watcher starts with the last five minutes of frames, so that a chart opens full. A watcher
// whose queue grows past the backlog plus `maxLag` frames is dropped: it is told so, and the
// others never wait for it.
#pragma once

#include "common/mutex.h"
#include "metrics/function_metrics.h"

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace surge::metrics {

// What only the server as a whole has, read at the end of the second.
struct ServerGauges {
  uint64_t memoryBudgetMb = 0;   // the instance memory budget; 0: none
  uint64_t memoryUsedMb = 0;     // held by instances not yet gone
  uint64_t memoryReservedMb = 0; // reserved targets × their memory
  uint32_t startsInProgress = 0;
  std::map<std::string, uint32_t> prestarted; // ready pre-started sandboxes by runtime name

  bool operator==(const ServerGauges&) const = default;
};

// One second of every series that had anything: "" is the server's series (always present);
// the others are "namespace/name", sorted.
struct Frame {
  int64_t second = 0;
  std::vector<std::pair<std::string, Sample>> series;
  ServerGauges server;
};
using FramePtr = std::shared_ptr<const Frame>;

// One watcher's queue. Thread-safe: the hub pushes, the watcher's stream pops.
class Subscription {
public:
  // The oldest frame not yet taken; nullopt when none waits (then `onReady` runs when one comes).
  std::optional<FramePtr> next();
  // Set once: the watcher fell too far behind and was dropped. Its queue is empty then.
  bool dropped() const;
  // Runs, without the hub's lock, when a frame arrives for a watcher that found its queue
  // empty, or when it is dropped. Set it before the first next().
  void onReady(std::function<void()> wakeup);

private:
  friend class MetricsHub;
  // Queues `frame`; false when the queue is full (the watcher is then dropped). Returns through
  // `wake` whether the watcher waits for it.
  bool push(const FramePtr& frame, size_t limit, bool& wake);
  std::function<void()> wakeup();

  mutable common::Mutex mu_;
  std::deque<FramePtr> queue_ ABSL_GUARDED_BY(mu_);
  bool waiting_ ABSL_GUARDED_BY(mu_) = false;
  bool dropped_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> wakeup_ ABSL_GUARDED_BY(mu_);
};

// Thread-safe.
class MetricsHub {
public:
  explicit MetricsHub(size_t backlogSeconds = 300, size_t maxLag = 30);

  // A new watcher, its queue already holding the backlog (oldest first).
  std::shared_ptr<Subscription> subscribe();
  void unsubscribe(const std::shared_ptr<Subscription>& subscription);
  // Adds one second: to the backlog, and to every watcher's queue.
  void publish(FramePtr frame);

  size_t watchers() const;
  std::vector<FramePtr> backlog() const;

private:
  const size_t backlogSeconds_;
  const size_t queueLimit_;
  mutable common::Mutex mu_;
  std::deque<FramePtr> backlog_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Subscription>> subscriptions_ ABSL_GUARDED_BY(mu_);
};

} // namespace surge::metrics
