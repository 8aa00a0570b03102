// A pool of threads for blocking work, backed by Asio's thread_pool.
#include "common/worker_pool.h"

#include <asio/post.hpp>
#include <asio/thread_pool.hpp>

namespace surge::common {

struct WorkerPool::Impl {
  explicit Impl(size_t threads) : pool(threads) {}
  asio::thread_pool pool;
};

WorkerPool::WorkerPool(size_t threads) : impl_(std::make_unique<Impl>(threads)) {}

WorkerPool::~WorkerPool() { impl_->pool.join(); }

void WorkerPool::post(std::function<void()> task) { asio::post(impl_->pool, std::move(task)); }

} // namespace surge::common
