// bench/load_generator: an open-loop load generator for surged's InvokeService, and the pure
// bookkeeping it rests on (arrival schedule, percentiles, per-step summaries, the instance CSV).
//
// Open loop: each request is sent at its scheduled time whatever the earlier ones are doing, through
// the callback API, so a slow server cannot slow the arrivals; each latency is measured from the
// scheduled send time, not the actual one, so that a late send counts against the result (no
// coordinated omission).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <absl/base/thread_annotations.h>
#include <grpcpp/grpcpp.h>

#include "common/mutex.h"
#include "surge/v1/invoke.grpc.pb.h"
#include "surge/v1/scaling.grpc.pb.h"

namespace surge::bench {

using Clock = std::chrono::steady_clock;

// A constant arrival rate held for a while.
struct LoadStep {
  double ratePerSecond = 0;
  std::chrono::milliseconds duration{0};
};

// One planned request: when to send it, counted from the start of the run, and its step.
struct Arrival {
  std::chrono::nanoseconds offset{0};
  int step = 0;
};

// Evenly spaced arrivals: step i sends round(rate * duration) requests, the k-th at
// stepStart + k / rate. Steps follow each other without a gap.
std::vector<Arrival> arrivalSchedule(const std::vector<LoadStep>& steps);

// The step that holds `offset` from the start of the run, or -1 past the last step.
int stepAt(const std::vector<LoadStep>& steps, std::chrono::nanoseconds offset);

// Where step `index` starts, counted from the start of the run.
std::chrono::nanoseconds stepStart(const std::vector<LoadStep>& steps, int index);

// Nearest-rank percentile (p in [0, 1]) of `values`; 0 for none.
double percentile(std::vector<double> values, double p);

// What happened to one request.
struct RequestRecord {
  int step = 0;
  std::chrono::nanoseconds offset{0}; // scheduled send time, from the start of the run
  double latencyMs = 0;               // scheduled send time -> completion
  double sendLagMs = 0;               // scheduled -> actual send (the generator's own lateness)
  bool completed = false;             // false: never answered within the drain time
  bool ok = false;                    // RPC OK and no FunctionError
  bool coldStart = false;
  std::string error{}; // the RPC status or the FunctionError type, for failures
};

// One sample of GetScalingStatus.
struct StatusSample {
  double seconds = 0; // from the start of the run
  int step = -1;      // -1: before the first step's start or after the last's end
  uint32_t instances = 0, starting = 0, idle = 0, busy = 0, draining = 0;
  uint32_t inFlight = 0, queueDepth = 0, reservedReady = 0;
};

struct StepSummary {
  int step = 0;
  double ratePerSecond = 0;
  size_t sent = 0, completed = 0, failures = 0, coldStarts = 0;
  double p50Ms = 0, p95Ms = 0, p99Ms = 0, maxMs = 0;
  // P95 over the requests scheduled at least `settle` after the step's start.
  double p95SettledMs = 0;
  size_t settledSamples = 0;
  double maxSendLagMs = 0, p99SendLagMs = 0;
  uint32_t peakQueueDepth = 0, peakInstances = 0, peakInFlight = 0;
  size_t statusSamples = 0;
};

// Latency figures per step from the records (a failure's latency counts too: it is what the
// caller waited), and the peaks of the status samples that fall in each step.
std::vector<StepSummary> summarize(const std::vector<LoadStep>& steps, const std::vector<RequestRecord>& records,
                                   const std::vector<StatusSample>& status, std::chrono::milliseconds settle);

// The samples as CSV with a header line: seconds,step,instances,starting,idle,busy,draining,
// in_flight,queue_depth,reserved_ready.
std::string instancesCsv(const std::vector<StatusSample>& samples);

// One line per request, with a header: scheduled_ms,step,latency_ms,send_lag_ms,completed,ok,
// cold_start,error (commas and newlines in the error become spaces).
std::string recordsCsv(const std::vector<RequestRecord>& records);

// A step list like "50:10,100:10,500:10" (rate per second : seconds). Empty on a parse error.
std::vector<LoadStep> parseSteps(const std::string& text);

// Where and what to invoke.
struct InvokeTarget {
  std::string ns;
  std::string function;
  std::string payload;
  std::string apiKey;
  std::chrono::seconds deadline{30}; // per request
};

// Sends a schedule of Invoke calls open-loop over one or more channels (round-robin).
// Not thread-safe: one run() at a time. With `realtime`, run() sends at SCHED_FIFO priority 1
// (when permitted; threads started meanwhile get the normal policy), so that other load on the
// machine does not bunch the sends.
class OpenLoopGenerator {
public:
  OpenLoopGenerator(std::vector<std::shared_ptr<grpc::Channel>> channels, InvokeTarget target, bool realtime = true);

  // Runs the schedule from `start` (a time in the near future) and returns one record per
  // arrival. Returns when every call has completed, or at most `drain` after the last arrival,
  // when the rest are cancelled (and awaited, bounded) and recorded as not completed.
  std::vector<RequestRecord> run(const std::vector<LoadStep>& steps, Clock::time_point start,
                                 std::chrono::seconds drain = std::chrono::seconds(40));

private:
  struct Call;

  std::vector<std::unique_ptr<v1::InvokeService::Stub>> stubs_;
  InvokeTarget target_;
  bool realtime_;
  common::Mutex mu_;
  common::CondVar allDone_; // outstanding_ reached 0
  size_t outstanding_ ABSL_GUARDED_BY(mu_) = 0;
};

// Polls GetScalingStatus of one function on its own thread every `interval` from construction
// until stop() or destruction. Failed polls are counted, not recorded.
class ScalingPoller {
public:
  ScalingPoller(std::shared_ptr<grpc::Channel> channel, std::string ns, std::string function, std::string apiKey,
                std::vector<LoadStep> steps, Clock::time_point start,
                std::chrono::milliseconds interval = std::chrono::milliseconds(100));
  ~ScalingPoller();
  ScalingPoller(const ScalingPoller&) = delete;
  ScalingPoller& operator=(const ScalingPoller&) = delete;

  void stop();
  // Valid after stop().
  const std::vector<StatusSample>& samples() const { return samples_; }
  int failedPolls() const { return failedPolls_; }
  std::string lastError() const { return lastError_; }

private:
  void loop();

  std::unique_ptr<v1::ScalingService::Stub> stub_;
  std::string ns_, function_, apiKey_;
  std::vector<LoadStep> steps_;
  Clock::time_point start_;
  std::chrono::milliseconds interval_;
  common::Mutex mu_;
  common::CondVar stopped_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<StatusSample> samples_; // written by the thread only, read after it ends
  int failedPolls_ = 0;
  std::string lastError_;
  std::thread thread_;
};

// A context with a deadline and "authorization: Bearer <key>" (none when the key is empty).
std::unique_ptr<grpc::ClientContext> keyedContext(const std::string& apiKey, std::chrono::seconds timeout);

} // namespace surge::bench
