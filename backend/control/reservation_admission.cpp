// ReservationAdmission: gathers the reservations from the store and asks the pure checks.
#include "control/reservation_admission.h"

#include "common/function_ref.h"
#include "store/function_config.h"
#include "store/function_store.h"
#include "store/reservation_windows.h"

#include <absl/strings/str_cat.h>

#include <map>

namespace surge::control {

reservations::FunctionReservations reservationsOf(const std::string& key, const store::FunctionConfig& config,
                                                  std::vector<reservations::Window> windows) {
  store::FunctionConfig resolved = config;
  store::resolveDefaults(resolved);
  // A tracking policy may raise the target to its max at any moment: its max stands.
  return {key, resolved.memoryMb, resolved.reservedCeiling(), std::move(windows)};
}

ReservationAdmission::ReservationAdmission(store::FunctionStore& functions, store::ReservationWindows& windows,
                                           ReservationLimits limits)
    : functions_(functions), windows_(windows), limits_(limits) {}

absl::StatusOr<ReservationAdmission::Reservations>
ReservationAdmission::read(const store::FunctionRecord& record) const {
  auto stored = windows_.list();
  if (!stored.ok()) return stored.status();
  auto reserved = functions_.listReservedFunctions();
  if (!reserved.ok()) return reserved.status();
  // By function id: the functions with a standing target, then those with windows only.
  std::map<int64_t, reservations::FunctionReservations> byId;
  for (const store::FunctionRecord& function : *reserved) {
    byId.emplace(function.id,
                 reservationsOf(common::FunctionRef{function.ns, function.name}.key(), function.config, {}));
  }
  for (store::StoredWindow& window : *stored) {
    auto it = byId.find(window.functionId);
    if (it == byId.end()) {
      auto ref = common::FunctionRef::parse(window.window.functionKey);
      if (!ref) continue;
      auto function = functions_.getFunction(ref->ns, ref->name);
      if (!function.ok()) continue; // deleted since the list was read: its windows went with it
      it = byId.emplace(window.functionId, reservationsOf(window.window.functionKey, function->config, {})).first;
    }
    it->second.windows.push_back(std::move(window.window));
  }
  Reservations result;
  auto own = byId.find(record.id);
  result.own = own != byId.end() ? own->second
                                 : reservationsOf(common::FunctionRef{record.ns, record.name}.key(), record.config, {});
  for (auto& [id, function] : byId) {
    if (id != record.id) result.others.push_back(std::move(function));
  }
  return result;
}

absl::Status ReservationAdmission::checkConfig(const store::FunctionRecord& current, const store::FunctionConfig& after,
                                               absl::Time now) const {
  store::FunctionConfig resolved = after;
  store::resolveDefaults(resolved);
  if (!store::validateConfig(resolved).ok()) return absl::OkStatus();
  store::FunctionConfig before = current.config;
  store::resolveDefaults(before);
  if (resolved.reservedCeiling() <= before.reservedCeiling() && resolved.memoryMb <= before.memoryMb) {
    return absl::OkStatus(); // lowering always goes through, even over a budget that shrank
  }
  auto all = read(current);
  if (!all.ok()) return all.status();
  reservations::FunctionReservations changed = reservationsOf(all->own.key, resolved, all->own.windows);
  const reservations::ReservationCheck check(all->others, limits_.memoryBudgetMb, now);
  const std::string what = resolved.tracking ? absl::StrCat("a tracking policy up to ", resolved.tracking->maxReserved,
                                                            " instances of ", resolved.memoryMb, " MiB")
                                             : absl::StrCat("reserving ", resolved.reservedTarget, " instances of ",
                                                            resolved.memoryMb, " MiB");
  if (auto shortfall = check.memory(all->own, changed, what)) {
    return absl::ResourceExhaustedError(shortfall->message);
  }
  return absl::OkStatus();
}

} // namespace surge::control
