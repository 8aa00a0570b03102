// A reservation window: a count of reserved instances a function keeps for a while, once or on
// a cron schedule in a time zone, warmed ahead of each start by its lead. Plain values, shared
// by the timeline, the feasibility check, the store and the API.
#pragma once

#include <absl/status/status.h>
#include <absl/time/time.h>

#include <cstdint>
#include <string>
#include <variant>

namespace surge::reservations {

struct OneOff {
  absl::Time start;
  absl::Time end;
};

struct Recurring {
  std::string cron;        // five fields (cron_expression.h)
  absl::Duration duration; // of each window
  std::string timeZone;    // IANA name; "" is UTC
};

struct Window {
  int64_t id = 0;          // the store's; 0 until stored
  std::string functionKey; // "namespace/name"
  uint32_t count = 0;
  std::variant<OneOff, Recurring> when;
  // How long before each start its instances begin to warm.
  absl::Duration lead;
  bool leadComputed = false;
  std::string description;
  absl::Time createTime;
  // Why it cannot be honoured, when it was stored anyway; "" when it can.
  std::string warning;

  bool recurring() const { return std::holds_alternative<Recurring>(when); }
};

// Limits a window must keep, checked by validateWindow().
inline constexpr size_t kMaxDescriptionBytes = 256;
inline constexpr absl::Duration kMaxLead = absl::Hours(24);
// Windows are planned and checked this far ahead.
inline constexpr absl::Duration kHorizon = absl::Hours(24 * 90);
inline constexpr size_t kMaxWindowsPerFunction = 64;

// INVALID_ARGUMENT, saying what to change, when the window is malformed or a one-off window has
// already ended at `now`: count 1..maxInstances, end after start, a cron that parses in a known
// zone and starts at least once within a year, a duration shorter than the gap between two
// starts, a lead of at most kMaxLead, a short description.
absl::Status validateWindow(const Window& window, uint32_t maxInstances, absl::Time now);

// "2026-12-11 20:00:00 UTC"; for messages.
std::string formatTime(absl::Time time);

} // namespace surge::reservations
