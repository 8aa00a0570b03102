// bench/invoke_e2e: end-to-end Invoke latency and throughput through gRPC with warm no-op Python
// instances (128 MiB), closed loop at 1, 4 and 16 clients, next to a plain gRPC echo service on the
// same machine (the transport's ceiling), measured in the same run with the same clients.
// Goals (issue 7): P50 <= 250 us at 1 client; at 16 clients >= 50% of the echo's throughput, and
// about 10,000 invokes/s.
//
//   build/bench/invoke_e2e [--seconds 5] [--warmup-seconds 1] [--levels 1,4,16] [--max-calls 1000000]
//                          [--channels per-client|shared] [--pool-size N] [--loop-spin-us N]
//                          [--no-python-hop] [--json PATH]
//
// Clients: each client is one OS thread with its own channel (its own TCP connection: the
// channels use a local subchannel pool) making blocking unary calls, one outstanding call each.
// Every call carries the authorization metadata and a 10 s deadline, for both services alike.
// With --channels shared, all clients use one channel instead (one TCP connection, multiplexed).
// The echo server is this program re-executed as a child (--serve-echo), a callback-API server on
// 127.0.0.1:0 with gRPC's defaults, so that it runs in its own process as surged does.
// Two more children split the gap between the echo and surged (bench/python_hop.h): the same server
// forwarding each call to plain Python shims, first as they are, then each in a cgroup with a
// sandbox's limits. The difference between those and surged is surged's own cost.
#include "bench/load_generator.h"
#include "bench/python_hop.h"
#include "support/client.h"
#include "support/function_setup.h"
#include "support/process.h"
#include "support/temp_dir.h"

#include "protos/bench_echo.grpc.pb.h"
#include "surge/v1/invoke.grpc.pb.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

extern char** environ;

namespace {

using namespace surge;
using bench::Clock;

constexpr const char* kNoopHandler = "def handler(event, context):\n    return b''\n";

// --- the echo server (child side) ---

class EchoServer final : public bench::EchoService::CallbackService {
public:
  grpc::ServerUnaryReactor* Invoke(grpc::CallbackServerContext* context, const v1::InvokeRequest* request,
                                   v1::InvokeResponse* response) override {
    // Field for field the size of surged's answer to a no-op: ids, timings, kind and version.
    response->set_result(request->payload());
    response->set_request_id("5f1e2d3c4b5a6978-12");
    response->set_queue_wait_us(21);
    response->set_execution_us(35);
    response->set_billed_ms(1);
    response->set_instance_id("17");
    response->set_instance_kind(v1::RESERVED);
    response->set_version(1);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// What a server child serves: the bare echo, or the Python hop with or without cgroups.
struct ServerChoice {
  int pythonShims = 0;      // 0: the echo
  std::string cgroupParent; // the hop's shims in cgroups under this parent
};

// Serves until stdin closes (the parent ended or closed it). Prints "listening on ADDRESS", then
// the shims' pids for the parent's CPU accounting.
int serveChild(const ServerChoice& choice) {
  EchoServer echo;
  std::unique_ptr<bench::PythonHop> hop;
  if (choice.pythonShims > 0) {
    auto started = bench::PythonHop::start({.instances = choice.pythonShims, .cgroupParent = choice.cgroupParent});
    if (!started.ok()) {
      std::printf("cannot start the Python hop: %s\n", started.status().ToString().c_str());
      return 1;
    }
    hop = std::move(*started);
  }
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(hop ? static_cast<grpc::Service*>(hop.get()) : &echo);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) return 1;
  std::string pids;
  if (hop) {
    for (pid_t pid : hop->pids()) pids += " " + std::to_string(pid);
  }
  std::printf("listening on 127.0.0.1:%d\npids%s\n", port, pids.c_str());
  std::fflush(stdout);
  char buffer[64];
  while (::read(STDIN_FILENO, buffer, sizeof(buffer)) > 0) {
  }
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return 0;
}

// --- the echo server (parent side) ---

class ServerChild {
public:
  explicit ServerChild(const ServerChoice& choice) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    std::vector<std::string> args = {self, "--serve-echo"};
    if (choice.pythonShims > 0) args.insert(args.end(), {"--python-hop", std::to_string(choice.pythonShims)});
    if (!choice.cgroupParent.empty()) args.insert(args.end(), {"--hop-cgroup-parent", choice.cgroupParent});
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, self.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    if (rc != 0) throw std::runtime_error("cannot start the echo server");
    std::string line;
    pollfd fd{out[0], POLLIN, 0};
    // Two lines: the address, and the shims' pids (none for the echo). Shims start in about 30 ms.
    while (std::count(line.begin(), line.end(), '\n') < 2 && ::poll(&fd, 1, 30000) > 0) {
      char buffer[128];
      const ssize_t n = ::read(out[0], buffer, sizeof(buffer));
      if (n <= 0) break;
      line.append(buffer, static_cast<size_t>(n));
    }
    ::close(out[0]);
    const std::string prefix = "listening on ";
    if (line.rfind(prefix, 0) != 0) {
      ::close(stdin_);
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      throw std::runtime_error("the server child did not start: " + line);
    }
    const size_t newline = line.find('\n');
    address_ = line.substr(prefix.size(), newline - prefix.size());
    std::istringstream pids(line.substr(newline + 1));
    std::string word;
    pids >> word; // "pids"
    for (pid_t pid; pids >> pid;) shimPids_.push_back(pid);
  }
  ~ServerChild() {
    ::close(stdin_);
    // Up to 15 s: gRPC's shutdown (2 s), then a hop reaps its shims and removes their cgroups.
    for (int i = 0; i < 150; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100)); // bounded wait for our own child
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  ServerChild(const ServerChild&) = delete;
  ServerChild& operator=(const ServerChild&) = delete;

  const std::string& address() const { return address_; }
  pid_t pid() const { return pid_; }
  // The Python hop's shims; empty for the echo.
  const std::vector<pid_t>& shimPids() const { return shimPids_; }

private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  std::string address_;
  std::vector<pid_t> shimPids_;
};

// --- CPU accounting, to say where the time went ---

// utime + stime of a process, all threads, in seconds.
double processCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
    if (i == 15) break;
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double selfCpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// CPU of every sandbox under the cgroup parent (cgroup v1 cpuacct), and the CFS throttling of
// their cpu cgroups summed; zeros where the files are not there.
struct SandboxCpu {
  double seconds = 0;
  uint64_t throttledPeriods = 0;
  double throttledSeconds = 0;
};

SandboxCpu sandboxCpu(const std::string& cgroupParent) {
  SandboxCpu cpu;
  std::ifstream usage("/sys/fs/cgroup/cpuacct/" + cgroupParent + "/cpuacct.usage");
  uint64_t ns = 0;
  if (usage >> ns) cpu.seconds = static_cast<double>(ns) / 1e9;
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator("/sys/fs/cgroup/cpu/" + cgroupParent, ec)) {
    if (entry.path().filename() != "cpu.stat") continue;
    std::ifstream stat(entry.path());
    std::string key;
    uint64_t value = 0;
    while (stat >> key >> value) {
      if (key == "nr_throttled") cpu.throttledPeriods += value;
      if (key == "throttled_time") cpu.throttledSeconds += static_cast<double>(value) / 1e9;
    }
  }
  return cpu;
}

// --- the closed-loop clients ---

struct LevelResult {
  std::string target;
  int clients = 0;
  size_t calls = 0, failures = 0;
  double seconds = 0, perSecond = 0, p50Us = 0, p90Us = 0, p99Us = 0, maxUs = 0;
  double clientCpu = 0, serverCpu = 0, sandboxCpu = 0, throttledSeconds = 0;
  // What the server reports in InvokeResponse (the echo's are canned): handler time and queue wait.
  double executionP50Us = 0, queueWaitP50Us = 0;
  uint64_t throttledPeriods = 0;
  // Context switches on the whole machine per call (each thread or process wake-up is one).
  double switchesPerCall = 0;
  std::string firstError;
};

// Context switches since boot on the whole machine (/proc/stat "ctxt").
uint64_t machineContextSwitches() {
  std::ifstream in("/proc/stat");
  std::string key;
  uint64_t value = 0;
  while (in >> key) {
    if (key == "ctxt" && (in >> value)) return value;
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

std::shared_ptr<grpc::Channel> ownChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1); // a TCP connection of its own
  args.SetMaxReceiveMessageSize(8 << 20);
  auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return channel;
}

struct RunSettings {
  std::chrono::milliseconds warmup{1000};
  std::chrono::milliseconds measure{5000};
  size_t maxCallsPerClient = 1000000;
  bool sharedChannel = false; // all clients on one channel (one TCP connection) instead of one each
  std::string apiKey;
};

// `clients` threads, each with its own channel and stub, calling Invoke back to back: warm-up
// calls until `warmup` has passed, then timed calls until `measure` has passed (or the count cap).
template <typename Service>
LevelResult closedLoop(const std::string& name, const std::string& address, const std::string& function, int clients,
                       const RunSettings& settings) {
  std::vector<std::unique_ptr<typename Service::Stub>> stubs;
  const auto shared = settings.sharedChannel ? ownChannel(address) : nullptr;
  for (int i = 0; i < clients; ++i) stubs.push_back(Service::NewStub(shared ? shared : ownChannel(address)));
  std::vector<std::vector<double>> latencies(static_cast<size_t>(clients));
  std::vector<std::vector<double>> executions(static_cast<size_t>(clients)), queueWaits(static_cast<size_t>(clients));
  std::vector<size_t> failures(static_cast<size_t>(clients), 0);
  std::vector<std::string> errors(static_cast<size_t>(clients));
  const Clock::time_point begin = Clock::now() + std::chrono::milliseconds(50);
  const Clock::time_point measureFrom = begin + settings.warmup;
  const Clock::time_point measureUntil = measureFrom + settings.measure;
  std::atomic<int64_t> lastEndNs{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      auto& stub = *stubs[static_cast<size_t>(c)];
      auto& mine = latencies[static_cast<size_t>(c)];
      mine.reserve(std::min<size_t>(settings.maxCallsPerClient, 400000));
      v1::InvokeRequest request;
      request.set_function(function);
      std::this_thread::sleep_until(begin);
      for (;;) {
        const Clock::time_point start = Clock::now();
        if (start >= measureUntil || mine.size() >= settings.maxCallsPerClient) break;
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        context.AddMetadata("authorization", "Bearer " + settings.apiKey);
        v1::InvokeResponse response;
        const grpc::Status status = stub.Invoke(&context, request, &response);
        const Clock::time_point end = Clock::now();
        if (start < measureFrom) continue;
        if (!status.ok() || response.has_error()) {
          if (failures[static_cast<size_t>(c)]++ == 0) {
            errors[static_cast<size_t>(c)] = status.ok() ? response.error().type() : status.error_message();
          }
          continue;
        }
        mine.push_back(std::chrono::duration<double, std::micro>(end - start).count());
        executions[static_cast<size_t>(c)].push_back(static_cast<double>(response.execution_us()));
        queueWaits[static_cast<size_t>(c)].push_back(static_cast<double>(response.queue_wait_us()));
        const int64_t endNs = (end - measureFrom).count();
        int64_t seen = lastEndNs.load();
        while (endNs > seen && !lastEndNs.compare_exchange_weak(seen, endNs)) {
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();

  LevelResult result;
  result.target = name;
  result.clients = clients;
  std::vector<double> all;
  for (int c = 0; c < clients; ++c) {
    all.insert(all.end(), latencies[static_cast<size_t>(c)].begin(), latencies[static_cast<size_t>(c)].end());
    result.failures += failures[static_cast<size_t>(c)];
    if (result.firstError.empty()) result.firstError = errors[static_cast<size_t>(c)];
  }
  result.calls = all.size();
  // The window ends when the last timed call ended (a call started before the end may finish after it).
  result.seconds =
      std::max(std::chrono::duration<double>(settings.measure).count(), static_cast<double>(lastEndNs.load()) / 1e9);
  result.perSecond = static_cast<double>(result.calls) / result.seconds;
  std::vector<double> allExecutions, allQueueWaits;
  for (int c = 0; c < clients; ++c) {
    const auto i = static_cast<size_t>(c);
    allExecutions.insert(allExecutions.end(), executions[i].begin(), executions[i].end());
    allQueueWaits.insert(allQueueWaits.end(), queueWaits[i].begin(), queueWaits[i].end());
  }
  result.executionP50Us = bench::percentile(allExecutions, 0.50);
  result.queueWaitP50Us = bench::percentile(allQueueWaits, 0.50);
  result.p50Us = bench::percentile(all, 0.50);
  result.p90Us = bench::percentile(all, 0.90);
  result.p99Us = bench::percentile(all, 0.99);
  result.maxUs = bench::percentile(all, 1.0);
  return result;
}

std::string jsonOf(const LevelResult& r) {
  std::ostringstream out;
  out << "{\"target\": \"" << r.target << "\", \"clients\": " << r.clients << ", \"calls\": " << r.calls
      << ", \"failures\": " << r.failures << ", \"seconds\": " << r.seconds << ", \"per_second\": " << r.perSecond
      << ", \"p50_us\": " << r.p50Us << ", \"p90_us\": " << r.p90Us << ", \"p99_us\": " << r.p99Us
      << ", \"max_us\": " << r.maxUs << ", \"server_execution_p50_us\": " << r.executionP50Us
      << ", \"server_queue_wait_p50_us\": " << r.queueWaitP50Us << ", \"client_cpu_s\": " << r.clientCpu
      << ", \"server_cpu_s\": " << r.serverCpu << ", \"sandbox_cpu_s\": " << r.sandboxCpu
      << ", \"sandbox_throttled_periods\": " << r.throttledPeriods
      << ", \"sandbox_throttled_s\": " << r.throttledSeconds
      << ", \"machine_context_switches_per_call\": " << r.switchesPerCall << "}";
  return out.str();
}

// The servers measured at every level, in this order.
enum class Target { kEcho, kHop, kHopInCgroups, kSurge, kSurgeShared };

struct TargetInfo {
  Target target;
  std::string name;
  const ServerChild* child = nullptr; // null for surged
};

} // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "--serve-echo") == 0) {
    CLI::App child{"invoke_e2e's server child"};
    ServerChoice choice;
    child.add_flag("--serve-echo");
    child.add_option("--python-hop", choice.pythonShims)->check(CLI::PositiveNumber);
    child.add_option("--hop-cgroup-parent", choice.cgroupParent);
    CLI11_PARSE(child, argc, argv);
    return serveChild(choice);
  }
  RunSettings settings;
  std::vector<int> levels = {1, 4, 16};
  std::string jsonPath = "bench/results/invoke_e2e.json";
  double seconds = 5, warmupSeconds = 1;
  std::string channels = "per-client";
  std::optional<uint32_t> poolSize, loopSpinUs;
  bool noHop = false;
  CLI::App app{"invoke_e2e: end-to-end Invoke latency and throughput against a gRPC echo (issue 7)"};
  app.add_option("--seconds", seconds, "measured seconds per level and target")->check(CLI::PositiveNumber);
  app.add_option("--warmup-seconds", warmupSeconds, "warm-up seconds before each")->check(CLI::NonNegativeNumber);
  app.add_option("--levels", levels, "client counts")->delimiter(',')->check(CLI::Range(1, 256));
  app.add_option("--max-calls", settings.maxCallsPerClient, "timed calls per client at most")
      ->check(CLI::PositiveNumber);
  app.add_option("--channels", channels, "a TCP connection per client, or one shared")
      ->check(CLI::IsMember({"per-client", "shared"}));
  app.add_option("--pool-size", poolSize, "surged's --pool-size");
  app.add_option("--loop-spin-us", loopSpinUs, "surged's --loop-spin-us");
  app.add_flag("--no-python-hop", noHop, "skip the two Python-hop servers (bench/python_hop.h)");
  app.add_option("--json", jsonPath, "where the results go");
  CLI11_PARSE(app, argc, argv);
  settings.measure = std::chrono::milliseconds(std::llround(seconds * 1000));
  settings.warmup = std::chrono::milliseconds(std::llround(warmupSeconds * 1000));
  settings.sharedChannel = channels == "shared";
  const int maxLevel = *std::max_element(levels.begin(), levels.end());

  testing::TempDir dir;
  const std::string cgroupParent = "surge-bench-e2e-" + std::to_string(::getpid());
  std::vector<std::string> surgedArgs = {"--cgroup-parent", cgroupParent};
  if (poolSize) surgedArgs.insert(surgedArgs.end(), {"--pool-size", std::to_string(*poolSize)});
  if (loopSpinUs) surgedArgs.insert(surgedArgs.end(), {"--loop-spin-us", std::to_string(*loopSpinUs)});

  std::optional<ServerChild> echoChild;
  // The hops get one shim per client at the top level, as surged gets one instance per client.
  std::optional<ServerChild> hop, hopInCgroups;
  try {
    echoChild.emplace(ServerChoice{});
    if (!noHop) {
      hop.emplace(ServerChoice{.pythonShims = maxLevel, .cgroupParent = ""});
      hopInCgroups.emplace(ServerChoice{.pythonShims = maxLevel, .cgroupParent = cgroupParent + "-hop"});
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "invoke_e2e: %s\n", e.what());
    return 1;
  }
  const ServerChild& echo = *echoChild;
  testing::SurgedProcess surged(dir.path() / "data", surgedArgs);
  settings.apiKey = surged.adminKey();
  auto channel = testing::makeChannel(surged.address());

  // Concurrency 1 with one reserved (warm) instance per client: no call waits for a slot or a start.
  testing::PythonFunction perClient{
      .name = "noop", .code = kNoopHandler, .concurrency = 1, .maxInstances = static_cast<uint32_t>(maxLevel)};
  // For comparison: one reserved instance with a slot per client.
  testing::PythonFunction shared{
      .name = "noop-shared", .code = kNoopHandler, .concurrency = static_cast<uint32_t>(maxLevel), .maxInstances = 1};
  for (const auto* function : {&perClient, &shared}) {
    if (auto status = testing::deployPythonFunction(channel, *function); !status.ok()) {
      std::fprintf(stderr, "%s\n", status.ToString().c_str());
      return 1;
    }
  }
  auto ready = testing::reserveAndWait(channel, perClient.name, static_cast<uint32_t>(maxLevel));
  if (ready.ok()) ready = testing::reserveAndWait(channel, shared.name, 1);
  if (!ready.ok()) {
    std::fprintf(stderr, "%s\n", ready.status().ToString().c_str());
    return 1;
  }
  // The sizes both services send, to show they match.
  size_t surgeResponseBytes = 0;
  {
    auto stub = v1::InvokeService::NewStub(channel);
    v1::InvokeRequest request;
    request.set_function(perClient.name);
    v1::InvokeResponse response;
    auto context = testing::contextWithDeadline();
    if (!stub->Invoke(context.get(), request, &response).ok() || response.cold_start()) {
      std::fprintf(stderr, "the first invoke failed or was a cold start\n");
      return 1;
    }
    surgeResponseBytes = response.ByteSizeLong();
  }
  size_t echoResponseBytes = 0;
  for (const ServerChild* child : std::initializer_list<const ServerChild*>{&echo, hop ? &*hop : nullptr,
                                                                            hopInCgroups ? &*hopInCgroups : nullptr}) {
    if (child == nullptr) continue;
    auto stub = bench::EchoService::NewStub(ownChannel(child->address()));
    v1::InvokeRequest request;
    request.set_function(perClient.name);
    v1::InvokeResponse response;
    auto context = testing::contextWithDeadline();
    if (const grpc::Status status = stub->Invoke(context.get(), request, &response); !status.ok()) {
      std::fprintf(stderr, "the server at %s does not answer: %s\n", child->address().c_str(),
                   status.error_message().c_str());
      return 1;
    }
    echoResponseBytes = std::max(echoResponseBytes, response.ByteSizeLong());
  }
  std::printf("invoke_e2e: surged %s (pid %d), echo %s (pid %d); no-op Python handler, 128 MiB, warm reserved "
              "instances; response %zu bytes (echo %zu)\n",
              surged.address().c_str(), surged.pid(), echo.address().c_str(), echo.pid(), surgeResponseBytes,
              echoResponseBytes);
  std::printf("closed loop, one thread per client, %s, %.1f s warm-up + %.1f s per level\n\n",
              settings.sharedChannel ? "one channel (one TCP connection) shared by all clients"
                                     : "one channel (own TCP connection) per client",
              std::chrono::duration<double>(settings.warmup).count(),
              std::chrono::duration<double>(settings.measure).count());
  std::printf("%-34s %7s %9s %9s %9s %9s %9s %6s %7s %7s %7s %8s %7s\n", "target", "clients", "calls/s", "p50 us",
              "p90 us", "p99 us", "max us", "fail", "cliCPU", "srvCPU", "sbxCPU", "throttl", "cs/call");

  std::vector<TargetInfo> targets = {{Target::kEcho, "grpc echo (ceiling)", &echo}};
  if (hop) {
    targets.push_back({Target::kHop, "echo via Python shim", &*hop});
    targets.push_back({Target::kHopInCgroups, "echo via Python shim in cgroups", &*hopInCgroups});
  }
  targets.push_back({Target::kSurge, "surge, concurrency 1 x " + std::to_string(maxLevel) + " inst"});
  targets.push_back({Target::kSurgeShared, "surge, concurrency " + std::to_string(maxLevel) + " x 1 inst"});

  // CPU of the sandboxes, or of the hop's shims: what runs the handler.
  auto handlerCpu = [&](const TargetInfo& target) {
    SandboxCpu cpu;
    if (target.target == Target::kSurge || target.target == Target::kSurgeShared) return sandboxCpu(cgroupParent);
    if (target.target == Target::kHopInCgroups) return sandboxCpu(cgroupParent + "-hop");
    if (target.child != nullptr) {
      for (pid_t pid : target.child->shimPids()) cpu.seconds += processCpuSeconds(pid);
    }
    return cpu;
  };

  std::map<std::pair<Target, int>, LevelResult> results;
  std::vector<LevelResult> inOrder;
  for (int clients : levels) {
    for (const TargetInfo& target : targets) {
      const bool isSurge = target.child == nullptr;
      const pid_t serverPid = isSurge ? surged.pid() : target.child->pid();
      const double clientBefore = selfCpuSeconds(), serverBefore = processCpuSeconds(serverPid);
      const SandboxCpu handlerBefore = handlerCpu(target);
      const uint64_t switchesBefore = machineContextSwitches();
      LevelResult r =
          !isSurge ? closedLoop<bench::EchoService>(target.name, target.child->address(), "", clients, settings)
                   : closedLoop<v1::InvokeService>(target.name, surged.address(),
                                                   target.target == Target::kSurge ? perClient.name : shared.name,
                                                   clients, settings);
      const SandboxCpu handlerAfter = handlerCpu(target);
      // CPU per second of the level (warm-up included), in cores.
      const double wall = std::chrono::duration<double>(settings.warmup + settings.measure).count();
      r.clientCpu = (selfCpuSeconds() - clientBefore) / wall;
      r.serverCpu = (processCpuSeconds(serverPid) - serverBefore) / wall;
      r.sandboxCpu = (handlerAfter.seconds - handlerBefore.seconds) / wall;
      r.throttledPeriods = handlerAfter.throttledPeriods - handlerBefore.throttledPeriods;
      r.throttledSeconds = handlerAfter.throttledSeconds - handlerBefore.throttledSeconds;
      if (r.perSecond > 0) {
        r.switchesPerCall = static_cast<double>(machineContextSwitches() - switchesBefore) / wall / r.perSecond;
      }
      std::printf("%-34s %7d %9.0f %9.1f %9.1f %9.1f %9.0f %6zu %7.2f %7.2f %7.2f %8lu %7.1f\n", r.target.c_str(),
                  r.clients, r.perSecond, r.p50Us, r.p90Us, r.p99Us, r.maxUs, r.failures, r.clientCpu, r.serverCpu,
                  r.sandboxCpu, static_cast<unsigned long>(r.throttledPeriods), r.switchesPerCall);
      if (r.failures > 0) std::printf("  first failure: %s\n", r.firstError.c_str());
      if (isSurge) {
        std::printf("  as surged reports it: execution P50 %.0f us, queue wait P50 %.0f us\n", r.executionP50Us,
                    r.queueWaitP50Us);
      }
      results[{target.target, clients}] = r;
      inOrder.push_back(r);
    }
  }

  auto find = [&](Target target, int clients) -> const LevelResult* {
    auto it = results.find({target, clients});
    return it == results.end() ? nullptr : &it->second;
  };
  std::printf("\n(cliCPU/srvCPU/sbxCPU: cores used by this client process, by the server process, and by what "
              "runs the handler (surged's sandboxes, the hop's shims); throttl: CFS-throttled periods of the "
              "sandboxes; cs/call: context switches on the whole machine per call, warm-up included)\n");
  std::ostringstream goals;
  bool pass = true;
  auto goal = [&](const std::string& name, double value, double limit, bool met) {
    std::printf("goal %-52s %10.2f vs %8.2f  %s\n", name.c_str(), value, limit, met ? "met" : "MISSED");
    goals << (goals.tellp() > 0 ? ", " : "") << "\n    {\"goal\": \"" << name << "\", \"value\": " << value
          << ", \"limit\": " << limit << ", \"met\": " << (met ? "true" : "false") << "}";
    pass = pass && met;
  };
  std::ostringstream ratios;
  auto ratio = [&](const std::string& name, double value) {
    std::printf("ratio %-51s %10.2f\n", name.c_str(), value);
    ratios << (ratios.tellp() > 0 ? ", " : "") << "\n    {\"ratio\": \"" << name << "\", \"value\": " << value << "}";
  };
  if (const LevelResult* one = find(Target::kSurge, 1))
    goal("P50 at 1 client (us), concurrency 1", one->p50Us, 250, one->p50Us <= 250);
  const LevelResult* echoTop = find(Target::kEcho, maxLevel);
  const LevelResult* surgeTop = find(Target::kSurge, maxLevel);
  if (echoTop && surgeTop) {
    const std::string top = std::to_string(maxLevel) + " clients";
    const double toEcho = surgeTop->perSecond / echoTop->perSecond;
    goal("throughput at " + top + " / echo's", toEcho, 0.5, toEcho >= 0.5);
    goal("throughput at " + top + " (invokes/s)", surgeTop->perSecond, 10000, surgeTop->perSecond >= 10000);
    if (const LevelResult* hopTop = find(Target::kHop, maxLevel)) {
      const LevelResult& inCgroups = *find(Target::kHopInCgroups, maxLevel);
      ratio("at " + top + ": echo via Python shim / echo", hopTop->perSecond / echoTop->perSecond);
      ratio("at " + top + ": echo via shim in cgroups / echo", inCgroups.perSecond / echoTop->perSecond);
      ratio("at " + top + ": surge / echo via shim in cgroups", surgeTop->perSecond / inCgroups.perSecond);
    }
    const LevelResult& sharedTop = *find(Target::kSurgeShared, maxLevel);
    std::printf("(one instance at concurrency %d: %.0f invokes/s, %.2f of the echo)\n", maxLevel, sharedTop.perSecond,
                sharedTop.perSecond / echoTop->perSecond);
  }

  std::filesystem::create_directories(std::filesystem::path(jsonPath).parent_path());
  std::ofstream json(jsonPath);
  json << "{\n  \"benchmark\": \"invoke_e2e\",\n  \"handler\": \"python no-op (return b'')\",\n  \"memory_mb\": 128"
       << ",\n  \"clients\": \"one thread each, blocking unary calls\""
       << ",\n  \"channels\": \"" << (settings.sharedChannel ? "one shared" : "one per client") << "\""
       << ",\n  \"warmup_s\": " << std::chrono::duration<double>(settings.warmup).count()
       << ",\n  \"measure_s\": " << std::chrono::duration<double>(settings.measure).count()
       << ",\n  \"response_bytes\": " << surgeResponseBytes << ",\n  \"echo_response_bytes\": " << echoResponseBytes
       << ",\n  \"levels\": [";
  for (size_t i = 0; i < inOrder.size(); ++i) json << (i ? ", " : "") << "\n    " << jsonOf(inOrder[i]);
  json << "],\n  \"goals\": [" << goals.str() << "],\n  \"ratios\": [" << ratios.str()
       << "],\n  \"pass\": " << (pass ? "true" : "false") << "\n}\n";
  std::printf("results written to %s\n", jsonPath.c_str());
  return 0;
}
