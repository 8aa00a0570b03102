// The cost model of issue 21: what recorded usage cost at the configured prices, and what a
// standing reserved count would have cost, replayed from the concurrency the history recorded.
// docs/reservations.md "Cost" states the rules; this file is where they are computed. Pure.
#pragma once

#include <absl/status/status.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace surge::cost {

// Prices per GB-second (GB = 1024 MB) and per million requests. The defaults are illustrative
// only: AWS Lambda's published x86 list prices (provisioned concurrency and on demand).
struct Prices {
  double reservedGbSecond = 0.0000041667;          // a reserved instance, while it is alive
  double reservedExecutionGbSecond = 0.0000097222; // execution on a reserved instance
  double onDemandGbSecond = 0.0000166667;          // billed execution on an on-demand instance
  double perMillionRequests = 0.20;                // every request that ran, either kind
  std::string currency = "USD";                    // a label; never converted
};

// INVALID_ARGUMENT naming the price that is negative or not finite, or an empty currency.
absl::Status validate(const Prices& prices);

// Usage over a period, by instance kind (common::InstanceKind's order: reserved, on demand).
struct Usage {
  std::array<uint64_t, 2> instanceMbSeconds{};
  std::array<uint64_t, 2> billedMbMs{};
  std::array<uint64_t, 2> requests{};
};

struct CostBreakdown {
  double reservedInstances = 0; // reserved instances alive
  double reservedExecution = 0; // execution on reserved instances
  double onDemandExecution = 0; // execution on on-demand instances
  double requests = 0;          // per-request charges
  double total() const { return reservedInstances + reservedExecution + onDemandExecution + requests; }
};

// What `usage` costs at `prices`. On-demand instances' alive time is free: only their
// execution is billed.
CostBreakdown costOf(const Usage& usage, const Prices& prices);

// One step of the recorded history (1 s, or 60 s where only minutes are kept).
struct ConcurrencyStep {
  int64_t start = 0;       // Unix seconds
  int64_t seconds = 1;     // the step's length
  uint32_t peak = 0;       // peak in flight over the step
  double mean = 0;         // mean in flight over the step
  uint32_t reserved = 0;   // the reserved target at the step's end (what actually stood)
  uint64_t requests = 0;   // requests that ran in the step
  uint64_t billedMbMs = 0; // their billed execution, both kinds
};

struct ReplayOptions {
  uint32_t memoryMb = 128;
  uint32_t concurrency = 1;         // requests one instance serves at once
  int64_t idleTimeoutSeconds = 300; // an on-demand instance stays warm this long after use
};

struct Replay {
  uint32_t reserved = 0;
  Usage usage; // what the replay says the period would have used
  CostBreakdown cost;
  uint64_t coldStarts = 0; // on-demand starts the load would have needed
};

// Replays `steps` (ascending, gaps are seconds without load or instances) with `reserved`
// instances standing over the whole span from the first step's start to the last step's end:
//  - each step, the reserved instances cover min(c, R×C) of the concurrency c; at minute
//    resolution, where only the peak p and mean m are known, the covered share of the step's
//    execution is min(1, R×C / p) (the load is taken as a burst at its peak);
//  - the step's billed execution splits between reserved and on-demand in that proportion,
//    requests likewise; the reserved instances are alive R × memory for every second of the span;
//  - cold starts: the step needs ceil(p / C) instances; those beyond R are on demand. An
//    on-demand instance is warm while it was last used less than the idle timeout before the
//    step's start; each step uses the most recently used warm ones, and every one needed beyond
//    the warm ones is a cold start. None is warm at the span's start; reserved ones always are.
Replay replay(const std::vector<ConcurrencyStep>& steps, uint32_t reserved, const ReplayOptions& options,
              const Prices& prices);

// The cold starts the recorded targets would have had by the same rule (each step's own
// `reserved`), so that a what-if's cold starts compare like with like.
uint64_t replayedColdStarts(const std::vector<ConcurrencyStep>& steps, const ReplayOptions& options);

// The count in [0, maxReserved] of least replayed cost whose cold starts stay within
// budget × the period's requests (rounded down); the smallest such count on a tie. When none
// does, the count with the fewest cold starts (the cheapest among those).
Replay recommend(const std::vector<ConcurrencyStep>& steps, uint32_t maxReserved, double coldStartBudget,
                 const ReplayOptions& options, const Prices& prices);

} // namespace surge::cost
