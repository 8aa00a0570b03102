// "surgectl reserve track": a function's target tracking policy of reserved capacity, over
// ScalingService.SetTrackingPolicy; the request its flags make (which unit tests check without a
// server), and the lines "surgectl status" shows for a policy.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

#include <absl/status/statusor.h>

#include "surge/v1/scaling.pb.h"

namespace CLI {
class App;
} // namespace CLI

namespace surge::cli {

class Context;
class KeyValueBlock;

// The flags of "reserve track". Empty cooldown: not given (the server's default, 5 minutes).
struct ReserveTrackFlags {
  std::string name;
  bool off = false;
  uint32_t min = 0;
  uint32_t max = 0;
  double target = 0;
  std::string cooldown;
  // Which of --min, --max, --target were given (with --off none may be).
  bool minGiven = false, maxGiven = false, targetGiven = false;
};

// The request the flags make, or INVALID_ARGUMENT naming the flag: --off alone, or --max and
// --target (with --min and --cooldown optional). The server checks the ranges.
absl::StatusOr<v1::SetTrackingPolicyRequest> trackRequest(const std::string& ns, const ReserveTrackFlags& flags);

// Adds "track" to the "reserve" group; the answer (a ScalingStatus) is printed with
// `printStatus`, as "surgectl status" prints it. `context` must outlive the parse and the action.
void registerTrackingCommands(CLI::App& reserve, Context& context,
                              std::function<void(std::ostream&, const v1::ScalingStatus&)> printStatus);

// "set by" and "tracking" for a status with a policy: whether tracking sets the target, the
// policy, the tracked target and the measured utilisation. Adds nothing without a policy.
void addTrackingLines(KeyValueBlock& block, const v1::ScalingStatus& status);
// What "set by" says when tracking sets the target; empty when it does not.
std::string trackingSetBy(const v1::ScalingStatus& status);

} // namespace surge::cli
