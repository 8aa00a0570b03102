// "surgectl reserve add" sends one AddReservationSchedule (validate_only with --dry-run) and
// prints the stored window or the verdict; "reserve list" prints ListReservationSchedules and the
// next 24 hours of GetReservationPlan; "reserve remove" sends RemoveReservationSchedule.
#include "cli/reservation_commands.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <absl/status/status.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <absl/strings/str_split.h>
#include <absl/time/time.h>
#include <google/protobuf/empty.pb.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "api/proto_time.h"
#include "cli/command_support.h"
#include "cli/context.h"
#include "cli/output.h"
#include "cli/reservation_render.h"
#include "cli/reservation_time.h"
#include "common/names.h"
#include "surge/v1/scaling.grpc.pb.h"

namespace surge::cli {
namespace {

namespace v1 = surge::v1;

// The API's bounds (scaling.proto): a computed or given lead is at most a day, a description
// at most 256 bytes.
constexpr absl::Duration kMaxLead = absl::Hours(24);
constexpr size_t kMaxDescriptionBytes = 256;
// Reserved instances, as "reserve set" allows.
constexpr uint64_t kMaxCount = 1000;
// "reserve list" shows the target this many hours ahead.
constexpr int kPlanHours = 24;

const char* const kWindowForms =
    "give one window: --start TIME --end TIME (once), or --cron EXPR --duration D (repeating)";

absl::Status flagError(const char* flag, const absl::Status& status) {
  return absl::InvalidArgumentError(absl::StrCat(flag, ": ", status.message()));
}

absl::StatusOr<absl::Time> parseTimeOf(const char* flag, const std::string& text, const date::time_zone& zone) {
  auto time = parseWindowTime(text, zone);
  if (!time.ok()) return flagError(flag, time.status());
  return *time;
}

absl::StatusOr<absl::Duration> parseDurationOf(const char* flag, const std::string& text) {
  auto duration = parseDurationFlag(text);
  if (!duration.ok()) return flagError(flag, duration.status());
  return *duration;
}

// The zone of --tz, or null when it was not given: times are then shown in UTC.
absl::StatusOr<const date::time_zone*> displayZone(const std::string& name) {
  if (name.empty()) return nullptr;
  auto zone = findTimeZone(name);
  if (!zone.ok()) return flagError("--tz", zone.status());
  return *zone;
}

absl::Status checkOneForm(const ReserveAddFlags& flags) {
  const bool once = !flags.start.empty() || !flags.end.empty();
  const bool recurring = !flags.cron.empty() || !flags.duration.empty();
  if (once && recurring) {
    return absl::InvalidArgumentError(
        absl::StrCat("--start/--end and --cron/--duration cannot go together: ", kWindowForms));
  }
  if (!once && !recurring) return absl::InvalidArgumentError(absl::StrCat("no window given: ", kWindowForms));
  if (flags.start.empty() != flags.end.empty()) {
    return absl::InvalidArgumentError(flags.start.empty() ? "--end needs --start, the time the window opens"
                                                          : "--start needs --end, the time the window closes");
  }
  if (flags.cron.empty() != flags.duration.empty()) {
    return absl::InvalidArgumentError(flags.cron.empty() ? "--duration needs --cron, the times the window opens"
                                                         : "--cron needs --duration, how long each window lasts");
  }
  return absl::OkStatus();
}

absl::Status fillOnce(const ReserveAddFlags& flags, const date::time_zone& zone, v1::OneOffWindow& window) {
  auto start = parseTimeOf("--start", flags.start, zone);
  if (!start.ok()) return start.status();
  auto end = parseTimeOf("--end", flags.end, zone);
  if (!end.ok()) return end.status();
  if (*end <= *start) {
    return absl::InvalidArgumentError(absl::StrCat("--end (", flags.end, ") must be after --start (", flags.start,
                                                   "): read as ", formatTimeIn(*end, nullptr), " and ",
                                                   formatTimeIn(*start, nullptr)));
  }
  *window.mutable_start_time() = api::toProtoTimestamp(*start);
  *window.mutable_end_time() = api::toProtoTimestamp(*end);
  return absl::OkStatus();
}

absl::Status fillRecurring(const ReserveAddFlags& flags, const std::string& zoneName, v1::RecurringWindow& window) {
  const std::vector<std::string> fields = absl::StrSplit(flags.cron, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (fields.size() != 5) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--cron: '", flags.cron, "' has ", fields.size(),
        " fields; give five, minute hour day-of-month month day-of-week, e.g. '0 20 * * 5' (Fridays at 20:00)"));
  }
  auto duration = parseDurationOf("--duration", flags.duration);
  if (!duration.ok()) return duration.status();
  if (*duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--duration: a window must last longer than 0, e.g. 2h");
  }
  window.set_cron(absl::StrJoin(fields, " "));
  *window.mutable_duration() = api::toProtoDuration(*duration);
  window.set_time_zone(zoneName);
  return absl::OkStatus();
}

// What the server's refusal means for the user, beside its message.
void hintAfterAddError(Context& context, const grpc::Status& status, const ReserveAddFlags& flags) {
  if (status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED || flags.force || flags.dryRun) return;
  context.err()
      << "hint: --dry-run shows every shortfall; --force stores the window anyway, keeping the reason as its warning\n";
}

int runAdd(Context& context, const ReserveAddFlags& flags) {
  auto request = addReservationRequest(context.options().ns, flags);
  if (!request.ok()) return context.usageError(request.status());
  auto zone = displayZone(flags.timeZone);
  if (!zone.ok()) return context.usageError(zone.status());
  auto stub = v1::ScalingService::NewStub(context.channel());
  v1::ReservationSchedule answer;
  auto call = context.newCall();
  if (auto rpc = stub->AddReservationSchedule(call.get(), *request, &answer); !rpc.ok()) {
    const int code = context.rpcError(rpc);
    hintAfterAddError(context, rpc, flags);
    return code;
  }
  if (flags.dryRun) {
    const int printed = context.print(answer, [&](std::ostream& out) { printDryRun(out, answer, flags.force, *zone); });
    if (printed != kExitOk) return printed;
    // A refusal is the answer the user asked for, yet a script must see it as one.
    return dryRunVerdict(answer, flags.force) == DryRunVerdict::kRefused ? kExitRpcError : kExitOk;
  }
  const int printed = context.print(answer, [&](std::ostream& out) { printSchedule(out, answer, *zone); });
  if (!answer.warning().empty()) context.err() << "warning: " << withoutControlCharacters(answer.warning()) << '\n';
  return printed;
}

struct ListFlags {
  std::string name;
  std::string timeZone;
};

int runList(Context& context, const ListFlags& flags) {
  if (auto status = common::validateName("function name", flags.name); !status.ok()) {
    return context.usageError(status);
  }
  auto zone = displayZone(flags.timeZone);
  if (!zone.ok()) return context.usageError(zone.status());
  auto stub = v1::ScalingService::NewStub(context.channel());

  v1::ListReservationSchedulesRequest listRequest;
  listRequest.set_namespace_(context.options().ns);
  listRequest.set_function(flags.name);
  v1::ListReservationSchedulesResponse list;
  auto listCall = context.newCall();
  if (auto rpc = stub->ListReservationSchedules(listCall.get(), listRequest, &list); !rpc.ok()) {
    return context.rpcError(rpc);
  }

  const absl::Time from = startOfHour(absl::Now(), *zone);
  v1::GetReservationPlanRequest planRequest;
  planRequest.set_namespace_(context.options().ns);
  planRequest.set_function(flags.name);
  *planRequest.mutable_from_time() = api::toProtoTimestamp(from);
  *planRequest.mutable_to_time() = api::toProtoTimestamp(from + absl::Hours(kPlanHours));
  v1::ReservationPlan plan;
  auto planCall = context.newCall();
  if (auto rpc = stub->GetReservationPlan(planCall.get(), planRequest, &plan); !rpc.ok()) {
    return context.rpcError(rpc);
  }

  if (context.options().output == OutputFormat::kJson) {
    if (auto status = printJsonWithMembers(context.out(), list, {{"plan", &plan}}); !status.ok()) {
      context.err() << "error: " << status.message() << '\n';
      return kExitRpcError;
    }
    return kExitOk;
  }
  printScheduleList(context.out(), list, plan, from, kPlanHours, *zone);
  return kExitOk;
}

struct RemoveFlags {
  std::string name;
  std::string id;
};

int runRemove(Context& context, const RemoveFlags& flags) {
  if (auto status = common::validateName("function name", flags.name); !status.ok()) {
    return context.usageError(status);
  }
  if (flags.id.empty()) return context.usageError("the window's ID is empty; 'surgectl reserve list NAME' shows them");
  v1::RemoveReservationScheduleRequest request;
  request.set_namespace_(context.options().ns);
  request.set_function(flags.name);
  request.set_id(flags.id);
  auto stub = v1::ScalingService::NewStub(context.channel());
  google::protobuf::Empty empty;
  auto call = context.newCall();
  if (auto rpc = stub->RemoveReservationSchedule(call.get(), request, &empty); !rpc.ok()) {
    return context.rpcError(rpc);
  }
  return context.print(empty, [&](std::ostream& out) {
    out << "removed reservation window " << withoutControlCharacters(flags.id) << " of "
        << qualifiedName(request.namespace_(), request.function()) << '\n';
  });
}

void addAddCommand(CLI::App& reserve, Context& context) {
  CLI::App* add = reserve.add_subcommand(
      "add", "Raise a function's reserved target to COUNT during a window, once or on a cron schedule");
  auto flags = std::make_shared<ReserveAddFlags>();
  add->add_option("name", flags->name, "The function's name")->required()->type_name("NAME");
  add->add_option("--count", flags->count, "Reserved instances while the window is open, 1-1000")
      ->required()
      ->type_name("N")
      ->check(wholeNumberValidator(1, kMaxCount));
  add->add_option("--start", flags->start,
                  "One window: when it opens, ISO 8601 (2026-12-11T20:00:00+08:00, 2026-12-11T12:00:00Z, or "
                  "2026-12-11T20:00 read in --tz)")
      ->type_name("TIME");
  add->add_option("--end", flags->end, "One window: when it closes (the forms of --start)")->type_name("TIME");
  add->add_option("--cron", flags->cron,
                  "Repeating windows: when each opens, five cron fields read in --tz, e.g. '0 20 * * 5'")
      ->type_name("EXPR");
  add->add_option("--duration", flags->duration, "Repeating windows: how long each lasts, e.g. 2h or 1h30m")
      ->type_name("D");
  add->add_option("--tz", flags->timeZone,
                  "IANA time zone for times without an offset and for --cron, also used to show times (default UTC)")
      ->type_name("ZONE");
  add->add_option("--lead", flags->lead,
                  "Start warming this long before each start, e.g. 15m; at most 24h (default: the server computes it)")
      ->type_name("D");
  add->add_option("--description", flags->description, "Free text for people, at most 256 bytes")->type_name("TEXT");
  add->add_flag("--force", flags->force,
                "Store the window even if it cannot be honoured; the reason is kept as a warning");
  add->add_flag("--dry-run", flags->dryRun,
                "Only check: print whether the window would be accepted (exit 0) or refused (exit 1); store nothing");
  add->footer(commandFooter(
      "surgectl reserve add hello --count 10 --start 2026-12-11T20:00 --end 2026-12-11T23:00 --tz Asia/Shanghai\n  "
      "surgectl reserve add hello --count 4 --cron '0 9 * * 1-5' --duration 8h --tz Europe/Berlin --lead 10m\n  "
      "surgectl reserve add hello --count 50 --start 2026-11-27T00:00:00Z --end 2026-11-28T00:00:00Z --dry-run"));
  setAction(*add, context, flags, &runAdd);
}

void addListCommand(CLI::App& reserve, Context& context) {
  CLI::App* list = reserve.add_subcommand(
      "list", "List a function's reservation windows and its reserved target hour by hour for the next 24 hours");
  auto flags = std::make_shared<ListFlags>();
  list->add_option("name", flags->name, "The function's name")->required()->type_name("NAME");
  list->add_option("--tz", flags->timeZone, "Show times in this IANA time zone (default UTC)")->type_name("ZONE");
  list->footer(commandFooter("surgectl reserve list hello\n  surgectl reserve list hello --tz Asia/Shanghai\n  "
                             "surgectl reserve list hello -o json"));
  setAction(*list, context, flags, &runList);
}

void addRemoveCommand(CLI::App& reserve, Context& context) {
  CLI::App* remove = reserve.add_subcommand("remove", "Remove one of a function's reservation windows by its id");
  auto flags = std::make_shared<RemoveFlags>();
  remove->add_option("name", flags->name, "The function's name")->required()->type_name("NAME");
  remove->add_option("id", flags->id, "The window's id, as 'reserve list' shows it")->required()->type_name("ID");
  remove->footer(commandFooter("surgectl reserve remove hello 3"));
  setAction(*remove, context, flags, &runRemove);
}

} // namespace

absl::StatusOr<v1::AddReservationScheduleRequest> addReservationRequest(std::string_view ns,
                                                                        const ReserveAddFlags& flags) {
  if (auto status = common::validateName("function name", flags.name); !status.ok()) return status;
  if (auto status = checkOneForm(flags); !status.ok()) return status;
  const std::string zoneName = flags.timeZone.empty() ? "UTC" : flags.timeZone;
  auto zone = findTimeZone(zoneName);
  if (!zone.ok()) return flagError("--tz", zone.status());

  v1::AddReservationScheduleRequest request;
  v1::ReservationSchedule& schedule = *request.mutable_schedule();
  schedule.set_namespace_(std::string(ns));
  schedule.set_function(flags.name);
  schedule.set_count(flags.count);
  if (!flags.start.empty()) {
    if (auto status = fillOnce(flags, **zone, *schedule.mutable_once()); !status.ok()) return status;
  } else {
    if (auto status = fillRecurring(flags, zoneName, *schedule.mutable_recurring()); !status.ok()) return status;
  }
  if (!flags.lead.empty()) {
    auto lead = parseDurationOf("--lead", flags.lead);
    if (!lead.ok()) return lead.status();
    if (*lead > kMaxLead) {
      return absl::InvalidArgumentError(
          absl::StrCat("--lead: ", flags.lead, " is more than 24h; leave it out to have the server compute it"));
    }
    *schedule.mutable_lead() = api::toProtoDuration(*lead);
  }
  if (flags.description.size() > kMaxDescriptionBytes) {
    return absl::InvalidArgumentError(absl::StrCat("--description is ", flags.description.size(), " bytes; at most ",
                                                   kMaxDescriptionBytes, " are allowed"));
  }
  schedule.set_description(flags.description);
  request.set_force(flags.force);
  request.set_validate_only(flags.dryRun);
  return request;
}

void registerReservationCommands(CLI::App& reserve, Context& context) {
  addAddCommand(reserve, context);
  addListCommand(reserve, context);
  addRemoveCommand(reserve, context);
}

} // namespace surge::cli
