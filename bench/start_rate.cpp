// bench/start_rate: how fast the engine makes instances ready when the pool cannot help. With no
// pool (poolSize 0), start() M Python instances of M distinct functions at once and time until
// the last onReady; in the same run, the naive bubblewrap start of /usr/bin/python3 M times, 2 at
// a time (the machine has 2 cores). 128 MiB. Goals (issue 5): >= 50 instances per second and
// >= 2x the naive rate.
//
//   build/bench/start_rate [--instances M] [--json PATH]
#include "bench/engine_bench_support.h"
#include "engine/sandbox_engine.h"
#include "engine/sandbox_launcher.h"
#include "support/process.h"
#include "support/temp_dir.h"

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>

namespace {

using namespace surge;

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

int main(int argc, char** argv) {
  int count = 200;
  std::string jsonPath = "bench/results/start_rate.json";
  CLI::App app{"start_rate: instances made ready per second with no pool, against the naive start"};
  app.add_option("--instances", count, "instances, each of its own function")->check(CLI::PositiveNumber);
  app.add_option("--json", jsonPath, "where the results go");
  CLI11_PARSE(app, argc, argv);
  testing::TempDir dir;
  const auto functions = dir.path() / "functions";
  // Before `caller`, so it outlives the caller thread, which still runs the engine's last events.
  testing::InstanceRecorder observer;
  testing::TaskThread caller;
  engine::SandboxEngineOptions options;
  options.sandboxesDir = dir.path() / "sandboxes"; // as in production, but with nothing pre-started
  options.poolSize = 0;
  auto made = bench::makeEngine(caller, observer, options);
  if (!made.ok()) {
    std::fprintf(stderr, "%s\n", std::string(made.status().message()).c_str());
    return 1;
  }
  engine::SandboxEngine& engine = **made;

  std::vector<engine::InstanceSpec> specs;
  for (int i = 0; i < count; ++i) {
    engine::InstanceSpec spec = bench::noopSpec(functions / ("fn-" + std::to_string(i)));
    spec.function = "default/fn-" + std::to_string(i);
    spec.functionId = i + 1;
    std::filesystem::create_directories(spec.codeDir);
    std::ofstream(spec.codeDir / "index.py") << "# fn-" << i << "\ndef handler(event, context):\n    return b''\n";
    specs.push_back(spec);
  }

  const auto start = std::chrono::steady_clock::now();
  std::vector<engine::InstanceId> ids;
  for (const auto& spec : specs) ids.push_back(engine.start(spec));
  const bool allReady = observer.waitAllStarted(ids, std::chrono::seconds(60) + count * std::chrono::seconds(1));
  const double engineSeconds = secondsSince(start);
  if (!allReady) {
    std::fprintf(stderr, "not every instance reported onReady in time\n");
    return 1;
  }
  int failed = 0, viaPool = 0, viaZygote = 0;
  for (auto id : ids) {
    if (!observer.waitStarted(id, bench::kObserverWait)->ready()) ++failed;
    if (observer.path(id) == engine::StartPath::kStem) ++viaPool;
    if (observer.path(id) == engine::StartPath::kZygote) ++viaZygote;
  }
  for (auto id : ids) engine.stop(id, engine::StopMode::kNow);
  if (!observer.waitAllExit(ids, std::chrono::seconds(60) + count * std::chrono::milliseconds(100))) {
    std::fprintf(stderr, "not every instance exited in time\n");
    return 1;
  }
  if (failed > 0) {
    std::fprintf(stderr, "%d of %d instances failed to start\n", failed, count);
    return 1;
  }

  // The naive start, M times, two at a time.
  const auto naiveCode = dir.path() / "naive";
  bench::writeNoopFunction(naiveCode);
  const auto naive = bench::naivePythonCommand(naiveCode);
  std::atomic<int> next{0}, naiveFailed{0};
  const auto naiveStart = std::chrono::steady_clock::now();
  {
    auto worker = [&] {
      while (next.fetch_add(1) < count) {
        const auto result = testing::runCommand(naive);
        if (result.exitCode != 0 || result.out != "b''") naiveFailed.fetch_add(1);
      }
    };
    std::jthread a(worker), b(worker);
  }
  const double naiveSeconds = secondsSince(naiveStart);
  if (naiveFailed.load() > 0) {
    std::fprintf(stderr, "%d naive starts failed\n", naiveFailed.load());
    return 1;
  }

  const double engineRate = count / engineSeconds, naiveRate = count / naiveSeconds;
  std::printf("start_rate: %d Python instances of distinct functions, 128 MiB, no pool (%d took the pool, %d were "
              "forked by the zygote, %d started by bubblewrap)\n",
              count, viaPool, viaZygote, count - viaPool - viaZygote);
  std::printf("engine: all %d ready in %.2f s: %.1f instances/s (goal >= 50: %s)\n", count, engineSeconds, engineRate,
              engineRate >= 50 ? "met" : "MISSED");
  std::printf("naive bwrap + python3, 2 at a time: %d in %.2f s: %.1f starts/s\n", count, naiveSeconds, naiveRate);
  std::printf("engine / naive: %.2f (goal >= 2: %s)\n", engineRate / naiveRate,
              engineRate >= 2 * naiveRate ? "met" : "MISSED");
  std::filesystem::create_directories(std::filesystem::path(jsonPath).parent_path());
  std::ofstream(jsonPath) << "{\n  \"benchmark\": \"start_rate\",\n  \"instances\": " << count
                          << ",\n  \"memory_mb\": 128,\n  \"through_pool\": " << viaPool
                          << ",\n  \"through_zygote\": " << viaZygote << ",\n  \"engine_seconds\": " << engineSeconds
                          << ",\n  \"engine_per_second\": " << engineRate << ",\n  \"naive_seconds\": " << naiveSeconds
                          << ",\n  \"naive_per_second\": " << naiveRate << ",\n  \"ratio\": " << engineRate / naiveRate
                          << ",\n  \"goal_per_second\": 50,\n  \"goal_ratio\": 2\n}\n";
  return 0;
}
