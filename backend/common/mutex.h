// The project's one mutex: std::mutex with clang's thread-safety annotations, a scoped lock and a
// condition variable for it. Clang's -Wthread-safety checks every ABSL_GUARDED_BY against it, and
// ThreadSanitizer sees every lock and wait (it intercepts pthread_mutex_* and pthread_cond_*).
// absl::Mutex gives the first but not the second: Debian's libabsl is not built with TSan, so its
// locking is invisible to TSan, which then reports the accesses it orders as races.
#pragma once

#include <absl/base/thread_annotations.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <utility>

namespace surge::common {

// Not recursive. Thread-safe, as a mutex must be.
class ABSL_LOCKABLE Mutex {
public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }

private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds `mu` for its scope.
class ABSL_SCOPED_LOCKABLE MutexLock {
public:
  explicit MutexLock(Mutex& mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

private:
  Mutex& mu_;
};

// Waits for a change that another thread announces with notifyOne() or notifyAll(). Each wait
// releases `mu` while it sleeps and holds it again when it returns, like std::condition_variable.
// A predicate runs with `mu` held; annotate a lambda that reads guarded members with
// ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) so that the analysis checks its body too.
class CondVar {
public:
  // May wake spuriously: callers recheck their condition, or use a form with a predicate.
  void wait(Mutex& mu) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::unique_lock<std::mutex> lock(mu.mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  // False at the deadline (or on a spurious wake-up before it).
  template <class Clock, class Duration>
  bool waitUntil(Mutex& mu, std::chrono::time_point<Clock, Duration> deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::unique_lock<std::mutex> lock(mu.mu_, std::adopt_lock);
    const bool notified = cv_.wait_until(lock, deadline) == std::cv_status::no_timeout;
    lock.release();
    return notified;
  }

  // Until done() holds.
  template <class Predicate>
  void wait(Mutex& mu, Predicate done) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    while (!done()) wait(mu);
  }
  // Until done() holds (true) or the deadline passes (false: done() still does not hold).
  template <class Clock, class Duration, class Predicate>
  bool waitUntil(Mutex& mu, std::chrono::time_point<Clock, Duration> deadline, Predicate done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    while (!done()) {
      if (!waitUntil(mu, deadline) && Clock::now() >= deadline) return done();
    }
    return true;
  }
  template <class Rep, class Period, class Predicate>
  bool waitFor(Mutex& mu, std::chrono::duration<Rep, Period> timeout, Predicate done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return waitUntil(mu, std::chrono::steady_clock::now() + timeout, std::move(done));
  }

  void notifyOne() { cv_.notify_one(); }
  void notifyAll() { cv_.notify_all(); }

private:
  std::condition_variable cv_;
};

} // namespace surge::common
