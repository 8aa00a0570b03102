// bench/density: how much memory an idle Python instance costs. Starts N idle instances of N
// distinct functions (128 MiB; the first through the pool, the rest direct), waits until all are
// ready, and sums the PSS of every process in each instance's cgroup. Goal (issue 5): <= 10 MiB
// of PSS per idle Python instance.
//
//   build/bench/density [--instances N] [--pool-size N] [--json PATH]
#include "bench/engine_bench_support.h"
#include "engine/sandbox_engine.h"
#include "engine/sandbox_launcher.h"
#include "support/temp_dir.h"

#include <CLI/CLI.hpp>

#include <sys/types.h>
#include <unistd.h>

#include <cstdio>
#include <set>
#include <sstream>
#include <string>

namespace {

using namespace surge;

// What the processes of one sandbox use, in KiB.
struct SandboxMemory {
  std::string name;
  bool isInstance = false; // else a stem cell still waiting in the pool
  int processes = 0;
  uint64_t pssKib = 0;
  // The sandbox's own processes besides the runtime: bubblewrap's outer one and the namespace's
  // init, or their counterparts forked by the Python zygote (also named surge-zygote).
  uint64_t helperPssKib = 0;
  uint64_t rssKib = 0;
  uint64_t cgroupBytes = 0; // memory.usage_in_bytes: what the cgroup is charged, page cache included
};

// A "Name:  123 kB" field of /proc/<pid>/smaps_rollup, or 0.
uint64_t rollupKib(const std::string& rollup, const std::string& field) {
  std::istringstream in(rollup);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1));
  }
  return 0;
}

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

SandboxMemory measure(const std::filesystem::path& cgroup) {
  SandboxMemory memory;
  memory.name = cgroup.filename().string();
  std::istringstream procs(readFile(cgroup / "cgroup.procs"));
  for (pid_t pid; procs >> pid;) {
    const std::filesystem::path proc = "/proc/" + std::to_string(pid);
    const std::string rollup = readFile(proc / "smaps_rollup");
    if (rollup.empty()) continue; // gone meanwhile, or a kernel thread
    std::string comm = readFile(proc / "comm");
    if (!comm.empty() && comm.back() == '\n') comm.pop_back();
    const uint64_t pss = rollupKib(rollup, "Pss");
    ++memory.processes;
    memory.pssKib += pss;
    memory.rssKib += rollupKib(rollup, "Rss");
    if (comm == "bwrap" || comm == "surge-zygote") memory.helperPssKib += pss;
  }
  const std::string usage = readFile(cgroup / "memory.usage_in_bytes");
  if (!usage.empty()) memory.cgroupBytes = std::stoull(usage);
  return memory;
}

double mean(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) sum += v;
  return values.empty() ? 0 : sum / static_cast<double>(values.size());
}

} // namespace

int main(int argc, char** argv) {
  int count = 100;
  int poolSize = 2;
  std::string jsonPath = "bench/results/density.json";
  CLI::App app{"density: memory per idle Python instance"};
  app.add_option("--instances", count, "idle instances")->check(CLI::PositiveNumber);
  app.add_option("--pool-size", poolSize, "pre-started sandboxes per runtime")->check(CLI::NonNegativeNumber);
  app.add_option("--json", jsonPath, "where the results go");
  CLI11_PARSE(app, argc, argv);
  testing::TempDir dir;
  const auto functions = dir.path() / "functions";
  const auto sandboxes = dir.path() / "sandboxes"; // same file system as the code: hard links
  // Before `caller`, so it outlives the caller thread, which still runs the engine's last events.
  testing::InstanceRecorder observer;
  testing::TaskThread caller;
  engine::SandboxEngineOptions options;
  options.sandboxesDir = sandboxes;
  options.poolSize = poolSize;
  auto made = bench::makeEngine(caller, observer, options);
  if (!made.ok()) {
    std::fprintf(stderr, "%s\n", std::string(made.status().message()).c_str());
    return 1;
  }
  engine::SandboxEngine& engine = **made;
  auto poolFull = [&] {
    return observer.waitUntil(
        [&] { return engine.stemsReady(common::Runtime::kPython3, 128) >= static_cast<size_t>(poolSize); },
        std::chrono::seconds(60));
  };
  if (!poolFull()) {
    std::fprintf(stderr, "the pool did not fill within 60 s\n");
    return 1;
  }

  std::vector<engine::InstanceId> ids;
  for (int i = 0; i < count; ++i) {
    engine::InstanceSpec spec = bench::noopSpec(functions / ("fn-" + std::to_string(i)));
    spec.function = "default/fn-" + std::to_string(i);
    spec.functionId = i + 1;
    std::filesystem::create_directories(spec.codeDir);
    std::ofstream(spec.codeDir / "index.py") << "# fn-" << i << "\ndef handler(event, context):\n    return b''\n";
    ids.push_back(engine.start(spec));
  }
  if (!observer.waitAllStarted(ids, std::chrono::seconds(60) + count * std::chrono::seconds(1))) {
    std::fprintf(stderr, "not every instance reported onReady in time\n");
    return 1;
  }
  int viaPool = 0;
  for (auto id : ids) {
    auto ready = observer.waitStarted(id, bench::kObserverWait);
    if (!ready->ready()) {
      std::fprintf(stderr, "instance %llu did not start: %s\n", static_cast<unsigned long long>(id),
                   ready->message.c_str());
      return 1;
    }
    if (observer.path(id) == engine::StartPath::kStem) ++viaPool;
  }
  // The pool's replacements finish starting, so nothing is mid-start while we measure.
  if (!poolFull()) {
    std::fprintf(stderr, "the pool did not refill within 60 s\n");
    return 1;
  }

  // Every sandbox is a cgroup "<parent>/<sandbox name>". Direct starts are named after their
  // instance ("i-<id>"); a pooled one keeps the name of the stem cell it was, and its per-sandbox
  // code folder (<sandboxesDir>/<name>/code) then holds the function's code, while a stem cell
  // still in the pool has an empty one.
  const std::set<engine::InstanceId> ours(ids.begin(), ids.end());
  const auto parent = std::filesystem::path("/sys/fs/cgroup/memory") / bench::cgroupParent();
  std::vector<SandboxMemory> instances, stems;
  for (const auto& entry : std::filesystem::directory_iterator(parent)) {
    if (!entry.is_directory()) continue;
    SandboxMemory memory = measure(entry.path());
    const auto codeDir = sandboxes / memory.name / "code";
    const bool pooledWithCode = std::filesystem::exists(codeDir) && !std::filesystem::is_empty(codeDir);
    const bool directInstance = !std::filesystem::exists(codeDir) && memory.name.rfind("i-", 0) == 0 &&
                                ours.contains(std::stoull(memory.name.substr(2)));
    memory.isInstance = pooledWithCode || directInstance;
    (memory.isInstance ? instances : stems).push_back(memory);
  }
  if (static_cast<int>(instances.size()) != count) {
    std::fprintf(stderr, "found %zu instance cgroups under %s, expected %d\n", instances.size(), parent.c_str(), count);
    return 1;
  }

  constexpr double kMib = 1024.0;
  std::vector<double> pss, helper, rss, charged, stemPss;
  int processes = 0;
  for (const auto& m : instances) {
    pss.push_back(static_cast<double>(m.pssKib) / kMib);
    helper.push_back(static_cast<double>(m.helperPssKib) / kMib);
    rss.push_back(static_cast<double>(m.rssKib) / kMib);
    charged.push_back(static_cast<double>(m.cgroupBytes) / kMib / kMib);
    processes += m.processes;
  }
  for (const auto& m : stems) stemPss.push_back(static_cast<double>(m.pssKib) / kMib);
  const double meanPss = mean(pss), medianPss = bench::percentile(pss, 0.5);
  const double meanHelper = mean(helper);
  const double fit = 24.0 * 1024.0 / meanPss;

  std::printf("density: %d idle Python instances (128 MiB, distinct functions, %d through the pool, %d direct); "
              "%.1f processes each\n",
              count, viaPool, count - viaPool, static_cast<double>(processes) / count);
  std::printf("PSS per instance: mean %.2f MiB, median %.2f MiB, max %.2f MiB (goal <= 10 MiB: %s)\n", meanPss,
              medianPss, bench::percentile(pss, 1.0), meanPss <= 10 ? "met" : "MISSED");
  std::printf("  of which the sandbox's helper processes (bwrap's or the zygote's A and B): mean %.2f MiB; the "
              "runtime: mean %.2f MiB\n",
              meanHelper, meanPss - meanHelper);
  std::printf("RSS per instance (shared pages counted in full): mean %.2f MiB; memory cgroup charge: mean %.2f MiB\n",
              mean(rss), mean(charged));
  std::printf("instances that fit in 24 GiB by PSS: %.0f\n", fit);
  std::printf("stem cells waiting in the pool meanwhile: %zu, PSS mean %.2f MiB\n", stems.size(), mean(stemPss));

  for (auto id : ids) engine.stop(id, engine::StopMode::kNow);
  if (!observer.waitAllExit(ids, std::chrono::seconds(60))) std::fprintf(stderr, "not every instance exited in time\n");

  std::filesystem::create_directories(std::filesystem::path(jsonPath).parent_path());
  std::ofstream(jsonPath) << "{\n  \"benchmark\": \"density\",\n  \"instances\": " << count
                          << ",\n  \"memory_mb\": 128,\n  \"through_pool\": " << viaPool
                          << ",\n  \"pss_mean_mib\": " << meanPss << ",\n  \"pss_median_mib\": " << medianPss
                          << ",\n  \"pss_max_mib\": " << bench::percentile(pss, 1.0)
                          << ",\n  \"bwrap_helpers_pss_mean_mib\": " << meanHelper
                          << ",\n  \"rss_mean_mib\": " << mean(rss)
                          << ",\n  \"cgroup_charge_mean_mib\": " << mean(charged)
                          << ",\n  \"fit_in_24_gib_by_pss\": " << static_cast<long>(fit)
                          << ",\n  \"stem_cells\": " << stems.size()
                          << ",\n  \"stem_cell_pss_mean_mib\": " << mean(stemPss) << ",\n  \"goal_pss_mib\": 10\n}\n";
  return 0;
}
