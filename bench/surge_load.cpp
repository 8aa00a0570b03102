// bench/surge_load: open-loop load on one function of a surged, with the queue depth and the
// instance count polled alongside. Two modes:
//
// As a tool, against any surged (the key from --key or SURGE_API_KEY):
//   build/bench/surge_load --server ADDR --function NAME (--rate R --duration S | --steps R:S,R:S...)
//                          [--namespace NS] [--payload TEXT] [--channels N] [--csv PATH] [--json PATH]
//                          [--records PATH] [--realtime 0|1]
//
// As a benchmark (no --server; issue 7): starts its own surged, deploys a Python handler that
// sleeps 20 ms (128 MiB, concurrency 1, max_instances 100, max_queue_length 1000) and runs
// L = 50/s for 10 s, then 2L for 10 s, then 10L for 10 s, twice: on demand from no instances, then
// on a second function with 12 reserved instances ready. Goals: P95 at 2L <= 1.2 x P95 at L,
// no failed request, P99 at 10L <= 100 ms; with reserved capacity, no cold start.
//   build/bench/surge_load [--base-rate 50] [--step-seconds 10] [--reserved 12] [--pool-size N]
//                          [--scenario steps|reserved|both] [--json PATH] [--csv PATH] [--records PATH]
//                          [--realtime 0|1]
// The sender runs at SCHED_FIFO priority 1 unless --realtime 0 (see OpenLoopGenerator);
// --records writes one CSV line per request.
#include "bench/load_generator.h"
#include "support/client.h"
#include "support/function_setup.h"
#include "support/process.h"
#include "support/temp_dir.h"

#include <sys/prctl.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

namespace {

using namespace surge;
using bench::LoadStep;
using bench::StepSummary;

constexpr const char* kSleepHandler = R"py(import time

def handler(event, context):
    time.sleep(0.02)
    return b''
)py";

// The P95 of a step is taken from this long after the step's start, so that it describes the
// rate held rather than the scale-out at the step's edge.
constexpr std::chrono::milliseconds kSettle{1000};

struct Options {
  std::string server, function, ns, payload, key, steps;
  double rate = 0, duration = 0;
  int channels = 2;
  bool realtime = true;
  std::string json, csv, records;
  double baseRate = 50;
  double stepSeconds = 10;
  uint32_t reserved = 12;
  std::optional<int> poolSize;
  std::string scenario = "both";
};

struct ScenarioResult {
  std::string name;
  std::vector<LoadStep> steps;
  std::vector<StepSummary> summaries;
  std::vector<bench::StatusSample> samples;
  int failedPolls = 0;
  std::map<std::string, int> errors;
  std::vector<bench::RequestRecord> records;
};

std::vector<std::shared_ptr<grpc::Channel>> makeChannels(const std::string& address, int count) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    // Each channel its own TCP connection: channels with equal arguments would share a subchannel.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetMaxReceiveMessageSize(8 << 20);
    channels.push_back(grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
  }
  return channels;
}

ScenarioResult runLoad(const std::string& name, const std::string& address, const bench::InvokeTarget& target,
                       const std::vector<LoadStep>& steps, int channelCount, bool realtime) {
  ScenarioResult result;
  result.name = name;
  result.steps = steps;
  auto channels = makeChannels(address, channelCount);
  for (auto& channel : channels) channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5));
  bench::OpenLoopGenerator generator(channels, target, realtime);
  const auto start = bench::Clock::now() + std::chrono::milliseconds(200);
  bench::ScalingPoller poller(makeChannels(address, 1).front(), target.ns, target.function, target.apiKey, steps,
                              start);
  const std::vector<bench::RequestRecord> records = generator.run(steps, start);
  poller.stop();
  result.samples = poller.samples();
  result.failedPolls = poller.failedPolls();
  if (result.failedPolls > 0) {
    std::fprintf(stderr, "%s: %d GetScalingStatus polls failed, last: %s\n", name.c_str(), result.failedPolls,
                 poller.lastError().c_str());
  }
  for (const auto& r : records) {
    if (!r.ok) ++result.errors[r.completed ? r.error : "not completed"];
  }
  result.summaries = bench::summarize(steps, records, result.samples, kSettle);
  result.records = records;
  return result;
}

void print(const ScenarioResult& result) {
  std::printf("\n%s\n", result.name.c_str());
  std::printf("%8s %6s %6s %5s %5s %8s %8s %12s %8s %8s %6s %7s %8s\n", "rate/s", "sent", "failed", "cold", "peakQ",
              "peakInst", "p50 ms", "p95(>1s) ms", "p95 ms", "p99 ms", "max ms", "lag99", "lagMax");
  for (const StepSummary& s : result.summaries) {
    std::printf("%8.0f %6zu %6zu %5zu %5u %8u %8.2f %12.2f %8.2f %8.2f %6.1f %7.2f %8.2f\n", s.ratePerSecond, s.sent,
                s.failures, s.coldStarts, s.peakQueueDepth, s.peakInstances, s.p50Ms, s.p95SettledMs, s.p95Ms, s.p99Ms,
                s.maxMs, s.p99SendLagMs, s.maxSendLagMs);
  }
  for (const auto& [error, count] : result.errors) std::printf("  failure x%d: %s\n", count, error.c_str());
}

std::string jsonOf(const ScenarioResult& result) {
  std::ostringstream out;
  out << "{\"name\": \"" << result.name << "\", \"failed_polls\": " << result.failedPolls << ", \"steps\": [";
  for (size_t i = 0; i < result.summaries.size(); ++i) {
    const StepSummary& s = result.summaries[i];
    out << (i ? ", " : "") << "\n    {\"rate_per_s\": " << s.ratePerSecond
        << ", \"seconds\": " << std::chrono::duration<double>(result.steps[i].duration).count()
        << ", \"sent\": " << s.sent << ", \"completed\": " << s.completed << ", \"failures\": " << s.failures
        << ", \"cold_starts\": " << s.coldStarts << ", \"p50_ms\": " << s.p50Ms << ", \"p95_ms\": " << s.p95Ms
        << ", \"p95_from_1s_ms\": " << s.p95SettledMs << ", \"p99_ms\": " << s.p99Ms << ", \"max_ms\": " << s.maxMs
        << ", \"peak_queue_depth\": " << s.peakQueueDepth << ", \"peak_instances\": " << s.peakInstances
        << ", \"peak_in_flight\": " << s.peakInFlight << ", \"status_samples\": " << s.statusSamples
        << ", \"send_lag_p99_ms\": " << s.p99SendLagMs << ", \"send_lag_max_ms\": " << s.maxSendLagMs << "}";
  }
  out << "]}";
  return out.str();
}

void writeFile(const std::string& path, const std::string& content) {
  const std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << content;
}

int usage() {
  std::fprintf(stderr,
               "usage: surge_load --server ADDR --function NAME (--rate R --duration S | --steps R:S,...)\n"
               "                  [--namespace NS] [--payload TEXT] [--key KEY] [--channels N] [--csv PATH] "
               "[--json PATH]\n"
               "                  [--realtime 0|1] [--records PATH]\n"
               "   or: surge_load [--base-rate 50] [--step-seconds 10] [--reserved 12] [--pool-size N]\n"
               "                  [--scenario steps|reserved|both] [--realtime 0|1] [--json PATH] [--csv PATH]\n"
               "                  [--records PATH]\n");
  return 2;
}

int runTool(const Options& options) {
  std::vector<LoadStep> steps =
      options.steps.empty()
          ? std::vector<LoadStep>{{options.rate,
                                   std::chrono::milliseconds(static_cast<int64_t>(options.duration * 1000))}}
          : bench::parseSteps(options.steps);
  if (steps.empty() || !(steps.front().ratePerSecond > 0) || steps.front().duration.count() <= 0) return usage();
  size_t total = 0;
  for (const auto& s : steps) total += static_cast<size_t>(s.ratePerSecond * s.duration.count() / 1000.0);
  if (total > 500000) {
    std::fprintf(stderr, "surge_load: %zu requests is over the limit of 500000 per run\n", total);
    return 2;
  }
  std::string key = options.key;
  if (key.empty() && std::getenv("SURGE_API_KEY")) key = std::getenv("SURGE_API_KEY");
  bench::InvokeTarget target{options.ns, options.function, options.payload, key, std::chrono::seconds(30)};
  const ScenarioResult result = runLoad("surge_load " + options.server + " " + options.function, options.server, target,
                                        steps, options.channels, options.realtime);
  print(result);
  if (!options.csv.empty()) writeFile(options.csv, bench::instancesCsv(result.samples));
  if (!options.json.empty()) writeFile(options.json, jsonOf(result) + "\n");
  if (!options.records.empty()) writeFile(options.records, bench::recordsCsv(result.records));
  size_t failures = 0;
  for (const auto& s : result.summaries) failures += s.failures;
  return failures == 0 ? 0 : 1;
}

int runBenchmark(const Options& options) {
  const std::string json = options.json.empty() ? "bench/results/surge_load.json" : options.json;
  const std::string csv = options.csv.empty() ? "bench/results/surge_instances.csv" : options.csv;
  const auto stepLength = std::chrono::milliseconds(static_cast<int64_t>(options.stepSeconds * 1000));
  const double L = options.baseRate;
  const std::vector<LoadStep> steps = {{L, stepLength}, {2 * L, stepLength}, {10 * L, stepLength}};

  testing::TempDir dir;
  std::vector<std::string> args;
  if (options.poolSize) args = {"--pool-size", std::to_string(*options.poolSize)};
  testing::SurgedProcess surged(dir.path() / "data", args);
  auto channel = testing::makeChannel(surged.address());
  std::printf("surge_load: surged %s (pid %d)%s; handler sleeps 20 ms, 128 MiB, concurrency 1, max_instances 100, "
              "max_queue_length 1000\n",
              surged.address().c_str(), surged.pid(),
              options.poolSize ? (" --pool-size " + std::to_string(*options.poolSize)).c_str() : "");

  std::vector<ScenarioResult> results;
  const bool runSteps = options.scenario == "both" || options.scenario == "steps";
  const bool runReserved = options.scenario == "both" || options.scenario == "reserved";
  if (runSteps) {
    testing::PythonFunction function{.name = "sleep20", .code = kSleepHandler};
    if (auto status = testing::deployPythonFunction(channel, function); !status.ok()) {
      std::fprintf(stderr, "%s\n", status.ToString().c_str());
      return 1;
    }
    bench::InvokeTarget target{"", function.name, "", surged.adminKey(), std::chrono::seconds(30)};
    results.push_back(runLoad("on demand, from no instances: L, 2L, 10L", surged.address(), target, steps,
                              options.channels, options.realtime));
    print(results.back());
    writeFile(csv, bench::instancesCsv(results.back().samples));
    if (!options.records.empty()) writeFile(options.records, bench::recordsCsv(results.back().records));
  }
  if (runReserved) {
    testing::PythonFunction function{.name = "sleep20-reserved", .code = kSleepHandler};
    if (auto status = testing::deployPythonFunction(channel, function); !status.ok()) {
      std::fprintf(stderr, "%s\n", status.ToString().c_str());
      return 1;
    }
    const auto reservedStart = bench::Clock::now();
    auto ready = testing::reserveAndWait(channel, function.name, options.reserved);
    if (!ready.ok()) {
      std::fprintf(stderr, "%s\n", ready.status().ToString().c_str());
      return 1;
    }
    std::printf("\n%u reserved instances ready in %.2f s\n", options.reserved,
                std::chrono::duration<double>(bench::Clock::now() - reservedStart).count());
    bench::InvokeTarget target{"", function.name, "", surged.adminKey(), std::chrono::seconds(30)};
    results.push_back(runLoad("reserved " + std::to_string(options.reserved) + " ready: L, 2L, 10L", surged.address(),
                              target, steps, options.channels, options.realtime));
    print(results.back());
    const std::filesystem::path reservedCsv =
        std::filesystem::path(csv).replace_filename(std::filesystem::path(csv).stem().string() + "_reserved.csv");
    writeFile(reservedCsv.string(), bench::instancesCsv(results.back().samples));
    if (!options.records.empty()) {
      const std::filesystem::path path(options.records);
      writeFile(std::filesystem::path(path).replace_filename(path.stem().string() + "_reserved.csv").string(),
                bench::recordsCsv(results.back().records));
    }
  }

  // Goals.
  std::ostringstream goals;
  bool pass = true;
  auto goal = [&](const char* name, double value, double limit, bool met) {
    std::printf("goal %-40s %10.2f vs %8.2f  %s\n", name, value, limit, met ? "met" : "MISSED");
    goals << (goals.tellp() > 0 ? ", " : "") << "\n    {\"goal\": \"" << name << "\", \"value\": " << value
          << ", \"limit\": " << limit << ", \"met\": " << (met ? "true" : "false") << "}";
    pass = pass && met;
  };
  std::printf("\n");
  if (runSteps) {
    const auto& s = results.front().summaries;
    const double ratio = s[0].p95SettledMs > 0 ? s[1].p95SettledMs / s[0].p95SettledMs : 0;
    goal("p95(from 1 s) at 2L / at L", ratio, 1.2, ratio <= 1.2);
    goal("p99 at 10L (ms)", s[2].p99Ms, 100, s[2].p99Ms <= 100);
  }
  size_t failures = 0;
  for (const auto& r : results) {
    for (const auto& s : r.summaries) failures += s.failures;
  }
  goal("failed requests (all steps)", static_cast<double>(failures), 0, failures == 0);
  if (runReserved) {
    size_t cold = 0;
    for (const auto& s : results.back().summaries) cold += s.coldStarts;
    goal("cold starts with reserved capacity", static_cast<double>(cold), 0, cold == 0);
  }

  std::ostringstream out;
  out << "{\n  \"benchmark\": \"surge_load\",\n  \"base_rate_per_s\": " << L
      << ",\n  \"step_seconds\": " << options.stepSeconds << ",\n  \"handler\": \"python sleep 20 ms\""
      << ",\n  \"memory_mb\": 128,\n  \"instance_concurrency\": 1,\n  \"max_instances\": 100"
      << ",\n  \"max_queue_length\": 1000,\n  \"reserved\": " << options.reserved
      << ",\n  \"pool_size\": " << (options.poolSize ? std::to_string(*options.poolSize) : "\"default\"")
      << ",\n  \"channels\": " << options.channels
      << ",\n  \"realtime_sender\": " << (options.realtime ? "true" : "false") << ",\n  \"scenarios\": [";
  for (size_t i = 0; i < results.size(); ++i) out << (i ? ", " : "") << "\n  " << jsonOf(results[i]);
  out << "],\n  \"goals\": [" << goals.str() << "],\n  \"pass\": " << (pass ? "true" : "false") << "\n}\n";
  writeFile(json, out.str());
  std::printf("results written to %s and %s\n", json.c_str(), csv.c_str());
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  // Sleeps to the scheduled send times should end on time, not up to 50 us late.
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  Options options;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return usage();
    const std::string value = argv[i + 1];
    try {
      if (flag == "--server")
        options.server = value;
      else if (flag == "--function")
        options.function = value;
      else if (flag == "--namespace")
        options.ns = value;
      else if (flag == "--payload")
        options.payload = value;
      else if (flag == "--key")
        options.key = value;
      else if (flag == "--rate")
        options.rate = std::stod(value);
      else if (flag == "--duration")
        options.duration = std::stod(value);
      else if (flag == "--steps")
        options.steps = value;
      else if (flag == "--channels")
        options.channels = std::max(1, std::stoi(value));
      else if (flag == "--json")
        options.json = value;
      else if (flag == "--csv")
        options.csv = value;
      else if (flag == "--records")
        options.records = value;
      else if (flag == "--base-rate")
        options.baseRate = std::stod(value);
      else if (flag == "--step-seconds")
        options.stepSeconds = std::stod(value);
      else if (flag == "--reserved")
        options.reserved = static_cast<uint32_t>(std::stoul(value));
      else if (flag == "--pool-size")
        options.poolSize = std::stoi(value);
      else if (flag == "--scenario")
        options.scenario = value;
      else if (flag == "--realtime")
        options.realtime = value != "0";
      else
        return usage();
    } catch (const std::exception&) {
      return usage();
    }
  }
  if (!options.server.empty()) {
    if (options.function.empty()) return usage();
    return runTool(options);
  }
  if (options.scenario != "both" && options.scenario != "steps" && options.scenario != "reserved") return usage();
  if (!(options.baseRate > 0) || !(options.stepSeconds > 0) || options.baseRate * options.stepSeconds * 13 > 500000) {
    return usage();
  }
  return runBenchmark(options);
}
