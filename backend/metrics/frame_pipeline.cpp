// FramePipeline: the history, the exporters, then the hub, on the writer thread.
#include "metrics/frame_pipeline.h"

#include <spdlog/spdlog.h>

namespace surge::metrics {
namespace {

// Finished minutes are rolled up once a minute, a few seconds after the minute ends.
constexpr int64_t kCompactEvery = 60;

} // namespace

FramePipeline::FramePipeline(MetricsHub& hub, HistoryStore* history, std::vector<FrameConsumer> consumers,
                             size_t maxQueued)
    : hub_(hub), history_(history), consumers_(std::move(consumers)), maxQueued_(maxQueued),
      thread_([this] { run(); }) {}

FramePipeline::~FramePipeline() {
  {
    common::MutexLock lock(mu_);
    stopping_ = true;
  }
  wake_.notifyAll();
  thread_.join();
}

void FramePipeline::publish(FramePtr frame) {
  {
    common::MutexLock lock(mu_);
    queue_.push_back(std::move(frame));
    if (queue_.size() > maxQueued_) {
      queue_.pop_front();
      ++dropped_;
    }
  }
  wake_.notifyOne();
}

void FramePipeline::run() {
  for (;;) {
    FramePtr frame;
    size_t dropped = 0;
    {
      common::MutexLock lock(mu_);
      wake_.wait(mu_, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return; // stopping, and everything is written
      frame = std::move(queue_.front());
      queue_.pop_front();
      dropped = std::exchange(dropped_, 0);
    }
    if (dropped > 0) spdlog::warn("metrics: the history writer fell behind; {} seconds were not stored", dropped);
    write(*frame);
    hub_.publish(std::move(frame));
  }
}

void FramePipeline::write(const Frame& frame) {
  if (history_) {
    if (auto status = history_->append(frame.series); !status.ok()) {
      spdlog::warn("metrics: second {} was not stored: {}", frame.second, status.ToString());
    }
    if (frame.second - lastCompaction_ >= kCompactEvery) {
      if (auto status = history_->compact(frame.second); !status.ok()) {
        spdlog::warn("metrics: the history was not compacted: {}", status.ToString());
      }
      lastCompaction_ = frame.second;
    }
  }
  for (const FrameConsumer& consume : consumers_) consume(frame);
}

} // namespace surge::metrics
