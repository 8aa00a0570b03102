// "surgectl reserve add | list | remove": a function's scheduled reservation windows, over
// ScalingService; and the request add's flags make, which unit tests check without a server.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <absl/status/statusor.h>

#include "surge/v1/scaling.pb.h"

namespace CLI {
class App;
} // namespace CLI

namespace surge::cli {

class Context;

// Adds "add", "list" and "remove" to the "reserve" group; `context` must outlive the parse and
// the action.
void registerReservationCommands(CLI::App& reserve, Context& context);

// The flags of "reserve add". Empty strings: not given.
struct ReserveAddFlags {
  std::string name;
  uint32_t count = 0;
  // A one-off window: two times as parseWindowTime() reads them, local ones in timeZone.
  std::string start;
  std::string end;
  // A recurring window: a five-field cron expression read in timeZone, and how long each lasts.
  std::string cron;
  std::string duration;
  std::string timeZone; // IANA; empty: UTC
  std::string lead;     // empty: the server computes it
  std::string description;
  bool force = false;
  bool dryRun = false;
};

// What "reserve add" asks for in namespace `ns`. INVALID_ARGUMENT, saying what is allowed, for a
// bad function name, both window forms or neither (or half of one), an unknown zone, a bad time,
// an end not after its start, a cron expression without five fields, a bad or non-positive
// duration, a lead over 24 hours, or a description over 256 bytes.
absl::StatusOr<surge::v1::AddReservationScheduleRequest> addReservationRequest(std::string_view ns,
                                                                               const ReserveAddFlags& flags);

} // namespace surge::cli
