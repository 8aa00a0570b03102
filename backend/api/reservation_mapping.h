// Reservation windows, their shortfalls and plan steps: proto <-> reservations/.
#pragma once

#include "reservations/feasibility.h"
#include "reservations/timeline.h"
#include "reservations/window.h"
#include "surge/v1/scaling.pb.h"

#include <absl/status/statusor.h>

#include <string>

namespace surge::api {

// The window a client asks for, with whether it gave a lead. INVALID_ARGUMENT naming the field
// when one is missing or malformed (validateWindow() checks the rest).
struct RequestedWindow {
  reservations::Window window;
  bool leadGiven = false;
};
absl::StatusOr<RequestedWindow> fromProto(const v1::ReservationSchedule& schedule);

// The window as clients see it; next_start_time from `now`.
void toProto(const reservations::Window& window, const std::string& ns, const std::string& function, absl::Time now,
             v1::ReservationSchedule& out);
void toProto(const reservations::Shortfall& shortfall, v1::ReservationShortfall& out);
// A window id as the API spells it ("0" is none).
std::string windowIdText(int64_t id);

} // namespace surge::api
