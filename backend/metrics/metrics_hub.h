// MetricsHub: hands each second's metrics to every watcher. The second is built once, as an
// immutable Frame, and every watcher's queue holds the same shared pointer, so 100 watchers cost
// 100 pointer pushes more than one does (bench/metrics_record, BM_PublishToWatchers). A new
// watcher starts with the last five minutes of frames, so that a chart opens full. A watcher
// whose queue grows past the backlog plus `maxLag` frames is dropped: it is told so, and the
// others never wait for it.
#pragma once

#include "common/mutex.h"
#include "common/waking_queue.h"
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

// One watcher's queue: the hub pushes, the watcher's stream pops.
using Subscription = common::WakingQueue<FramePtr>;

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
