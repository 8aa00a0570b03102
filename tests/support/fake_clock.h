// A Clock that moves only when a test advances it.
#pragma once

#include "common/clock.h"
#include "common/mutex.h"

namespace surge::testing {

class FakeClock final : public common::Clock {
public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'800'000'000)) : now_(start) {}

  absl::Time now() const override {
    common::MutexLock lock(mu_);
    return now_;
  }
  // Starts at an arbitrary point and moves with advance(), like now().
  std::chrono::steady_clock::time_point steadyNow() const override {
    common::MutexLock lock(mu_);
    return steadyNow_;
  }
  void advance(absl::Duration by) {
    common::MutexLock lock(mu_);
    now_ += by;
    steadyNow_ += absl::ToChronoNanoseconds(by);
  }

private:
  mutable common::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point
      steadyNow_ ABSL_GUARDED_BY(mu_) = std::chrono::steady_clock::time_point(std::chrono::hours(1000));
};

} // namespace surge::testing
