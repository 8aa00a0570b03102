// The warm-up model: creation tokens, starts at once, one start's time.
#include "reservations/warm_up.h"

#include "reservations/window.h"

#include <algorithm>
#include <cmath>

namespace surge::reservations {

absl::Duration WarmUpModel::warmTime(uint64_t n) const {
  if (n == 0) return absl::ZeroDuration();
  const uint64_t afterBurst = n > creationBurst ? n - creationBurst : 0;
  const absl::Duration lastToken = creationPerMinute == 0 ? absl::InfiniteDuration()
                                                          : absl::Minutes(1) * static_cast<double>(afterBurst) /
                                                                static_cast<double>(creationPerMinute);
  const uint64_t rounds = (n + std::max<uint32_t>(concurrentStarts, 1) - 1) / std::max<uint32_t>(concurrentStarts, 1);
  return std::max(lastToken + startTime, startTime * static_cast<double>(rounds));
}

uint64_t WarmUpModel::warmable(absl::Duration available) const {
  // warmTime grows with n: the largest n within `available`, by bisection.
  uint64_t low = 0, high = 1;
  while (warmTime(high) <= available && high < (uint64_t{1} << 40)) high *= 2;
  while (low + 1 < high) {
    const uint64_t middle = low + (high - low) / 2;
    (warmTime(middle) <= available ? low : high) = middle;
  }
  return warmTime(high) <= available ? high : low;
}

absl::Duration WarmUpModel::leadFor(uint64_t n) const {
  if (n == 0) return absl::ZeroDuration();
  const absl::Duration padded = warmTime(n) * 1.5 + absl::Seconds(2);
  return std::min(absl::Ceil(padded, absl::Seconds(1)), kMaxLead);
}

absl::Duration typicalStart(common::Runtime runtime) {
  switch (runtime) {
  case common::Runtime::kPython3: return absl::Milliseconds(100);
  case common::Runtime::kNodejs: return absl::Milliseconds(300);
  case common::Runtime::kCustom: return absl::Milliseconds(500);
  }
  return absl::Milliseconds(500);
}

} // namespace surge::reservations
