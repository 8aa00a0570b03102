// A LogSink for engine tests: keeps every line the engine hands over (on its loop thread) and
// lets the test wait, with a deadline, until the lines it expects have come.
#pragma once

#include "common/log_line.h"
#include "common/mutex.h"
#include "engine/engine.h"

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace surge::testing {

class CapturedLines {
public:
  engine::LogSink sink() {
    return [this](std::vector<common::LogLinePtr> lines) {
      common::MutexLock lock(mu_);
      for (auto& line : lines) lines_.push_back(std::move(line));
      cv_.notifyAll();
    };
  }

  // The lines that match, once at least `count` have come; those that did when `timeout` passed.
  std::vector<common::LogLine> waitFor(const std::function<bool(const common::LogLine&)>& match, size_t count,
                                       std::chrono::seconds timeout = std::chrono::seconds(30)) {
    common::MutexLock lock(mu_);
    std::vector<common::LogLine> found;
    cv_.waitFor(mu_, timeout, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      found.clear();
      for (const auto& line : lines_) {
        if (match(*line)) found.push_back(*line);
      }
      return found.size() >= count;
    });
    return found;
  }
  // The lines of one request so far.
  std::vector<common::LogLine> ofRequest(const std::string& requestId) {
    common::MutexLock lock(mu_);
    std::vector<common::LogLine> found;
    for (const auto& line : lines_) {
      if (line->requestId == requestId) found.push_back(*line);
    }
    return found;
  }

private:
  common::Mutex mu_;
  common::CondVar cv_;
  std::vector<common::LogLinePtr> lines_ ABSL_GUARDED_BY(mu_);
};

} // namespace surge::testing
