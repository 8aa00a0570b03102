// "surgectl cost NAME --since T [--until T] [--what-if N] [--budget F]": GetCost as a block of
// figures, or JSON with -o json.
#include "cli/cost_commands.h"

#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include <CLI/CLI.hpp>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>
#include <absl/time/clock.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "api/proto_time.h"
#include "cli/command_support.h"
#include "cli/context.h"
#include "cli/output.h"
#include "common/names.h"
#include "surge/v1/scaling.grpc.pb.h"

namespace surge::cli {
namespace {

namespace v1 = surge::v1;

std::string money(double amount, const std::string& currency) { return absl::StrFormat("%.6f %s", amount, currency); }

std::string signedMoney(double amount, const std::string& currency) {
  return absl::StrFormat("%+.6f %s", amount, currency);
}

std::string breakdown(const v1::CostBreakdown& cost, const std::string& currency) {
  return absl::StrCat(money(cost.total(), currency), " (reserved instances ",
                      absl::StrFormat("%.6f", cost.reserved_instances()), ", reserved execution ",
                      absl::StrFormat("%.6f", cost.reserved_execution()), ", on-demand execution ",
                      absl::StrFormat("%.6f", cost.on_demand_execution()), ", requests ",
                      absl::StrFormat("%.6f", cost.requests()), ")");
}

std::string scenario(const v1::CostScenario& s, const std::string& currency) {
  return absl::StrCat(s.reserved(), " reserved: ", breakdown(s.cost(), currency), "; ",
                      signedMoney(s.cost_delta(), currency), " vs actual; ", s.cold_starts(), " cold starts (",
                      absl::StrFormat("%+d", s.cold_starts_delta()), ")");
}

struct CostState {
  std::string name;
  std::string since;
  std::string until;
  std::optional<uint32_t> whatIf;
  double budget = 0;
};

int runCost(Context& context, const CostState& state) {
  if (auto status = common::validateName("function name", state.name); !status.ok()) {
    return context.usageError(status);
  }
  const absl::Time now = absl::Now();
  v1::GetCostRequest request;
  request.set_namespace_(context.options().ns);
  request.set_function(state.name);
  auto since = parseTimeFlag(state.since, now);
  if (!since.ok()) return context.usageError(since.status());
  *request.mutable_from_time() = api::toProtoTimestamp(*since);
  if (!state.until.empty()) {
    auto until = parseTimeFlag(state.until, now);
    if (!until.ok()) return context.usageError(until.status());
    *request.mutable_to_time() = api::toProtoTimestamp(*until);
  }
  if (state.whatIf) request.set_what_if_reserved(*state.whatIf);
  request.set_cold_start_budget(state.budget);
  auto stub = v1::ScalingService::NewStub(context.channel());
  v1::CostReport report;
  auto call = context.newCall();
  if (auto rpc = stub->GetCost(call.get(), request, &report); !rpc.ok()) return context.rpcError(rpc);
  return context.print(report, [&](std::ostream& out) { printCostReport(out, report); });
}

} // namespace

void printCostReport(std::ostream& out, const v1::CostReport& report) {
  const std::string& currency = report.prices().currency();
  const v1::CostUsage& usage = report.usage();
  KeyValueBlock block;
  block.add("function", qualifiedName(report.namespace_(), report.function()));
  block.add("period", absl::StrCat(formatTimestamp(report.from_time()), " to ", formatTimestamp(report.to_time()), " (",
                                   report.resolution_seconds() == 1 ? "per second" : "per minute", ")"));
  block.add("data", report.has_data_from_time() ? absl::StrCat(formatTimestamp(report.data_from_time()), " to ",
                                                               formatTimestamp(report.data_to_time()))
                                                : std::string("none in the period"));
  if (report.seconds_past_retention() > 0) {
    block.add("past retention",
              absl::StrCat(report.seconds_past_retention(), " s of the period (usage is kept 31 days)"));
  }
  block.add("function config", absl::StrCat(report.memory_mb(), " MB, ", report.instance_concurrency(),
                                            " per instance, at most ", report.max_instances(), " instances"));
  block.add("requests",
            absl::StrCat(usage.reserved_requests() + usage.on_demand_requests(), " (", usage.reserved_requests(),
                         " reserved, ", usage.on_demand_requests(), " on demand)"));
  block.add("reserved alive", absl::StrFormat("%.3f GB-s", usage.reserved_instance_gb_seconds()));
  block.add("billed execution",
            absl::StrFormat("%.3f GB-s reserved, %.3f GB-s on demand", usage.reserved_billed_gb_seconds(),
                            usage.on_demand_billed_gb_seconds()));
  block.add("cold starts", absl::StrCat(report.recorded_cold_starts(), " recorded, ", report.replayed_cold_starts(),
                                        " by the replay's rule"));
  block.add("actual", breakdown(report.actual(), currency));
  if (report.has_what_if()) block.add("what if", scenario(report.what_if(), currency));
  block.add("recommended", absl::StrCat(scenario(report.recommended(), currency), "; cold-start budget ",
                                        absl::StrFormat("%g%%", report.cold_start_budget() * 100)));
  block.print(out);
}

void registerCostCommands(CLI::App& app, Context& context) {
  CLI::App* command = app.add_subcommand(
      "cost", "Show what a function's capacity cost over a period, a what-if for a reserved count, and the "
              "recommended count");
  auto state = std::make_shared<CostState>();
  command->add_option("name", state->name, "The function's name")->required()->type_name("NAME");
  command->add_option("--since", state->since, timeFlagHelp("The period's start"))
      ->required()
      ->type_name("TIME")
      ->check(timeFlagValidator());
  command->add_option("--until", state->until, timeFlagHelp("The period's end (default: now)"))
      ->type_name("TIME")
      ->check(timeFlagValidator());
  command->add_option("--what-if", state->whatIf, "A standing reserved count to replay over the period")
      ->type_name("N")
      ->check(wholeNumberValidator(0, 1000));
  command
      ->add_option("--budget", state->budget,
                   "Cold starts the recommendation may have, as a share of requests (default 0.001: 0.1%)")
      ->type_name("SHARE")
      ->check(CLI::Range(0.0, 1.0));
  command->footer(
      commandFooter("surgectl cost hello --since 1h --what-if 3\n"
                    "  surgectl cost hello --since 2026-11-28T08:00:00Z --until 2026-11-28T12:00:00Z -o json"));
  setAction(*command, context, state, &runCost);
}

} // namespace surge::cli
