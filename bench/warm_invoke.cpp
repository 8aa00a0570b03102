// bench/warm_invoke: round trip of a warm no-op Python instance through the Engine interface:
// invoke() on the caller's thread -> frame to the runtime -> handler -> reply -> callback back
// on the caller's thread. 128 MiB, concurrency 1. Goal (issue 4): P50 <= 100 us.
//
//   build/bench/warm_invoke [--samples N] [--memory MB] [--json PATH]
#include "bench/engine_bench_support.h"
#include "engine/sandbox_engine.h"
#include "engine/sandbox_launcher.h"
#include "support/temp_dir.h"

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <future>
#include <string>

int main(int argc, char** argv) {
  using namespace surge;
  int samples = 5000;
  uint32_t memoryMb = 128;
  std::string jsonPath = "bench/results/warm_invoke.json";
  CLI::App app{"warm_invoke: a warm no-op Python instance's round trip through the engine"};
  app.add_option("--samples", samples, "invokes")->check(CLI::PositiveNumber);
  app.add_option("--memory", memoryMb, "the instance's memory in MiB")->check(CLI::Range(16, 65536));
  app.add_option("--json", jsonPath, "where the results go");
  CLI11_PARSE(app, argc, argv);
  testing::TempDir dir;
  bench::writeNoopFunction(dir.path() / "code");
  // Before `caller`, so it outlives the caller thread, which still runs the engine's last events.
  testing::InstanceRecorder observer;
  testing::TaskThread caller;
  auto made = bench::makeEngine(caller, observer);
  if (!made.ok()) {
    std::fprintf(stderr, "%s\n", std::string(made.status().message()).c_str());
    return 1;
  }
  engine::SandboxEngine& engine = **made;
  engine::InstanceSpec spec = bench::noopSpec(dir.path() / "code", memoryMb);
  const auto id = engine.start(spec);
  auto ready = observer.waitStarted(id, bench::kObserverWait);
  if (!ready || !ready->ready()) {
    std::fprintf(stderr, "instance did not start\n");
    return 1;
  }
  auto once = [&](int n) {
    std::promise<bool> done;
    auto future = done.get_future();
    const auto start = std::chrono::steady_clock::now();
    engine.invoke(
        id, engine::InvokeRequest{"r" + std::to_string(n), "", std::chrono::steady_clock::time_point::max(), nullptr},
        [&](engine::InvokeOutcome r) { done.set_value(r.completed() && !r->error); });
    const bool ok = future.get();
    return ok ? std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() : -1.0;
  };
  for (int i = 0; i < 500; ++i) once(-i - 1); // warm up
  std::vector<double> us;
  for (int i = 0; i < samples; ++i) {
    const double t = once(i);
    if (t < 0) {
      std::fprintf(stderr, "invoke %d failed\n", i);
      return 1;
    }
    us.push_back(t);
  }
  const double p50 = bench::percentile(us, 0.5), p99 = bench::percentile(us, 0.99);
  std::printf("warm_invoke: %d sequential invokes of a no-op Python function (%u MiB, so %.2f cores; concurrency 1)\n",
              samples, memoryMb, std::max(0.25, memoryMb / 1024.0));
  std::printf("round trip through the engine: p50 %.1f us, p99 %.1f us (goal p50 <= 100 us)\n", p50, p99);
  std::filesystem::create_directories(std::filesystem::path(jsonPath).parent_path());
  std::ofstream(jsonPath) << "{\n  \"benchmark\": \"warm_invoke\",\n  \"samples\": " << samples
                          << ",\n  \"memory_mb\": " << memoryMb << ",\n  \"concurrency\": 1,\n  \"p50_us\": " << p50
                          << ",\n  \"p99_us\": " << p99 << ",\n  \"goal_p50_us\": 100\n}\n";
  return 0;
}
