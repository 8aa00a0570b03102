// An InstanceObserver for engine tests: records ready and exit events, and the threads they
// arrived on, and lets the test wait for them with a deadline.
#pragma once

#include "engine/engine.h"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace surge::testing {

class InstanceRecorder final : public engine::InstanceObserver {
public:
  void onReady(engine::InstanceId id, const absl::Status& status, engine::StartPath path) override {
    std::lock_guard lock(mu_);
    ready_[id] = status;
    paths_[id] = path;
    threads_.push_back(std::this_thread::get_id());
    cv_.notify_all();
  }
  void onExit(engine::InstanceId id, const engine::InstanceExit& exit) override {
    std::lock_guard lock(mu_);
    exits_[id] = exit;
    threads_.push_back(std::this_thread::get_id());
    cv_.notify_all();
  }
  std::optional<absl::Status> waitReady(engine::InstanceId id,
                                        std::chrono::seconds timeout = std::chrono::seconds(30)) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return ready_.contains(id); })) return std::nullopt;
    return ready_[id];
  }
  std::optional<engine::InstanceExit> waitExit(engine::InstanceId id,
                                               std::chrono::seconds timeout = std::chrono::seconds(30)) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return exits_.contains(id); })) return std::nullopt;
    return exits_[id];
  }
  std::optional<engine::StartPath> path(engine::InstanceId id) {
    std::lock_guard lock(mu_);
    auto it = paths_.find(id);
    return it == paths_.end() ? std::nullopt : std::optional(it->second);
  }
  // The threads every event ran on, in order.
  std::vector<std::thread::id> threads() {
    std::lock_guard lock(mu_);
    return threads_;
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<engine::InstanceId, absl::Status> ready_;
  std::map<engine::InstanceId, engine::StartPath> paths_;
  std::map<engine::InstanceId, engine::InstanceExit> exits_;
  std::vector<std::thread::id> threads_;
};

} // namespace surge::testing
