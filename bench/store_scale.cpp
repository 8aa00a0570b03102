// bench/store_scale: creates N functions (default 10,000) through the API of a real surged,
// then times ListFunctions pages of 100 and reads surged's resident memory.
// Goals (issue 2): a page in < 50 ms, RSS < 150 MiB.
//
//   build/bench/store_scale [--functions N] [--pages N] [--json PATH]
#include "support/client.h"
#include "support/process.h"
#include "support/temp_dir.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using surge::testing::contextWithDeadline;

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(p * static_cast<double>(values.size())));
  return values[index];
}

// A /proc/<pid>/status field in KiB, e.g. VmRSS or VmHWM.
long statusKib(pid_t pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::strlen(field) + 1));
  }
  return -1;
}

} // namespace

int main(int argc, char** argv) {
  int functionCount = 10000;
  int pageSamples = 200;
  std::string jsonPath = "bench/results/store_scale.json";
  CLI::App app{"store_scale: the function store with many functions"};
  app.add_option("--functions", functionCount, "functions created")->check(CLI::PositiveNumber);
  app.add_option("--pages", pageSamples, "list pages timed")->check(CLI::PositiveNumber);
  app.add_option("--json", jsonPath, "where the results go");
  CLI11_PARSE(app, argc, argv);

  surge::testing::TempDir dir;
  surge::testing::SurgedProcess surged(dir.path() / "data");
  const long rssIdleKib = statusKib(surged.pid(), "VmRSS:");
  auto channel = surge::testing::makeChannel(surged.address());

  // Create the functions from 4 client threads.
  const auto createStart = Clock::now();
  std::atomic<int> next{0}, failures{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      auto stub = surge::v1::FunctionService::NewStub(channel);
      for (int i = next++; i < functionCount; i = next++) {
        surge::v1::CreateFunctionRequest request;
        char name[32];
        std::snprintf(name, sizeof(name), "fn-%05d", i);
        request.set_name(name);
        request.mutable_config()->set_runtime(surge::v1::RUNTIME_PYTHON3);
        request.mutable_config()->set_handler("index.handler");
        (*request.mutable_config()->mutable_environment())["STAGE"] = "bench";
        surge::v1::Function function;
        auto context = contextWithDeadline();
        if (!stub->CreateFunction(context.get(), request, &function).ok()) ++failures;
      }
    });
  }
  for (auto& client : clients) client.join();
  const double createSeconds = std::chrono::duration<double>(Clock::now() - createStart).count();
  if (failures > 0) {
    std::fprintf(stderr, "%d creates failed\n", failures.load());
    return 1;
  }

  // Time pages of 100: walk the whole list by page token, round-robin, until enough samples.
  auto stub = surge::v1::FunctionService::NewStub(channel);
  std::vector<double> pageMs;
  std::string token;
  while (static_cast<int>(pageMs.size()) < pageSamples) {
    surge::v1::ListFunctionsRequest request;
    request.set_page_size(100);
    request.set_page_token(token);
    surge::v1::ListFunctionsResponse response;
    auto context = contextWithDeadline();
    const auto start = Clock::now();
    const grpc::Status status = stub->ListFunctions(context.get(), request, &response);
    pageMs.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (!status.ok() || (response.functions_size() != 100 && !response.next_page_token().empty())) {
      std::fprintf(stderr, "ListFunctions failed: %s\n", status.error_message().c_str());
      return 1;
    }
    token = response.next_page_token();
  }
  const long rssKib = statusKib(surged.pid(), "VmRSS:");
  const long peakKib = statusKib(surged.pid(), "VmHWM:");

  const double p50 = percentile(pageMs, 0.50), p99 = percentile(pageMs, 0.99), max = percentile(pageMs, 1.0);
  std::printf("store_scale: %d functions created in %.1f s (%.0f creates/s, 4 clients)\n", functionCount, createSeconds,
              functionCount / createSeconds);
  std::printf("ListFunctions page of 100 over %d samples: p50 %.2f ms, p99 %.2f ms, max %.2f ms (goal < 50 ms)\n",
              pageSamples, p50, p99, max);
  std::printf("surged RSS: %.1f MiB idle at start, %.1f MiB after (peak %.1f MiB) (goal < 150 MiB)\n",
              rssIdleKib / 1024.0, rssKib / 1024.0, peakKib / 1024.0);

  std::filesystem::create_directories(std::filesystem::path(jsonPath).parent_path());
  std::ofstream json(jsonPath);
  json << "{\n  \"benchmark\": \"store_scale\",\n"
       << "  \"functions\": " << functionCount << ",\n"
       << "  \"create_seconds\": " << createSeconds << ",\n"
       << "  \"page_size\": 100,\n  \"page_samples\": " << pageSamples << ",\n"
       << "  \"page_ms_p50\": " << p50 << ",\n  \"page_ms_p99\": " << p99 << ",\n  \"page_ms_max\": " << max << ",\n"
       << "  \"rss_mib_start\": " << rssIdleKib / 1024.0 << ",\n  \"rss_mib\": " << rssKib / 1024.0 << ",\n"
       << "  \"rss_mib_peak\": " << peakKib / 1024.0 << ",\n"
       << "  \"goals\": {\"page_ms\": 50, \"rss_mib\": 150},\n"
       << "  \"pass\": " << ((max < 50 && peakKib / 1024.0 < 150) ? "true" : "false") << "\n}\n";
  std::printf("results written to %s\n", jsonPath.c_str());
  return 0;
}
