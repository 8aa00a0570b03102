// bench/direct_start: starting a Python instance through the Engine and serving one request,
// beside a naive bubblewrap start of /usr/bin/python3 that imports the handler and answers once,
// measured in the same run. 128 MiB, concurrency 1. No pre-started pool (issue 5 adds it).
//
//   build/bench/direct_start [--runs N] [--json PATH]
#include "bench/engine_bench_support.h"
#include "engine/sandbox_engine.h"
#include "engine/sandbox_launcher.h"
#include "support/process.h"
#include "support/temp_dir.h"

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdio>
#include <future>
#include <string>

int main(int argc, char** argv) {
  using namespace surge;
  int runs = 200;
  std::string jsonPath = "bench/results/direct_start.json";
  CLI::App app{"direct_start: starting a Python instance and serving one request, against the naive start"};
  app.add_option("--runs", runs, "starts of each kind")->check(CLI::PositiveNumber);
  app.add_option("--json", jsonPath, "where the results go");
  CLI11_PARSE(app, argc, argv);
  testing::TempDir dir;
  const auto code = dir.path() / "code";
  bench::writeNoopFunction(code);
  // Before `caller`, so it outlives the caller thread, which still runs the engine's last events.
  testing::InstanceRecorder observer;
  testing::TaskThread caller;
  auto made = bench::makeEngine(caller, observer);
  if (!made.ok()) {
    std::fprintf(stderr, "%s\n", std::string(made.status().message()).c_str());
    return 1;
  }
  engine::SandboxEngine& engine = **made;
  engine::InstanceSpec spec = bench::noopSpec(code);

  const std::vector<std::string> naive = bench::naivePythonCommand(code);

  std::vector<double> engineMs, naiveMs;
  for (int i = 0; i < runs; ++i) {
    // Alternate the two so that noise hits both alike.
    const auto start = std::chrono::steady_clock::now();
    const auto id = engine.start(spec);
    auto ready = observer.waitStarted(id, bench::kObserverWait);
    if (!ready || !ready->ready()) {
      std::fprintf(stderr, "start %d failed\n", i);
      return 1;
    }
    std::promise<bool> done;
    engine.invoke(id, engine::InvokeRequest{"r", "", std::chrono::steady_clock::time_point::max(), nullptr},
                  [&](engine::InvokeOutcome r) { done.set_value(r.completed() && !r->error); });
    if (!done.get_future().get()) {
      std::fprintf(stderr, "invoke %d failed\n", i);
      return 1;
    }
    engineMs.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    engine.stop(id, engine::StopMode::kNow);
    observer.waitExit(id, bench::kObserverWait);

    const auto naiveStart = std::chrono::steady_clock::now();
    const auto result = testing::runCommand(naive);
    if (result.exitCode != 0 || result.out != "b''") {
      std::fprintf(stderr, "naive start failed: %s\n", result.err.c_str());
      return 1;
    }
    naiveMs.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - naiveStart).count());
  }
  const double e50 = bench::percentile(engineMs, 0.5), e99 = bench::percentile(engineMs, 0.99);
  const double n50 = bench::percentile(naiveMs, 0.5), n99 = bench::percentile(naiveMs, 0.99);
  std::printf("direct_start: %d runs, 128 MiB, concurrency 1, Python no-op handler\n", runs);
  std::printf("engine start + first response: p50 %.1f ms, p99 %.1f ms\n", e50, e99);
  std::printf("naive bwrap + python3 import + answer: p50 %.1f ms, p99 %.1f ms\n", n50, n99);
  std::printf("engine / naive at p50: %.2f\n", e50 / n50);
  std::filesystem::create_directories(std::filesystem::path(jsonPath).parent_path());
  std::ofstream(jsonPath) << "{\n  \"benchmark\": \"direct_start\",\n  \"runs\": " << runs
                          << ",\n  \"memory_mb\": 128,\n  \"concurrency\": 1,\n  \"engine_p50_ms\": " << e50
                          << ",\n  \"engine_p99_ms\": " << e99 << ",\n  \"naive_p50_ms\": " << n50
                          << ",\n  \"naive_p99_ms\": " << n99 << ",\n  \"ratio_p50\": " << e50 / n50 << "\n}\n";
  return 0;
}
