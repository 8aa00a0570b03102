// bench/load_generator: the open-loop Invoke generator, the scaling poller, and their bookkeeping.
#include "bench/load_generator.h"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace surge::bench {
namespace {

double millisecondsBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

} // namespace

std::vector<Arrival> arrivalSchedule(const std::vector<LoadStep>& steps) {
  std::vector<Arrival> arrivals;
  std::chrono::nanoseconds begin{0};
  for (int i = 0; i < static_cast<int>(steps.size()); ++i) {
    const LoadStep& step = steps[static_cast<size_t>(i)];
    const double seconds = std::chrono::duration<double>(step.duration).count();
    const auto count = static_cast<int64_t>(std::llround(step.ratePerSecond * seconds));
    for (int64_t k = 0; k < count; ++k) {
      const auto offset =
          std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(k) * 1e9 / step.ratePerSecond));
      arrivals.push_back({begin + offset, i});
    }
    begin += step.duration;
  }
  return arrivals;
}

std::chrono::nanoseconds stepStart(const std::vector<LoadStep>& steps, int index) {
  std::chrono::nanoseconds begin{0};
  for (int i = 0; i < index && i < static_cast<int>(steps.size()); ++i) begin += steps[static_cast<size_t>(i)].duration;
  return begin;
}

int stepAt(const std::vector<LoadStep>& steps, std::chrono::nanoseconds offset) {
  if (offset < std::chrono::nanoseconds(0)) return -1;
  std::chrono::nanoseconds end{0};
  for (int i = 0; i < static_cast<int>(steps.size()); ++i) {
    end += steps[static_cast<size_t>(i)].duration;
    if (offset < end) return i;
  }
  return -1;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  // Nearest rank: the smallest value with at least p of the values at or below it.
  const double rank = std::ceil(p * static_cast<double>(values.size()));
  const size_t index = rank <= 1 ? 0 : std::min(values.size() - 1, static_cast<size_t>(rank) - 1);
  return values[index];
}

std::vector<StepSummary> summarize(const std::vector<LoadStep>& steps, const std::vector<RequestRecord>& records,
                                   const std::vector<StatusSample>& status, std::chrono::milliseconds settle) {
  std::vector<StepSummary> summaries;
  for (int i = 0; i < static_cast<int>(steps.size()); ++i) {
    StepSummary s;
    s.step = i;
    s.ratePerSecond = steps[static_cast<size_t>(i)].ratePerSecond;
    const auto settledFrom = stepStart(steps, i) + settle;
    std::vector<double> all, settled, lag;
    for (const RequestRecord& r : records) {
      if (r.step != i) continue;
      ++s.sent;
      lag.push_back(r.sendLagMs);
      if (!r.ok) ++s.failures;
      if (!r.completed) continue;
      ++s.completed;
      if (r.coldStart) ++s.coldStarts;
      all.push_back(r.latencyMs);
      if (r.offset >= settledFrom) settled.push_back(r.latencyMs);
    }
    s.p50Ms = percentile(all, 0.50);
    s.p95Ms = percentile(all, 0.95);
    s.p99Ms = percentile(all, 0.99);
    s.maxMs = percentile(all, 1.0);
    s.p95SettledMs = percentile(settled, 0.95);
    s.settledSamples = settled.size();
    s.maxSendLagMs = percentile(lag, 1.0);
    s.p99SendLagMs = percentile(lag, 0.99);
    for (const StatusSample& sample : status) {
      if (sample.step != i) continue;
      ++s.statusSamples;
      s.peakQueueDepth = std::max(s.peakQueueDepth, sample.queueDepth);
      s.peakInstances = std::max(s.peakInstances, sample.instances);
      s.peakInFlight = std::max(s.peakInFlight, sample.inFlight);
    }
    summaries.push_back(s);
  }
  return summaries;
}

std::string instancesCsv(const std::vector<StatusSample>& samples) {
  std::ostringstream out;
  out << "seconds,step,instances,starting,idle,busy,draining,in_flight,queue_depth,reserved_ready\n";
  for (const StatusSample& s : samples) {
    char line[160];
    std::snprintf(line, sizeof(line), "%.3f,%d,%u,%u,%u,%u,%u,%u,%u,%u\n", s.seconds, s.step, s.instances, s.starting,
                  s.idle, s.busy, s.draining, s.inFlight, s.queueDepth, s.reservedReady);
    out << line;
  }
  return out.str();
}

std::string recordsCsv(const std::vector<RequestRecord>& records) {
  std::ostringstream out;
  out << "scheduled_ms,step,latency_ms,send_lag_ms,completed,ok,cold_start,error\n";
  for (const RequestRecord& r : records) {
    char line[160];
    std::snprintf(line, sizeof(line), "%.3f,%d,%.3f,%.3f,%d,%d,%d,",
                  std::chrono::duration<double, std::milli>(r.offset).count(), r.step, r.latencyMs, r.sendLagMs,
                  r.completed ? 1 : 0, r.ok ? 1 : 0, r.coldStart ? 1 : 0);
    std::string error = r.error;
    for (char& c : error) {
      if (c == ',' || c == '\n') c = ' ';
    }
    out << line << error << "\n";
  }
  return out.str();
}

std::vector<LoadStep> parseSteps(const std::string& text) {
  std::vector<LoadStep> steps;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    const size_t colon = item.find(':');
    if (colon == std::string::npos) return {};
    try {
      const double rate = std::stod(item.substr(0, colon));
      const double seconds = std::stod(item.substr(colon + 1));
      if (!(rate > 0) || !(seconds > 0)) return {};
      steps.push_back({rate, std::chrono::milliseconds(std::llround(seconds * 1000))});
    } catch (const std::exception&) {
      return {};
    }
  }
  return steps;
}

std::unique_ptr<grpc::ClientContext> keyedContext(const std::string& apiKey, std::chrono::seconds timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  if (!apiKey.empty()) context->AddMetadata("authorization", "Bearer " + apiKey);
  return context;
}

// --- OpenLoopGenerator ---

struct OpenLoopGenerator::Call {
  grpc::ClientContext context;
  v1::InvokeRequest request;
  v1::InvokeResponse response;
  Clock::time_point scheduled;
  RequestRecord record; // written under the generator's mu_ once the call completes
};

OpenLoopGenerator::OpenLoopGenerator(std::vector<std::shared_ptr<grpc::Channel>> channels, InvokeTarget target,
                                     bool realtime)
    : target_(std::move(target)), realtime_(realtime) {
  for (auto& channel : channels) stubs_.push_back(v1::InvokeService::NewStub(channel));
}

std::vector<RequestRecord> OpenLoopGenerator::run(const std::vector<LoadStep>& steps, Clock::time_point start,
                                                  std::chrono::seconds drain) {
  const std::vector<Arrival> schedule = arrivalSchedule(steps);
  // On a shared machine other processes can hold this thread off the CPU for tens of
  // milliseconds, and it would then send the overdue requests in one burst that no set of
  // independent callers would make. So it runs at the lowest real-time priority while it sends
  // (it sleeps between sends, and each send is a few microseconds of gRPC work). With
  // SCHED_RESET_ON_FORK, threads gRPC starts from this one begin at the normal policy, so that
  // they never outrank the server.
  const int ownPolicy = sched_getscheduler(0);
  sched_param ownParam{};
  sched_getparam(0, &ownParam);
  if (realtime_) {
    sched_param param{};
    param.sched_priority = 1;
    if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &param) != 0) {
      std::fprintf(stderr, "load: cannot send at SCHED_FIFO; sends may be late under other load\n");
    }
  }
  std::vector<std::unique_ptr<Call>> calls;
  calls.reserve(schedule.size());
  for (size_t i = 0; i < schedule.size(); ++i) {
    const Arrival& arrival = schedule[i];
    auto call = std::make_unique<Call>();
    call->scheduled = start + arrival.offset;
    call->record.step = arrival.step;
    call->record.offset = arrival.offset;
    call->request.set_namespace_(target_.ns);
    call->request.set_function(target_.function);
    call->request.set_payload(target_.payload);
    if (!target_.apiKey.empty()) call->context.AddMetadata("authorization", "Bearer " + target_.apiKey);
    std::this_thread::sleep_until(call->scheduled);
    const Clock::time_point sent = Clock::now();
    const double lagMs = millisecondsBetween(call->scheduled, sent);
    call->context.set_deadline(std::chrono::system_clock::now() + target_.deadline);
    {
      common::MutexLock lock(mu_);
      ++outstanding_;
      call->record.sendLagMs = lagMs;
    }
    Call* raw = call.get();
    stubs_[i % stubs_.size()]->async()->Invoke(
        &raw->context, &raw->request, &raw->response, [this, raw](grpc::Status status) {
          const Clock::time_point now = Clock::now();
          {
            common::MutexLock lock(mu_);
            RequestRecord& r = raw->record;
            r.completed = true;
            r.latencyMs = millisecondsBetween(raw->scheduled, now);
            r.ok = status.ok() && !raw->response.has_error();
            r.coldStart = raw->response.cold_start();
            if (!status.ok()) {
              r.error = "rpc " + std::to_string(status.error_code()) + ": " + status.error_message();
            } else if (raw->response.has_error()) {
              r.error = raw->response.error().type();
            }
            // Last, and notified under the lock: run() may free the call, and its caller this
            // generator, once it holds the lock again.
            if (--outstanding_ == 0) allDone_.notifyAll();
          }
        });
    calls.push_back(std::move(call));
  }
  if (realtime_) sched_setscheduler(0, ownPolicy < 0 ? SCHED_OTHER : ownPolicy, &ownParam);

  auto allDone = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return outstanding_ == 0; };
  std::vector<RequestRecord> records;
  records.reserve(calls.size());
  common::MutexLock lock(mu_);
  if (!allDone_.waitFor(mu_, drain, allDone)) {
    std::fprintf(stderr, "load: %zu calls still open %lld s after the last arrival; cancelling them\n", outstanding_,
                 static_cast<long long>(drain.count()));
    for (auto& call : calls) {
      if (!call->record.completed) call->context.TryCancel();
    }
    allDone_.waitFor(mu_, std::chrono::seconds(10), allDone);
  }
  for (auto& call : calls) {
    records.push_back(call->record);
    // A call gRPC never finished must keep its context alive: leak it rather than free it under gRPC.
    if (!call->record.completed) (void)call.release();
  }
  return records;
}

// --- ScalingPoller ---

ScalingPoller::ScalingPoller(std::shared_ptr<grpc::Channel> channel, std::string ns, std::string function,
                             std::string apiKey, std::vector<LoadStep> steps, Clock::time_point start,
                             std::chrono::milliseconds interval)
    : stub_(v1::ScalingService::NewStub(channel)), ns_(std::move(ns)), function_(std::move(function)),
      apiKey_(std::move(apiKey)), steps_(std::move(steps)), start_(start), interval_(interval),
      thread_([this] { loop(); }) {}

ScalingPoller::~ScalingPoller() { stop(); }

void ScalingPoller::stop() {
  {
    common::MutexLock lock(mu_);
    stopping_ = true;
  }
  stopped_.notifyAll();
  if (thread_.joinable()) thread_.join();
}

void ScalingPoller::loop() {
  Clock::time_point next = Clock::now();
  for (;;) {
    {
      common::MutexLock lock(mu_);
      if (stopped_.waitUntil(mu_, next, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; })) return;
    }
    next += interval_;
    v1::GetScalingStatusRequest request;
    request.set_namespace_(ns_);
    request.set_function(function_);
    v1::ScalingStatus status;
    const Clock::time_point asked = Clock::now();
    auto context = keyedContext(apiKey_, std::chrono::seconds(2));
    const grpc::Status rpc = stub_->GetScalingStatus(context.get(), request, &status);
    if (!rpc.ok()) {
      ++failedPolls_;
      lastError_ = rpc.error_message();
      continue;
    }
    StatusSample sample;
    const auto sinceStart = std::chrono::duration_cast<std::chrono::nanoseconds>(asked - start_);
    sample.seconds = std::chrono::duration<double>(sinceStart).count();
    sample.step = stepAt(steps_, sinceStart);
    sample.instances = static_cast<uint32_t>(status.instances_size());
    for (const auto& instance : status.instances()) {
      switch (instance.state()) {
      case v1::STARTING: ++sample.starting; break;
      case v1::IDLE: ++sample.idle; break;
      case v1::BUSY: ++sample.busy; break;
      case v1::DRAINING: ++sample.draining; break;
      default: break;
      }
    }
    sample.inFlight = status.in_flight();
    sample.queueDepth = status.queue_depth();
    sample.reservedReady = status.reserved_ready();
    samples_.push_back(sample);
  }
}

} // namespace surge::bench
