// A small pool of threads for blocking work (SQLite, file I/O) that must stay off gRPC reactors.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

namespace surge::common {

// Thread-safe. Tasks run in FIFO order across `threads` threads. The destructor waits for the
// tasks already posted.
class WorkerPool {
public:
  explicit WorkerPool(size_t threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void post(std::function<void()> task);

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace surge::common
