// The cost of recording metrics on the invoke path (issue 18: at most 1 µs, no global lock):
// what the scheduler's loop does per invocation (FunctionMetrics::invocation: an outcome counter
// and three histogram updates), per refusal, and per second (roll, with the histograms' hand-over,
// and the hand-over of the second to 1 or 100 watchers).
//   build/bench/metrics_record --benchmark_out=bench/results/metrics_record.json --benchmark_out_format=json
#include "metrics/function_metrics.h"
#include "metrics/metrics_hub.h"

#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <string>
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

// One second handed to N watchers, each taking it from its queue as its stream would. The frame
// is built once (here: 50 functions' seconds of 1,000 invocations each), so the cost per extra
// watcher is a shared pointer through a queue, whatever the frame holds.
void BM_PublishToWatchers(benchmark::State& state) {
  const auto values = latencies();
  auto frame = std::make_shared<Frame>();
  for (int f = 0; f < 50; ++f) {
    FunctionMetrics metrics;
    for (size_t i = 0; i < 1000; ++i) {
      metrics.invocation(Outcome::kSuccess, values[i] + absl::Microseconds(30), absl::Microseconds(20), values[i]);
    }
    frame->series.emplace_back("ns/f" + std::to_string(f), metrics.roll(0, Gauges{}));
  }
  MetricsHub hub(300, 30);
  std::vector<std::shared_ptr<Subscription>> watchers;
  for (int64_t i = 0; i < state.range(0); ++i) watchers.push_back(hub.subscribe());
  for (auto _ : state) {
    hub.publish(frame);
    for (auto& watcher : watchers) benchmark::DoNotOptimize(watcher->next());
  }
}
BENCHMARK(BM_PublishToWatchers)->Arg(1)->Arg(100)->Repetitions(5)->ReportAggregatesOnly(true);

} // namespace
} // namespace surge::metrics

BENCHMARK_MAIN();
