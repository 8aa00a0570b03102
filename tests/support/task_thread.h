// A caller-side thread for engine tests: the Executor that receives completions and events, so
// tests can check they never run on the engine's own threads.
#pragma once

#include "common/mutex.h"

#include <deque>
#include <functional>
#include <thread>

namespace surge::testing {

class TaskThread {
public:
  TaskThread() : thread_([this] { run(); }) {}
  ~TaskThread() {
    {
      common::MutexLock lock(mu_);
      done_ = true;
    }
    cv_.notifyAll();
    thread_.join();
  }

  void post(std::function<void()> task) {
    {
      common::MutexLock lock(mu_);
      tasks_.push_back(std::move(task));
    }
    cv_.notifyAll();
  }
  std::thread::id id() const { return thread_.get_id(); }

private:
  void run() {
    while (true) {
      std::function<void()> task;
      {
        common::MutexLock lock(mu_);
        cv_.wait(mu_, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  common::Mutex mu_;
  common::CondVar cv_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

} // namespace surge::testing
