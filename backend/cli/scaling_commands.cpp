// "surgectl reserve set NAME COUNT" and "surgectl status NAME": the reserved target and what the
// scheduler runs for a function now, as a block plus an instance table, or JSON. The scheduled
// windows ("reserve add | list | remove") are in reservation_commands.cpp.
#include "cli/scaling_commands.h"

#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <absl/strings/str_cat.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "cli/command_support.h"
#include "cli/context.h"
#include "cli/output.h"
#include "cli/reservation_commands.h"
#include "cli/tracking_commands.h"
#include "common/names.h"
#include "surge/v1/scaling.grpc.pb.h"

namespace surge::cli {
namespace {

namespace v1 = surge::v1;

std::string_view stateName(v1::InstanceState state) {
  switch (state) {
  case v1::STARTING: return "starting";
  case v1::IDLE: return "idle";
  case v1::BUSY: return "busy";
  case v1::DRAINING: return "draining";
  default: return "-";
  }
}

void printStatus(std::ostream& out, const v1::ScalingStatus& status) {
  KeyValueBlock block;
  block.add("function", qualifiedName(status.namespace_(), status.function()));
  block.add("reserved", absl::StrCat(status.reserved_ready(), " ready of ", status.reserved_target(), " wanted"));
  const std::string byTracking = trackingSetBy(status);
  block.add("set by", !byTracking.empty() ? byTracking
                      : status.schedule_id().empty()
                          ? absl::StrCat("the standing target (", status.standing_target(), ")")
                          : absl::StrCat("window ", status.schedule_id(), status.warming() ? " (warming up)" : ""));
  addTrackingLines(block, status);
  if (status.has_next_change_time()) {
    block.add("next change", absl::StrCat(formatTimestamp(status.next_change_time()), ": ", status.next_target(),
                                          status.next_schedule_id().empty()
                                              ? " (the standing target)"
                                              : absl::StrCat(" (window ", status.next_schedule_id(),
                                                             status.next_warming() ? " warming up)" : ")")));
  }
  block.add("in flight", absl::StrCat(status.in_flight()));
  block.add("queued", absl::StrCat(status.queue_depth()));
  block.add("instances", absl::StrCat(status.instances_size()));
  block.print(out);
  if (status.instances().empty()) return;
  out << '\n';
  Table table({"INSTANCE", "KIND", "STATE", "VERSION", "IN FLIGHT", "STARTED"});
  for (const v1::InstanceStatus& instance : status.instances()) {
    table.addRow({instance.id(), std::string(instanceKindName(instance.kind())),
                  std::string(stateName(instance.state())), absl::StrCat(instance.version()),
                  absl::StrCat(instance.in_flight()), formatTimestamp(instance.start_time())});
  }
  table.print(out);
}

struct ReserveState {
  std::string name;
  uint32_t count = 0;
};

int runReserveSet(Context& context, const ReserveState& state) {
  if (auto status = common::validateName("function name", state.name); !status.ok()) {
    return context.usageError(status);
  }
  v1::SetReservedCapacityRequest request;
  request.set_namespace_(context.options().ns);
  request.set_function(state.name);
  request.set_count(state.count);
  auto stub = v1::ScalingService::NewStub(context.channel());
  v1::ScalingStatus status;
  auto call = context.newCall();
  if (auto rpc = stub->SetReservedCapacity(call.get(), request, &status); !rpc.ok()) return context.rpcError(rpc);
  return context.print(status, [&](std::ostream& out) { printStatus(out, status); });
}

struct StatusState {
  std::string name;
};

int runStatus(Context& context, const StatusState& state) {
  if (auto status = common::validateName("function name", state.name); !status.ok()) {
    return context.usageError(status);
  }
  v1::GetScalingStatusRequest request;
  request.set_namespace_(context.options().ns);
  request.set_function(state.name);
  auto stub = v1::ScalingService::NewStub(context.channel());
  v1::ScalingStatus status;
  auto call = context.newCall();
  if (auto rpc = stub->GetScalingStatus(call.get(), request, &status); !rpc.ok()) return context.rpcError(rpc);
  return context.print(status, [&](std::ostream& out) { printStatus(out, status); });
}

} // namespace

void registerScalingCommands(CLI::App& app, Context& context) {
  CLI::App* reserve = app.add_subcommand(
      "reserve", "Manage a function's reserved (always warm) instances, now and in scheduled windows");
  reserve->require_subcommand(1);
  CLI::App* set = reserve->add_subcommand("set", "Keep COUNT reserved instances of a function warm (0: none)");
  auto reserveState = std::make_shared<ReserveState>();
  set->add_option("name", reserveState->name, "The function's name")->required()->type_name("NAME");
  set->add_option("count", reserveState->count, "Reserved instances wanted, at most the function's max instances")
      ->required()
      ->type_name("COUNT")
      ->check(wholeNumberValidator(0, 1000));
  set->footer(commandFooter("surgectl reserve set hello 5\n  surgectl reserve set hello 0"));
  setAction(*set, context, reserveState, &runReserveSet);
  registerReservationCommands(*reserve, context);
  registerTrackingCommands(*reserve, context, &printStatus);

  CLI::App* status = app.add_subcommand("status", "Show a function's instances, in-flight requests and queue");
  auto statusState = std::make_shared<StatusState>();
  status->add_option("name", statusState->name, "The function's name")->required()->type_name("NAME");
  status->footer(commandFooter("surgectl status hello\n  surgectl -o json status hello"));
  setAction(*status, context, statusState, &runStatus);
}

} // namespace surge::cli
