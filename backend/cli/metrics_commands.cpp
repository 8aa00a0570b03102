// "surgectl metrics NAME [--watch]" and "surgectl top [--once]": read WatchMetrics from the
// current snapshot on, and print each as a block, a row, a screen or a JSON line.
#include "cli/metrics_commands.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iostream>
#include <memory>
#include <tuple>
#include <utility>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>
#include <absl/strings/str_join.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "api/proto_time.h"
#include "cli/cancel_on_interrupt.h"
#include "cli/command_support.h"
#include "cli/context.h"
#include "common/names.h"
#include "surge/v1/metrics.grpc.pb.h"

namespace surge::cli {
namespace {

namespace v1 = surge::v1;

// isCurrentSnapshot()'s two bounds.
constexpr absl::Duration kCurrentWithin = absl::Seconds(1);
constexpr absl::Duration kLiveGap = absl::Milliseconds(500);

// What the terminal is told before each of top's screens: cursor home, clear the screen.
constexpr std::string_view kClearScreen = "\x1b[H\x1b[2J";

void fillAbsentFunctionParts(v1::FunctionMetrics& function) {
  function.mutable_outcomes();
  function.mutable_refusals();
  function.mutable_held_back();
  function.mutable_end_to_end();
  function.mutable_queue_wait();
  function.mutable_execution();
  function.mutable_cold_start();
  function.mutable_instance_states();
  function.mutable_interval();
}

// The end-to-end summary; from the older p50/p95/p99_latency_ms fields when a server fills only
// those.
v1::LatencySummary endToEnd(const v1::FunctionMetrics& function) {
  if (function.end_to_end().count() > 0) return function.end_to_end();
  v1::LatencySummary summary;
  summary.set_p50_ms(function.p50_latency_ms());
  summary.set_p95_ms(function.p95_latency_ms());
  summary.set_p99_ms(function.p99_latency_ms());
  return summary;
}

// A percentile of a distribution with nothing in it is "-", not "0.00 ms".
std::string latencyCell(const v1::LatencySummary& summary, double ms) {
  return summary.count() == 0 && ms == 0 ? "-" : formatLatency(ms);
}

uint32_t readyInstances(const v1::InstanceCounts& states) {
  return states.reserved_idle() + states.reserved_busy() + states.on_demand_idle() + states.on_demand_busy();
}

std::string instancesCell(const v1::FunctionMetrics& function) {
  return absl::StrCat(readyInstances(function.instance_states()), "/", function.instances());
}

std::string reservedCell(const v1::FunctionMetrics& function) {
  return absl::StrCat(function.reserved_ready(), "/", function.reserved_target());
}

// "15:31:02", UTC as every time surgectl prints.
std::string clockTime(const google::protobuf::Timestamp& time) {
  return absl::FormatTime("%H:%M:%S", api::fromProtoTimestamp(time), absl::UTCTimeZone());
}

std::string serverLine(const v1::ServerMetrics& server) {
  std::string memory = absl::StrCat(server.memory_used_mb(), " MiB used");
  if (server.memory_budget_mb() > 0) absl::StrAppend(&memory, " of ", server.memory_budget_mb(), " MiB");
  absl::StrAppend(&memory, ", ", server.memory_reserved_mb(), " MiB reserved");
  if (server.memory_budget_mb() == 0) absl::StrAppend(&memory, " (no budget)");
  // A proto map has no order; runtimes are listed by name.
  std::vector<std::pair<std::string, uint32_t>> prestarted(server.prestarted_sandboxes().begin(),
                                                           server.prestarted_sandboxes().end());
  std::sort(prestarted.begin(), prestarted.end());
  std::string sandboxes = prestarted.empty() ? "none" : "";
  for (const auto& [runtime, count] : prestarted) {
    absl::StrAppend(&sandboxes, sandboxes.empty() ? "" : ", ", runtime, " ", count);
  }
  return absl::StrCat("memory: ", memory, "   starts in progress: ", server.starts_in_progress(),
                      "   pre-started: ", sandboxes);
}

std::string outcomesText(const v1::OutcomeCounts& outcomes) {
  return absl::StrCat(outcomes.success(), " success, ", outcomes.function_error(), " function error, ",
                      outcomes.timeout(), " timeout, ", outcomes.platform_error(), " platform error, ",
                      outcomes.refused(), " refused");
}

// ---- The stream ----

bool stdoutIsTerminal(const Context& context) { return &context.out() == &std::cout && ::isatty(STDOUT_FILENO) == 1; }

// Called with each snapshot to show; returns kExitOk to go on, or the exit code to stop with.
using ShowSnapshot = std::function<int(v1::MetricsSnapshot&)>;

// Watches `request` and calls `show` with the current snapshot (isCurrentSnapshot()), then, with
// `follow`, with every live one after it until Ctrl-C. Returns the exit code: kExitOk after
// one snapshot without `follow`, or after Ctrl-C; an RPC error as other commands report it.
int watchSnapshots(Context& context, const v1::WatchMetricsRequest& request, bool follow, const ShowSnapshot& show) {
  auto stub = v1::MetricsService::NewStub(context.channel());
  // One snapshot needs no more than an ordinary call's deadline; a watch runs until stopped.
  auto call = follow ? context.newStreamCall() : context.newCall();
  CancelOnInterrupt interrupt(*call);
  auto reader = stub->WatchMetrics(call.get(), request);
  v1::MetricsSnapshot snapshot;
  bool current = false;
  std::optional<std::chrono::steady_clock::time_point> previous;
  int code = kExitOk;
  while (reader->Read(&snapshot)) {
    if (!current) {
      const auto arrived = std::chrono::steady_clock::now();
      std::optional<absl::Duration> gap;
      if (previous) gap = absl::FromChrono(arrived - *previous);
      previous = arrived;
      current = isCurrentSnapshot(snapshot.time(), absl::Now(), gap);
      if (!current) continue;
    }
    code = show(snapshot);
    context.out().flush();
    if (code != kExitOk || !follow) {
      call->TryCancel();
      while (reader->Read(&snapshot)) {
      }
      reader->Finish();
      return code;
    }
  }
  const grpc::Status status = reader->Finish();
  if (interrupt.interrupted()) return kExitOk;
  if (!status.ok()) return context.rpcError(status);
  context.err() << "error: surged ended the metrics stream" << (current ? "" : " before sending a current snapshot")
                << '\n';
  return kExitRpcError;
}

// ---- metrics ----

struct MetricsState {
  std::string name;
  bool watch = false;
};

int runMetrics(Context& context, const MetricsState& state) {
  if (auto status = common::validateName("function name", state.name); !status.ok()) {
    return context.usageError(status);
  }
  const std::string& ns = context.options().ns;
  v1::WatchMetricsRequest request;
  request.set_namespace_(ns);
  request.set_function(state.name);
  const bool json = context.options().output == OutputFormat::kJson;
  const StreamingTable table = watchTable();
  bool first = true;
  return watchSnapshots(context, request, state.watch, [&](v1::MetricsSnapshot& snapshot) {
    // Always exactly this function's entry, zeros when it was idle, so that output has one shape.
    v1::FunctionMetrics function = functionIn(snapshot, ns, state.name);
    if (json) {
      snapshot.clear_functions();
      *snapshot.add_functions() = std::move(function);
      fillAbsentParts(snapshot);
      return printJsonLineOrFail(context, snapshot);
    }
    if (!state.watch) {
      printFunctionMetrics(context.out(), snapshot.time(), function);
      return kExitOk;
    }
    if (first) context.out() << table.header() << '\n';
    first = false;
    context.out() << table.row(watchRow(snapshot.time(), function)) << '\n';
    return kExitOk;
  });
}

// ---- top ----

struct TopState {
  bool once = false;
  // The global --namespace: top watches every namespace unless it (or SURGE_NAMESPACE) is given.
  const CLI::Option* namespaceOption = nullptr;
};

int runTop(Context& context, const TopState& state) {
  v1::WatchMetricsRequest request;
  // count() includes a value from SURGE_NAMESPACE.
  if (state.namespaceOption != nullptr && state.namespaceOption->count() > 0) {
    request.set_namespace_(context.options().ns);
  }
  const bool json = context.options().output == OutputFormat::kJson;
  // --once leaves its one screen in the terminal's scrollback, as any one-shot command does.
  const bool clear = !json && !state.once && stdoutIsTerminal(context);
  bool first = true;
  return watchSnapshots(context, request, !state.once, [&](v1::MetricsSnapshot& snapshot) {
    if (json) {
      fillAbsentParts(snapshot);
      return printJsonLineOrFail(context, snapshot);
    }
    // A terminal shows one screen at a time; a file or pipe gets them all, a blank line apart.
    if (clear) {
      context.out() << kClearScreen;
    } else if (!first) {
      context.out() << '\n';
    }
    first = false;
    printTopScreen(context.out(), snapshot);
    return kExitOk;
  });
}

} // namespace

bool isCurrentSnapshot(const google::protobuf::Timestamp& time, absl::Time now,
                       std::optional<absl::Duration> sincePrevious) {
  if (absl::AbsDuration(api::fromProtoTimestamp(time) - now) <= kCurrentWithin) return true;
  return sincePrevious.has_value() && *sincePrevious >= kLiveGap;
}

void fillAbsentParts(v1::MetricsSnapshot& snapshot) {
  for (v1::FunctionMetrics& function : *snapshot.mutable_functions()) fillAbsentFunctionParts(function);
  if (snapshot.has_server()) fillAbsentFunctionParts(*snapshot.mutable_server()->mutable_total());
}

v1::FunctionMetrics functionIn(const v1::MetricsSnapshot& snapshot, std::string_view ns, std::string_view name) {
  v1::FunctionMetrics found;
  const auto match =
      std::find_if(snapshot.functions().begin(), snapshot.functions().end(),
                   [&](const v1::FunctionMetrics& f) { return f.namespace_() == ns && f.function() == name; });
  if (match != snapshot.functions().end()) {
    found = *match;
  } else {
    found.set_namespace_(std::string(ns));
    found.set_function(std::string(name));
  }
  fillAbsentFunctionParts(found);
  return found;
}

std::vector<const v1::FunctionMetrics*> topOrder(const v1::MetricsSnapshot& snapshot) {
  std::vector<const v1::FunctionMetrics*> order;
  for (const v1::FunctionMetrics& function : snapshot.functions()) order.push_back(&function);
  std::sort(order.begin(), order.end(), [](const v1::FunctionMetrics* a, const v1::FunctionMetrics* b) {
    if (a->invocations_per_second() != b->invocations_per_second()) {
      return a->invocations_per_second() > b->invocations_per_second();
    }
    return std::tie(a->namespace_(), a->function()) < std::tie(b->namespace_(), b->function());
  });
  return order;
}

std::vector<std::string> topHeadline(const v1::MetricsSnapshot& snapshot) {
  double tps = 0;
  double errors = 0;
  if (snapshot.has_server()) {
    tps = snapshot.server().total().invocations_per_second();
    errors = snapshot.server().total().errors_per_second();
  } else {
    for (const v1::FunctionMetrics& function : snapshot.functions()) {
      tps += function.invocations_per_second();
      errors += function.errors_per_second();
    }
  }
  const int count = snapshot.functions_size();
  std::vector<std::string> lines;
  lines.push_back(absl::StrCat(formatTimestamp(snapshot.time()), "   ", count, count == 1 ? " function" : " functions",
                               "   TPS ", formatRate(tps), "   errors/s ", formatRate(errors)));
  if (snapshot.has_server()) lines.push_back(serverLine(snapshot.server()));
  return lines;
}

std::vector<std::string> topColumns() {
  return {"FUNCTION", "TPS", "ERR/S", "P50", "P95", "P99", "INST", "RESERVED", "IN FLIGHT", "QUEUE", "UTIL"};
}

std::vector<std::vector<std::string>> topRows(const v1::MetricsSnapshot& snapshot) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::FunctionMetrics* function : topOrder(snapshot)) {
    const v1::LatencySummary latency = endToEnd(*function);
    rows.push_back({qualifiedName(function->namespace_(), function->function()),
                    formatRate(function->invocations_per_second()), formatRate(function->errors_per_second()),
                    latencyCell(latency, latency.p50_ms()), latencyCell(latency, latency.p95_ms()),
                    latencyCell(latency, latency.p99_ms()), instancesCell(*function), reservedCell(*function),
                    absl::StrCat(function->in_flight()), absl::StrCat(function->queue_depth()),
                    formatPercent(function->utilisation())});
  }
  return rows;
}

void printTopScreen(std::ostream& out, const v1::MetricsSnapshot& snapshot) {
  for (const std::string& line : topHeadline(snapshot)) out << line << '\n';
  out << '\n';
  Table table(topColumns());
  for (std::vector<std::string>& row : topRows(snapshot)) table.addRow(std::move(row));
  table.print(out);
  if (table.empty()) out << "(no function had instances or traffic in this second)\n";
}

void printFunctionMetrics(std::ostream& out, const google::protobuf::Timestamp& time,
                          const v1::FunctionMetrics& function) {
  KeyValueBlock block;
  block.add("function", qualifiedName(function.namespace_(), function.function()));
  block.add("time", formatTimestamp(time));
  block.add("TPS", formatRate(function.invocations_per_second()));
  block.add("errors/s", formatRate(function.errors_per_second()));
  block.add("outcomes", outcomesText(function.outcomes()));
  block.add("refusals", absl::StrCat(function.refusals().queue_full(), " queue full, ",
                                     function.refusals().queue_timeout(), " queue timeout"));
  const v1::HeldBackCounts& held = function.held_back();
  block.add("held back",
            absl::StrCat(held.max_instances(), " max instances, ", held.memory(), " memory, ", held.creation_rate(),
                         " creation rate, ", held.concurrent_starts(), " concurrent starts"));
  block.add("cold starts", absl::StrCat(function.cold_starts()));
  block.add("in flight", absl::StrCat(function.in_flight()));
  block.add("queue depth", absl::StrCat(function.queue_depth()));
  block.add("reserved", absl::StrCat(function.reserved_ready(), " ready of ", function.reserved_target(), " wanted"));
  block.add("utilisation", formatPercent(function.utilisation()));
  block.print(out);

  out << '\n';
  Table latencies({"LATENCY", "COUNT", "P50", "P95", "P99", "MAX"});
  const std::pair<const char*, v1::LatencySummary> summaries[] = {{"end to end", endToEnd(function)},
                                                                  {"queue wait", function.queue_wait()},
                                                                  {"execution", function.execution()},
                                                                  {"cold start", function.cold_start()}};
  for (const auto& [name, summary] : summaries) {
    latencies.addRow({name, absl::StrCat(summary.count()), latencyCell(summary, summary.p50_ms()),
                      latencyCell(summary, summary.p95_ms()), latencyCell(summary, summary.p99_ms()),
                      latencyCell(summary, summary.max_ms())});
  }
  latencies.print(out);

  out << '\n';
  const v1::InstanceCounts& states = function.instance_states();
  Table instances({"INSTANCES", "STARTING", "IDLE", "BUSY", "DRAINING", "TOTAL"});
  instances.addRow({"reserved", absl::StrCat(states.reserved_starting()), absl::StrCat(states.reserved_idle()),
                    absl::StrCat(states.reserved_busy()), absl::StrCat(states.reserved_draining()),
                    absl::StrCat(states.reserved_starting() + states.reserved_idle() + states.reserved_busy() +
                                 states.reserved_draining())});
  instances.addRow({"on-demand", absl::StrCat(states.on_demand_starting()), absl::StrCat(states.on_demand_idle()),
                    absl::StrCat(states.on_demand_busy()), absl::StrCat(states.on_demand_draining()),
                    absl::StrCat(states.on_demand_starting() + states.on_demand_idle() + states.on_demand_busy() +
                                 states.on_demand_draining())});
  instances.print(out);
}

StreamingTable watchTable() {
  // Wide enough for the usual values ("1234.5" TPS, "12.5 ms"); a wider one shifts its row only.
  return StreamingTable({{"TIME", 8},
                         {"TPS", 6},
                         {"ERR/S", 5},
                         {"OK", 4},
                         {"FAILED", 0},
                         {"REFUSED", 0},
                         {"P50", 7},
                         {"P95", 7},
                         {"P99", 7},
                         {"INST", 5},
                         {"RESERVED", 0},
                         {"IN FLIGHT", 0},
                         {"QUEUE", 0},
                         {"UTIL", 4},
                         {"COLD", 0}});
}

std::vector<std::string> watchRow(const google::protobuf::Timestamp& time, const v1::FunctionMetrics& function) {
  const v1::OutcomeCounts& outcomes = function.outcomes();
  const v1::LatencySummary latency = endToEnd(function);
  return {clockTime(time),
          formatRate(function.invocations_per_second()),
          formatRate(function.errors_per_second()),
          absl::StrCat(outcomes.success()),
          absl::StrCat(outcomes.function_error() + outcomes.timeout() + outcomes.platform_error()),
          absl::StrCat(outcomes.refused()),
          latencyCell(latency, latency.p50_ms()),
          latencyCell(latency, latency.p95_ms()),
          latencyCell(latency, latency.p99_ms()),
          instancesCell(function),
          reservedCell(function),
          absl::StrCat(function.in_flight()),
          absl::StrCat(function.queue_depth()),
          formatPercent(function.utilisation()),
          absl::StrCat(function.cold_starts())};
}

std::string formatRate(double perSecond) { return absl::StrFormat("%.1f", perSecond); }

std::string formatPercent(double ratio) { return absl::StrFormat("%.0f%%", ratio * 100); }

void registerMetricsCommands(CLI::App& app, Context& context) {
  CLI::App* metrics = app.add_subcommand(
      "metrics", "Show a function's last second: TPS, outcomes, latencies, instances (--watch: every second)");
  auto metricsState = std::make_shared<MetricsState>();
  metrics->add_option("name", metricsState->name, "The function's name")->required()->type_name("NAME");
  metrics->add_flag("-w,--watch", metricsState->watch,
                    "Print a row (-o json: a JSON line) every second until Ctrl-C, from the current second on");
  metrics->footer(commandFooter("surgectl metrics hello\n  surgectl metrics hello --watch\n  "
                                "surgectl metrics hello -n shop -o json"));
  setAction(*metrics, context, metricsState, &runMetrics);

  CLI::App* top = app.add_subcommand(
      "top", "Show every function with instances or traffic, busiest first, refreshed every second until Ctrl-C "
             "(every namespace the key sees, unless -n or SURGE_NAMESPACE names one)");
  auto topState = std::make_shared<TopState>();
  topState->namespaceOption = app.get_option("--namespace");
  top->add_flag("--once", topState->once, "Print the current second's screen and exit");
  top->footer(commandFooter("surgectl top\n  surgectl top -n shop\n  surgectl top --once -o json"));
  setAction(*top, context, topState, &runTop);
}

} // namespace surge::cli
