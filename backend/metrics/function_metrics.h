// What is measured of one function (or the whole server) in one second: invocations by outcome,
// refusals by cause, starts held back by limit, cold starts, four latency distributions, and the
// gauges read at the end of the second. FunctionMetrics records the current second on the
// scheduler's loop; roll() hands it over as a Sample and starts the next. docs/observability.md
// lists every figure with its unit and its Prometheus name.
#pragma once

#include "common/instance_kind.h"
#include "metrics/log_histogram.h"

#include <absl/time/time.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace surge::metrics {

// How an invocation ended, as the caller saw it.
enum class Outcome : uint8_t {
  kSuccess,       // the handler returned
  kFunctionError, // the handler raised, or its instance failed it (InitializerError, Crashed, ...)
  kTimeout,       // the function's timeout (or the caller's deadline) passed while it ran
  kPlatformError, // surged could not run it (UNAVAILABLE)
  kRefused,       // it never ran: the queue was full, or its queue timeout passed
};
inline constexpr int kOutcomeCount = 5;

enum class Refusal : uint8_t { kQueueFull, kQueueTimeout };
inline constexpr int kRefusalCount = 2;

// The limit that held a wanted start back (scheduler/start_gate.h, and the function's own).
enum class StartLimit : uint8_t { kMaxInstances, kMemory, kCreationRate, kConcurrentStarts };
inline constexpr int kStartLimitCount = 4;

// Label values, as Prometheus and the API spell them: "success", "queue_full", "memory", ...
std::string_view toString(Outcome outcome);
std::string_view toString(Refusal refusal);
std::string_view toString(StartLimit limit);

struct Counters {
  std::array<uint64_t, kOutcomeCount> invocations{};
  std::array<uint64_t, kRefusalCount> refused{};
  std::array<uint64_t, kStartLimitCount> heldBack{}; // seconds held back, by limit
  uint64_t coldStarts = 0;
  // Usage, what the cost is computed from (docs/observability.md "Usage"), by instance kind
  // (common::InstanceKind's order). Exact integers, so minutes add up to their seconds.
  std::array<uint64_t, 2> instanceMbSeconds{}; // each second: the memory of the instances alive
  std::array<uint64_t, 2> billedMbMs{};        // each invocation that ran: billed ms × memory
  std::array<uint64_t, 2> requests{};          // invocations that ran on an instance (billed ones)

  // Invocations of every outcome, refused ones included.
  uint64_t total() const;
  void add(const Counters& other);
  bool operator==(const Counters&) const = default;
};

// In microseconds. End to end: from the request's arrival at the scheduler to its answer.
struct Distributions {
  HistogramData endToEnd;
  HistogramData queueWait;
  HistogramData execution;
  HistogramData coldStart; // an instance's start, from start() to ready

  void merge(const Distributions& other);
  bool operator==(const Distributions&) const = default;
};

using Kind = common::InstanceKind;
using State = common::InstanceState;

// Read at the end of the second.
struct Gauges {
  std::array<std::array<uint32_t, 4>, 2> instances{}; // [Kind][State]
  uint32_t inFlight = 0;
  uint32_t queueDepth = 0;
  uint32_t reservedTarget = 0;
  uint32_t reservedReady = 0;
  uint32_t readyCapacity = 0; // slots of ready (idle or busy) instances

  uint32_t& count(Kind kind, State state) { return instances[static_cast<size_t>(kind)][static_cast<size_t>(state)]; }
  uint32_t count(Kind kind, State state) const {
    return instances[static_cast<size_t>(kind)][static_cast<size_t>(state)];
  }
  // In flight ÷ the slots of ready instances; 0 without any.
  double utilisation() const;
  // Sums (the server's gauges are its functions' sums).
  void add(const Gauges& other);
  bool operator==(const Gauges&) const = default;
};

// One second of one function or of the server. `second`: Unix seconds at its start.
struct Sample {
  int64_t second = 0;
  Counters counters;
  Distributions latency;
  Gauges gauges;

  // Invocations per second that ran (every outcome but kRefused).
  uint64_t tps() const;
};

// The current second of one function. Not thread-safe: the scheduler's loop records and rolls.
// A record costs a few increments and at most three histogram updates (bench/metrics_record).
class FunctionMetrics {
public:
  // An invocation that ran (any outcome but kRefused). `execution`: when it got a reply.
  void invocation(Outcome outcome, absl::Duration endToEnd, absl::Duration queueWait,
                  std::optional<absl::Duration> execution);
  // An invocation that never ran; counted in invocations as kRefused too.
  void refused(Refusal cause, absl::Duration queueWait);
  // A start the function wanted was held back by `limit`. Counted once per second per limit: the
  // scheduler asks again on every event while it is held, so the count says in how many seconds
  // the limit held the function back, not how often it was asked.
  void heldBack(StartLimit limit);
  // An instance became ready, `took` after it was asked to start.
  void coldStart(absl::Duration took);
  // An invocation that ran on an instance of `kind` with `memoryMb`, billed `billedMs` (the
  // execution rounded up to whole ms). Three additions.
  void billed(common::InstanceKind kind, int64_t billedMs, uint32_t memoryMb);
  // Instances of `kind` alive this second, with `memoryMb` between them.
  void alive(common::InstanceKind kind, uint64_t memoryMb);

  // Ends the current second: returns it with `gauges`, and starts the next one empty.
  Sample roll(int64_t second, const Gauges& gauges);
  // Whether anything was recorded since the last roll.
  bool idle() const { return counters_ == Counters{}; }

private:
  Counters counters_;
  LogHistogram endToEnd_, queueWait_, execution_, coldStart_;
};

} // namespace surge::metrics
