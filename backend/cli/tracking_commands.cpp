// "surgectl reserve track NAME --min N --max N --target U [--cooldown D]" and
// "surgectl reserve track NAME --off": set or turn off a function's target tracking policy.
#include "cli/tracking_commands.h"

#include <memory>
#include <ostream>
#include <string>

#include <CLI/CLI.hpp>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "api/proto_time.h"
#include "cli/command_support.h"
#include "cli/context.h"
#include "cli/output.h"
#include "cli/reservation_time.h"
#include "common/names.h"
#include "surge/v1/scaling.grpc.pb.h"

namespace surge::cli {
namespace {

namespace v1 = surge::v1;

constexpr const char* kTrackForms = "give --max N --target U (and optionally --min N, --cooldown D), or --off";

std::string policyText(const v1::TrackingPolicy& policy) {
  return absl::StrFormat("min %u, max %u, target %g, cool-down %s", policy.min_reserved(), policy.max_reserved(),
                         policy.target_utilization(), absl::FormatDuration(api::fromProtoDuration(policy.cooldown())));
}

int runTrack(Context& context, const ReserveTrackFlags& flags,
             const std::function<void(std::ostream&, const v1::ScalingStatus&)>& printStatus) {
  if (auto status = common::validateName("function name", flags.name); !status.ok()) {
    return context.usageError(status);
  }
  auto request = trackRequest(context.options().ns, flags);
  if (!request.ok()) return context.usageError(request.status());
  auto stub = v1::ScalingService::NewStub(context.channel());
  v1::ScalingStatus status;
  auto call = context.newCall();
  if (auto rpc = stub->SetTrackingPolicy(call.get(), *request, &status); !rpc.ok()) return context.rpcError(rpc);
  return context.print(status, [&](std::ostream& out) { printStatus(out, status); });
}

} // namespace

absl::StatusOr<v1::SetTrackingPolicyRequest> trackRequest(const std::string& ns, const ReserveTrackFlags& flags) {
  v1::SetTrackingPolicyRequest request;
  request.set_namespace_(ns);
  request.set_function(flags.name);
  if (flags.off) {
    if (flags.minGiven || flags.maxGiven || flags.targetGiven || !flags.cooldown.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("--off cannot go with a policy's flags: ", kTrackForms));
    }
    return request; // no policy: tracking off
  }
  if (!flags.maxGiven) return absl::InvalidArgumentError(absl::StrCat("--max is missing: ", kTrackForms));
  if (!flags.targetGiven) {
    return absl::InvalidArgumentError(
        absl::StrCat("--target is missing (the utilisation to aim at, e.g. 0.6): ", kTrackForms));
  }
  v1::TrackingPolicy& policy = *request.mutable_policy();
  policy.set_min_reserved(flags.min);
  policy.set_max_reserved(flags.max);
  policy.set_target_utilization(flags.target);
  if (!flags.cooldown.empty()) {
    auto cooldown = parseDurationFlag(flags.cooldown);
    if (!cooldown.ok()) return absl::InvalidArgumentError(absl::StrCat("--cooldown: ", cooldown.status().message()));
    *policy.mutable_cooldown() = api::toProtoDuration(*cooldown);
  }
  return request;
}

std::string trackingSetBy(const v1::ScalingStatus& status) {
  if (!status.has_tracking() || !status.tracking_sets_target()) return "";
  return absl::StrCat("tracking (", status.tracked_target(), ")");
}

void addTrackingLines(KeyValueBlock& block, const v1::ScalingStatus& status) {
  if (!status.has_tracking()) return;
  block.add("tracking", policyText(status.tracking()));
  block.add("tracked", absl::StrCat(status.tracked_target(),
                                    status.has_utilization()
                                        ? absl::StrFormat(" (utilisation %.2f over 10 s)", status.utilization())
                                        : std::string(" (no instance ready to measure)")));
}

void registerTrackingCommands(CLI::App& reserve, Context& context,
                              std::function<void(std::ostream&, const v1::ScalingStatus&)> printStatus) {
  CLI::App* track = reserve.add_subcommand(
      "track", "Let a function's reserved target follow its load within --min and --max (--off: stop)");
  auto flags = std::make_shared<ReserveTrackFlags>();
  track->add_option("name", flags->name, "The function's name")->required()->type_name("NAME");
  track->add_flag("--off", flags->off, "Turn tracking off: the standing target (reserve set) applies again");
  CLI::Option* min = track->add_option("--min", flags->min, "The lowest reserved target tracking sets (default 0)")
                         ->type_name("N")
                         ->check(wholeNumberValidator(0, 1000));
  CLI::Option* max =
      track->add_option("--max", flags->max, "The highest reserved target, admitted against the memory budget")
          ->type_name("N")
          ->check(wholeNumberValidator(1, 1000));
  CLI::Option* target =
      track->add_option("--target", flags->target, "The utilisation aimed at, in (0, 1], e.g. 0.6 (40% headroom)")
          ->type_name("U")
          ->check(CLI::Range(0.0, 1.0));
  track
      ->add_option("--cooldown", flags->cooldown,
                   "How long the target stays up after the load falls, 10s to 24h (default 5m)")
      ->type_name("D");
  track->footer(commandFooter("surgectl reserve track hello --min 2 --max 10 --target 0.6\n  "
                              "surgectl reserve track hello --max 20 --target 0.5 --cooldown 10m\n  "
                              "surgectl reserve track hello --off"));
  track->callback([&context, flags, min, max, target, printStatus = std::move(printStatus)] {
    flags->minGiven = min->count() > 0;
    flags->maxGiven = max->count() > 0;
    flags->targetGiven = target->count() > 0;
    context.setAction([&context, flags, printStatus] { return runTrack(context, *flags, printStatus); });
  });
}

} // namespace surge::cli
