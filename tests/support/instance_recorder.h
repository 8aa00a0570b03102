// An InstanceObserver for engine tests and benchmarks: records ready and exit events, and the
// threads they arrived on, and lets the caller wait for them with a deadline.
#pragma once

#include "engine/engine.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
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
  // Waits until every one of `ids` has had onReady; false at the timeout.
  bool waitAllReady(const std::vector<engine::InstanceId>& ids, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      return std::all_of(ids.begin(), ids.end(), [&](engine::InstanceId id) { return ready_.contains(id); });
    });
  }
  // Waits until every one of `ids` has had onExit; false at the timeout.
  bool waitAllExit(const std::vector<engine::InstanceId>& ids, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      return std::all_of(ids.begin(), ids.end(), [&](engine::InstanceId id) { return exits_.contains(id); });
    });
  }
  // Waits until `condition` (state outside this recorder, e.g. SandboxEngine::pooled(), which
  // notifies nobody) holds: rechecked at every event and at least every millisecond. False at
  // the timeout.
  bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(mu_);
    while (!condition()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      cv_.wait_for(lock, std::chrono::milliseconds(1));
    }
    return true;
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
