// The cost model: prices applied to usage, and the what-if replay of a reserved count.
#include "cost/cost_model.h"

#include <absl/strings/str_cat.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <utility>

namespace surge::cost {
namespace {

constexpr size_t kReserved = 0; // common::InstanceKind::kReserved
constexpr size_t kOnDemand = 1; // common::InstanceKind::kOnDemand

double gbSeconds(double mbMs) { return mbMs / 1024.0 / 1000.0; }

// The step's concurrency: the recorded peak, but never under the mean its billed execution
// implies (an invocation shorter than a second may end between two end-of-second readings).
double peakOf(const ConcurrencyStep& step, const ReplayOptions& options) {
  const double executed = static_cast<double>(step.billedMbMs) / std::max<uint32_t>(options.memoryMb, 1) / 1000.0 /
                          static_cast<double>(std::max<int64_t>(step.seconds, 1));
  return std::max({static_cast<double>(step.peak), step.mean, std::ceil(executed - 1e-9)});
}

// Instances the step needs at its peak.
uint64_t neededOf(const ConcurrencyStep& step, const ReplayOptions& options) {
  return static_cast<uint64_t>(std::ceil(peakOf(step, options) / std::max<uint32_t>(options.concurrency, 1) - 1e-9));
}

// On-demand instances kept warm between steps; see replay() for the rule.
class OnDemandPool {
public:
  explicit OnDemandPool(int64_t idleTimeout) : idleTimeout_(idleTimeout) {}
  // Uses `wanted` instances at `now`; returns how many had to start cold.
  uint64_t use(uint64_t wanted, int64_t now) {
    while (!lastUsed_.empty() && lastUsed_.back() + idleTimeout_ <= now) lastUsed_.pop_back();
    uint64_t cold = 0;
    const uint64_t warm = std::min<uint64_t>(wanted, lastUsed_.size());
    // Most recently used first: the `warm` at the front are used again, now.
    for (uint64_t i = 0; i < warm; ++i) lastUsed_[i] = now;
    for (; cold < wanted - warm; ++cold) lastUsed_.push_front(now);
    return cold;
  }

private:
  int64_t idleTimeout_;
  std::deque<int64_t> lastUsed_; // descending
};

uint64_t coldStartsOf(const std::vector<ConcurrencyStep>& steps, const ReplayOptions& options, bool recordedTargets,
                      uint32_t reserved) {
  OnDemandPool pool(options.idleTimeoutSeconds);
  uint64_t cold = 0;
  for (const ConcurrencyStep& step : steps) {
    const uint64_t standing = recordedTargets ? step.reserved : reserved;
    const uint64_t needed = neededOf(step, options);
    cold += pool.use(needed > standing ? needed - standing : 0, step.start);
  }
  return cold;
}

} // namespace

absl::Status validate(const Prices& prices) {
  for (const auto& [name, value] : {std::pair{"price-reserved-gb-second", prices.reservedGbSecond},
                                    std::pair{"price-reserved-execution-gb-second", prices.reservedExecutionGbSecond},
                                    std::pair{"price-on-demand-gb-second", prices.onDemandGbSecond},
                                    std::pair{"price-per-million-requests", prices.perMillionRequests}}) {
    if (!std::isfinite(value) || value < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " is ", value, "; a price must be a finite number of 0 or more"));
    }
  }
  if (prices.currency.empty()) return absl::InvalidArgumentError("price-currency is empty; name the currency");
  return absl::OkStatus();
}

CostBreakdown costOf(const Usage& usage, const Prices& prices) {
  CostBreakdown cost;
  cost.reservedInstances = static_cast<double>(usage.instanceMbSeconds[kReserved]) / 1024.0 * prices.reservedGbSecond;
  cost.reservedExecution =
      gbSeconds(static_cast<double>(usage.billedMbMs[kReserved])) * prices.reservedExecutionGbSecond;
  cost.onDemandExecution = gbSeconds(static_cast<double>(usage.billedMbMs[kOnDemand])) * prices.onDemandGbSecond;
  cost.requests =
      static_cast<double>(usage.requests[kReserved] + usage.requests[kOnDemand]) / 1e6 * prices.perMillionRequests;
  return cost;
}

Replay replay(const std::vector<ConcurrencyStep>& steps, uint32_t reserved, const ReplayOptions& options,
              const Prices& prices) {
  Replay out;
  out.reserved = reserved;
  if (steps.empty()) return out;
  const int64_t span = steps.back().start + steps.back().seconds - steps.front().start;
  out.usage.instanceMbSeconds[kReserved] = uint64_t{reserved} * options.memoryMb * static_cast<uint64_t>(span);
  const double capacity = static_cast<double>(reserved) * std::max<uint32_t>(options.concurrency, 1);
  double reservedMbMs = 0, reservedRequests = 0;
  uint64_t billed = 0, requests = 0;
  for (const ConcurrencyStep& step : steps) {
    const double peak = peakOf(step, options);
    const double covered = peak <= capacity ? 1.0 : capacity / peak;
    reservedMbMs += covered * static_cast<double>(step.billedMbMs);
    reservedRequests += covered * static_cast<double>(step.requests);
    billed += step.billedMbMs;
    requests += step.requests;
  }
  out.usage.billedMbMs[kReserved] = static_cast<uint64_t>(std::llround(reservedMbMs));
  out.usage.billedMbMs[kOnDemand] = billed - std::min(billed, out.usage.billedMbMs[kReserved]);
  out.usage.requests[kReserved] = static_cast<uint64_t>(std::llround(reservedRequests));
  out.usage.requests[kOnDemand] = requests - std::min(requests, out.usage.requests[kReserved]);
  out.cost = costOf(out.usage, prices);
  out.coldStarts = coldStartsOf(steps, options, /*recordedTargets=*/false, reserved);
  return out;
}

uint64_t replayedColdStarts(const std::vector<ConcurrencyStep>& steps, const ReplayOptions& options) {
  return coldStartsOf(steps, options, /*recordedTargets=*/true, 0);
}

Replay recommend(const std::vector<ConcurrencyStep>& steps, uint32_t maxReserved, double coldStartBudget,
                 const ReplayOptions& options, const Prices& prices) {
  uint64_t requests = 0, mostNeeded = 0;
  for (const ConcurrencyStep& step : steps) {
    requests += step.requests;
    mostNeeded = std::max(mostNeeded, neededOf(step, options));
  }
  const auto allowed =
      static_cast<uint64_t>(std::floor(std::max(coldStartBudget, 0.0) * static_cast<double>(requests)));
  // Past the most instances any step needed, more only costs more: nothing is left to cover.
  const auto last = static_cast<uint32_t>(std::min<uint64_t>(maxReserved, mostNeeded));
  Replay best = replay(steps, 0, options, prices);
  bool bestFits = best.coldStarts <= allowed;
  for (uint32_t r = 1; r <= last; ++r) {
    Replay candidate = replay(steps, r, options, prices);
    const bool fits = candidate.coldStarts <= allowed;
    const bool better =
        fits ? (!bestFits || candidate.cost.total() < best.cost.total())
             : (!bestFits && (candidate.coldStarts < best.coldStarts ||
                              (candidate.coldStarts == best.coldStarts && candidate.cost.total() < best.cost.total())));
    if (better) {
      best = std::move(candidate);
      bestFits = fits;
    }
  }
  return best;
}

} // namespace surge::cost
