// The cost of recording metrics on the invoke path (issue 18: at most 1 µs, no global lock):
// what the scheduler's loop does per invocation (FunctionMetrics::invocation: an outcome counter
// and three histogram updates), per refusal, and per second (roll, with the histograms' hand-over).
//   build/bench/metrics_record --benchmark_out=bench/results/metrics_record.json --benchmark_out_format=json
#include "metrics/function_metrics.h"

#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

namespace surge::metrics {
namespace {

// Latencies as an invoke path sees them: mostly ~100 µs, a tail of cold starts to ~50 ms.
std::vector<absl::Duration> latencies() {
  std::mt19937_64 random(1);
  std::lognormal_distribution<double> warm(std::log(100.0), 0.5);
  std::lognormal_distribution<double> cold(std::log(20000.0), 0.6);
  std::vector<absl::Duration> values(4096);
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = absl::Microseconds(i % 20 == 0 ? cold(random) : warm(random));
  }
  return values;
}

void BM_RecordInvocation(benchmark::State& state) {
  const auto values = latencies();
  FunctionMetrics metrics;
  size_t i = 0;
  for (auto _ : state) {
    const absl::Duration execution = values[i++ & 4095];
    metrics.invocation(Outcome::kSuccess, execution + absl::Microseconds(30), absl::Microseconds(20), execution);
  }
  benchmark::DoNotOptimize(metrics.idle());
}
BENCHMARK(BM_RecordInvocation)->Repetitions(5)->ReportAggregatesOnly(true);

void BM_RecordRefusal(benchmark::State& state) {
  const auto values = latencies();
  FunctionMetrics metrics;
  size_t i = 0;
  for (auto _ : state) metrics.refused(Refusal::kQueueTimeout, values[i++ & 4095]);
  benchmark::DoNotOptimize(metrics.idle());
}
BENCHMARK(BM_RecordRefusal)->Repetitions(5)->ReportAggregatesOnly(true);

// Once a second per active function: 1,000 invocations recorded, then the second rolled.
void BM_RollASecondOfAThousandInvocations(benchmark::State& state) {
  const auto values = latencies();
  FunctionMetrics metrics;
  int64_t second = 0;
  for (auto _ : state) {
    state.PauseTiming();
    for (size_t i = 0; i < 1000; ++i) {
      metrics.invocation(Outcome::kSuccess, values[i] + absl::Microseconds(30), absl::Microseconds(20), values[i]);
    }
    state.ResumeTiming();
    Sample sample = metrics.roll(++second, Gauges{});
    benchmark::DoNotOptimize(sample);
  }
}
BENCHMARK(BM_RollASecondOfAThousandInvocations)->Repetitions(5)->ReportAggregatesOnly(true);

} // namespace
} // namespace surge::metrics

BENCHMARK_MAIN();
