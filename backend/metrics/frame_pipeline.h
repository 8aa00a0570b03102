// FramePipeline: where each second's frame goes once the scheduler has rolled it. On a thread of
// its own, so that the loop never waits for a disk or an exporter: the history file appends it
// (and compacts once a minute), every other consumer (the Prometheus endpoint) sees it, and only
// then do the watchers get it. So a second a watcher has seen is already in the history and the
// endpoint: a client may watch for a second and then query it.
#pragma once

#include "common/mutex.h"
#include "metrics/history_store.h"
#include "metrics/metrics_hub.h"

#include <deque>
#include <functional>
#include <thread>
#include <vector>

namespace surge::metrics {

using FrameConsumer = std::function<void(const Frame&)>;

// Thread-safe. The hub, the history and the consumers must outlive it.
class FramePipeline {
public:
  // `history` may be null (no history kept). A backlog of more than `maxQueued` frames (the
  // history file stalled) drops the oldest, with a warning: the loop never blocks on it.
  FramePipeline(MetricsHub& hub, HistoryStore* history, std::vector<FrameConsumer> consumers, size_t maxQueued = 600);
  // Writes what is queued, then joins the thread.
  ~FramePipeline();

  // Called once per second from the scheduler's loop; never blocks (it only queues the frame).
  void publish(FramePtr frame);

private:
  void run();
  void write(const Frame& frame);

  MetricsHub& hub_;
  HistoryStore* history_;
  const std::vector<FrameConsumer> consumers_;
  const size_t maxQueued_;
  int64_t lastCompaction_ = 0; // the writer thread's
  common::Mutex mu_;
  common::CondVar wake_;
  std::deque<FramePtr> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  size_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

} // namespace surge::metrics
