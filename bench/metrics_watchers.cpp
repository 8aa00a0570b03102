// bench/metrics_watchers: what WatchMetrics watchers cost surged. A real surged serves N no-op
// Python functions, each invoked once a second, so that every second's snapshot carries N
// functions and the server's totals. For 0, 1 and 100 watchers (each on its own connection, as
// consoles are) the bench reads surged's CPU time (/proc/PID/stat, user + system) over a window,
// after every watcher has read its 5-minute backlog and a live second. The extra CPU per second
// with 100 watchers against 1 is the figure the metrics issue asks for.
//
//   build/bench/metrics_watchers [--functions 20] [--seconds 10] [--watchers 0,1,100] [--json PATH]
#include "support/client.h"
#include "support/function_setup.h"
#include "support/process.h"
#include "support/temp_dir.h"

#include "surge/v1/invoke.grpc.pb.h"
#include "surge/v1/metrics.grpc.pb.h"

#include <CLI/CLI.hpp>
#include <absl/strings/str_format.h>
#include <absl/strings/str_join.h>
#include <absl/time/clock.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

namespace {

using namespace surge;

// surged's CPU time so far (user + system), in milliseconds.
double cpuMillis(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  // Fields after the command's closing parenthesis: state is field 3; utime 14, stime 15.
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) * 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// One watcher: its own channel and a thread that reads everything until cancelled.
class Watcher {
public:
  explicit Watcher(const std::string& address)
      : stub_(v1::MetricsService::NewStub(testing::makeChannel(address))),
        context_(testing::contextWithDeadline(std::chrono::seconds(3600))) {
    stream_ = stub_->WatchMetrics(context_.get(), v1::WatchMetricsRequest());
    thread_ = std::thread([this] {
      v1::MetricsSnapshot snapshot;
      const int64_t opened = absl::ToUnixSeconds(absl::Now());
      while (stream_->Read(&snapshot)) {
        if (snapshot.time().seconds() > opened) live_ = true;
      }
    });
  }
  ~Watcher() {
    context_->TryCancel();
    thread_.join();
    stream_->Finish();
  }
  bool live() const { return live_; }

private:
  std::unique_ptr<v1::MetricsService::Stub> stub_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReader<v1::MetricsSnapshot>> stream_;
  std::atomic<bool> live_{false};
  std::thread thread_;
};

} // namespace

int main(int argc, char** argv) {
  CLI::App app("What WatchMetrics watchers cost surged");
  int functions = 20;
  int seconds = 10;
  std::vector<int> levels = {0, 1, 100};
  std::string jsonPath = "bench/results/metrics_watchers.json";
  app.add_option("--functions", functions, "functions invoked once a second")->check(CLI::Range(1, 500));
  app.add_option("--seconds", seconds, "measured window per level")->check(CLI::Range(1, 600));
  app.add_option("--watchers", levels, "watcher counts to measure")->delimiter(',');
  app.add_option("--json", jsonPath, "where the results go");
  CLI11_PARSE(app, argc, argv);

  testing::TempDir dir;
  testing::SurgedProcess surged(dir.path() / "data");
  auto channel = testing::makeChannel(surged.address());
  std::vector<std::string> names;
  for (int i = 0; i < functions; ++i) {
    names.push_back(absl::StrFormat("fn-%03d", i));
    testing::PythonFunction function;
    function.name = names.back();
    function.code = "def handler(event, context):\n    return b''\n";
    if (auto status = testing::deployPythonFunction(channel, function); !status.ok()) {
      std::cerr << "metrics_watchers: deploying " << function.name << ": " << status << "\n";
      return 1;
    }
  }
  // The traffic: every function once a second, for as long as the bench runs.
  std::atomic<bool> stop{false};
  std::thread traffic([&] {
    auto invoke = v1::InvokeService::NewStub(channel);
    auto next = std::chrono::steady_clock::now();
    while (!stop) {
      for (const std::string& name : names) {
        v1::InvokeRequest request;
        request.set_function(name);
        v1::InvokeResponse response;
        auto context = testing::contextWithDeadline();
        invoke->Invoke(context.get(), request, &response);
      }
      next += std::chrono::seconds(1);
      std::this_thread::sleep_until(next);
    }
  });

  std::vector<double> perSecond;
  std::cout << "functions " << functions << ", window " << seconds << " s per level\n";
  std::cout << absl::StrFormat("%10s %22s\n", "watchers", "surged CPU ms per s");
  for (int level : levels) {
    std::vector<std::unique_ptr<Watcher>> watchers;
    for (int i = 0; i < level; ++i) watchers.push_back(std::make_unique<Watcher>(surged.address()));
    // Every watcher past its backlog (bounded): the window measures the steady state only.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    auto allLive = [&] {
      for (const auto& watcher : watchers) {
        if (!watcher->live()) return false;
      }
      return true;
    };
    while (!allLive() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50)); // poll interval, bounded above
    }
    if (!allLive()) {
      std::cerr << "metrics_watchers: " << level << " watchers did not all reach a live second within 60 s\n";
      stop = true;
      traffic.join();
      return 1;
    }
    const double before = cpuMillis(surged.pid());
    const auto start = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(seconds)); // the measured window itself
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    perSecond.push_back((cpuMillis(surged.pid()) - before) / elapsed);
    std::cout << absl::StrFormat("%10d %22.2f\n", level, perSecond.back());
  }
  stop = true;
  traffic.join();

  std::filesystem::create_directories(std::filesystem::path(jsonPath).parent_path());
  std::ofstream(jsonPath) << "{\n  \"benchmark\": \"metrics_watchers\",\n  \"functions\": " << functions
                          << ",\n  \"window_seconds\": " << seconds << ",\n  \"watchers\": ["
                          << absl::StrJoin(levels, ", ") << "],\n  \"surged_cpu_ms_per_second\": ["
                          << absl::StrJoin(perSecond, ", ",
                                           [](std::string* out, double v) { absl::StrAppendFormat(out, "%.3f", v); })
                          << "]\n}\n";
  return 0;
}
