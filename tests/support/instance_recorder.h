// An InstanceObserver for engine tests and benchmarks: records start and exit events, and the
// threads they arrived on, and lets the caller wait for them with a deadline.
#pragma once

#include "common/mutex.h"
#include "engine/engine.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <thread>
#include <vector>

namespace surge::engine {
// For test messages.
inline std::ostream& operator<<(std::ostream& out, StartOutcome::Kind kind) { return out << startKindName(kind); }
inline std::ostream& operator<<(std::ostream& out, InvokeOutcome::Kind kind) { return out << invokeKindName(kind); }
inline std::ostream& operator<<(std::ostream& out, const StartOutcome& outcome) {
  return out << startKindName(outcome.kind) << (outcome.message.empty() ? "" : ": ") << outcome.message;
}
inline std::ostream& operator<<(std::ostream& out, const InvokeOutcome& outcome) {
  return out << invokeKindName(outcome.kind) << (outcome.reason.empty() ? "" : ": ") << outcome.reason;
}
} // namespace surge::engine

namespace surge::testing {

class InstanceRecorder final : public engine::InstanceObserver {
public:
  void onStarted(engine::InstanceId id, const engine::StartOutcome& outcome) override {
    common::MutexLock lock(mu_);
    started_[id] = outcome;
    paths_[id] = outcome.path;
    threads_.push_back(std::this_thread::get_id());
    cv_.notifyAll();
  }
  void onExit(engine::InstanceId id, const engine::InstanceExit& exit) override {
    common::MutexLock lock(mu_);
    exits_[id] = exit;
    threads_.push_back(std::this_thread::get_id());
    cv_.notifyAll();
  }
  std::optional<engine::StartOutcome> waitStarted(engine::InstanceId id,
                                                  std::chrono::seconds timeout = std::chrono::seconds(30)) {
    common::MutexLock lock(mu_);
    if (!cv_.waitFor(mu_, timeout, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return started_.contains(id); })) {
      return std::nullopt;
    }
    return started_[id];
  }
  std::optional<engine::InstanceExit> waitExit(engine::InstanceId id,
                                               std::chrono::seconds timeout = std::chrono::seconds(30)) {
    common::MutexLock lock(mu_);
    if (!cv_.waitFor(mu_, timeout, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return exits_.contains(id); })) {
      return std::nullopt;
    }
    return exits_[id];
  }
  // Waits until every one of `ids` has had onStarted; false at the timeout.
  bool waitAllStarted(const std::vector<engine::InstanceId>& ids, std::chrono::milliseconds timeout) {
    common::MutexLock lock(mu_);
    return cv_.waitFor(mu_, timeout, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return std::all_of(ids.begin(), ids.end(), [&](engine::InstanceId id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return started_.contains(id);
      });
    });
  }
  // Waits until every one of `ids` has had onExit; false at the timeout.
  bool waitAllExit(const std::vector<engine::InstanceId>& ids, std::chrono::milliseconds timeout) {
    common::MutexLock lock(mu_);
    return cv_.waitFor(mu_, timeout, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return std::all_of(ids.begin(), ids.end(),
                         [&](engine::InstanceId id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return exits_.contains(id); });
    });
  }
  // Waits until `condition` (state outside this recorder, e.g. SandboxEngine::stemsReady(), which
  // notifies nobody) holds: rechecked at every event and at least every millisecond. False at
  // the timeout.
  bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    common::MutexLock lock(mu_);
    while (!condition()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      cv_.waitUntil(mu_, std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(1)));
    }
    return true;
  }
  std::optional<engine::StartPath> path(engine::InstanceId id) {
    common::MutexLock lock(mu_);
    auto it = paths_.find(id);
    return it == paths_.end() ? std::nullopt : std::optional(it->second);
  }
  // The threads every event ran on, in order.
  std::vector<std::thread::id> threads() {
    common::MutexLock lock(mu_);
    return threads_;
  }

private:
  common::Mutex mu_;
  common::CondVar cv_;
  std::map<engine::InstanceId, engine::StartOutcome> started_ ABSL_GUARDED_BY(mu_);
  std::map<engine::InstanceId, engine::StartPath> paths_ ABSL_GUARDED_BY(mu_);
  std::map<engine::InstanceId, engine::InstanceExit> exits_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread::id> threads_ ABSL_GUARDED_BY(mu_);
};

} // namespace surge::testing
