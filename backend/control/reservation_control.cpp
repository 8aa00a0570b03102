// ReservationControl: validate, lead, check, store, drive, audit.
#include "control/reservation_control.h"

#include "auth/audit_log.h"
#include "reservations/warm_up.h"
#include "scheduler/scheduler.h"
#include "store/function_config.h"
#include "store/function_store.h"
#include "store/reservation_windows.h"

#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <future>
#include <map>

namespace surge::control {
namespace {

using reservations::OneOff;
using reservations::Recurring;
using reservations::Shortfall;
using reservations::Window;

std::string describe(const Window& window) {
  std::string when;
  if (const auto* once = std::get_if<OneOff>(&window.when)) {
    when = absl::StrCat("start=", reservations::formatTime(once->start), " end=", reservations::formatTime(once->end));
  } else {
    const auto& recurring = std::get<Recurring>(window.when);
    when = absl::StrCat("cron=\"", recurring.cron, "\" duration=", absl::FormatDuration(recurring.duration),
                        " tz=", recurring.timeZone.empty() ? "UTC" : recurring.timeZone);
  }
  return absl::StrCat("id=", window.id, " count=", window.count, " ", when,
                      " lead=", absl::FormatDuration(window.lead));
}

std::string whatOf(const Window& window, uint32_t memoryMb) {
  return absl::StrCat("a window of ", window.count, " instances of ", memoryMb, " MiB");
}

// Every shortfall of `window` beside the function's other windows and the other functions.
std::vector<Shortfall> shortfallsOf(const reservations::ReservationCheck& check,
                                    const reservations::FunctionReservations& without, const Window& window,
                                    const reservations::WarmUpModel& model) {
  reservations::FunctionReservations with = without;
  with.windows.push_back(window);
  std::vector<Shortfall> shortfalls;
  const std::string what = whatOf(window, without.memoryMb);
  if (auto memory = check.memory(without, with, what)) shortfalls.push_back(*memory);
  if (auto warmUp = check.warmUp(window, without.standing, without.windows, model, what)) {
    shortfalls.push_back(*warmUp);
  }
  return shortfalls;
}

std::string warningOf(const std::vector<Shortfall>& shortfalls) {
  std::vector<std::string> messages;
  for (const Shortfall& shortfall : shortfalls) messages.push_back(shortfall.message);
  return absl::StrJoin(messages, "; ");
}

} // namespace

ReservationControl::ReservationControl(store::FunctionStore& functions, store::ReservationWindows& windows,
                                       ReservationAdmission& admission, WindowDriver& driver,
                                       scheduler::Scheduler& scheduler, auth::AuditLog& audit,
                                       const common::Clock& clock)
    : functions_(functions), windows_(windows), admission_(admission), driver_(driver), scheduler_(scheduler),
      audit_(audit), clock_(clock) {}

absl::Status ReservationControl::start() {
  auto stored = windows_.list();
  if (!stored.ok()) return stored.status();
  std::map<std::string, std::vector<Window>> byFunction;
  for (store::StoredWindow& window : *stored) byFunction[window.window.functionKey].push_back(window.window);
  {
    common::MutexLock lock(admission_.mutex());
    const absl::Time now = clock_.now();
    for (const auto& [key, windows] : byFunction) {
      auto ref = common::FunctionRef::parse(key);
      if (!ref) continue;
      auto record = functions_.getFunction(ref->ns, ref->name);
      if (!record.ok()) continue;
      auto all = admission_.read(*record);
      if (!all.ok()) return all.status();
      const reservations::ReservationCheck check(all->others, admission_.limits().memoryBudgetMb, now);
      reservations::WarmUpModel model = admission_.limits().warmUp;
      model.startTime = reservations::typicalStart(record->config.runtime);
      // Each window against everything else, as if it were added now.
      for (const Window& window : windows) {
        reservations::FunctionReservations without = all->own;
        std::erase_if(without.windows, [&](const Window& other) { return other.id == window.id; });
        const std::string warning = warningOf(shortfallsOf(check, without, window, model));
        if (!warning.empty()) {
          spdlog::warn("reservations: window {} of {} cannot be honoured by this server: {}", window.id, key, warning);
        }
        if (warning != window.warning) {
          if (auto status = windows_.setWarning(window.id, warning); !status.ok()) return status;
        }
      }
    }
  }
  for (auto& [key, windows] : byFunction) driver_.setWindows(key, std::move(windows));
  return absl::OkStatus();
}

absl::Duration ReservationControl::startTime(const std::string& key, common::Runtime runtime) const {
  auto answer = std::make_shared<std::promise<absl::Duration>>();
  auto measured = answer->get_future();
  scheduler_.status(key, [answer](scheduler::FunctionStatus status) { answer->set_value(status.meanStart); });
  // The loop answers in microseconds; only a server stuck elsewhere takes this long.
  if (measured.wait_for(std::chrono::seconds(10)) == std::future_status::ready) {
    const absl::Duration mean = measured.get();
    if (mean > absl::ZeroDuration()) return mean;
  }
  return reservations::typicalStart(runtime);
}

absl::StatusOr<ReservationControl::Added>
ReservationControl::add(const auth::Principal& who, const common::FunctionRef& ref, Window window, AddOptions options) {
  auto record = functions_.getFunction(ref.ns, ref.name);
  if (!record.ok()) return record.status();
  store::FunctionConfig config = record->config;
  store::resolveDefaults(config);
  const absl::Time now = clock_.now();
  window.id = 0;
  window.functionKey = ref.key();
  window.createTime = now;
  window.warning.clear();
  window.leadComputed = !options.leadGiven;
  if (!options.leadGiven) window.lead = absl::ZeroDuration();
  if (auto valid = reservations::validateWindow(window, config.maxInstances, now); !valid.ok()) return valid;
  reservations::WarmUpModel model = admission_.limits().warmUp;
  model.startTime = startTime(ref.key(), config.runtime);

  common::MutexLock lock(admission_.mutex());
  auto all = admission_.read(*record);
  if (!all.ok()) return all.status();
  if (all->own.windows.size() >= reservations::kMaxWindowsPerFunction) {
    return absl::FailedPreconditionError(absl::StrCat(ref.key(), " has ", all->own.windows.size(),
                                                      " reservation windows, the most allowed; remove one first"));
  }
  const reservations::ReservationCheck check(all->others, admission_.limits().memoryBudgetMb, now);
  if (!options.leadGiven) window.lead = check.defaultLead(window, all->own.standing, all->own.windows, model);
  Added added{window, shortfallsOf(check, all->own, window, model)};
  added.window.warning = warningOf(added.shortfalls);
  if (options.validateOnly) {
    added.window.createTime = absl::Time(); // nothing was created
    return added;
  }
  if (!added.shortfalls.empty() && !options.force) return absl::ResourceExhaustedError(added.window.warning);

  auto stored = windows_.add(record->id, added.window);
  if (!stored.ok()) return stored.status();
  added.window = *stored;
  if (auto status = refreshDriver(record->id, ref.key()); !status.ok()) return status;
  (void)audit_.record(who, "reservation.add", ref.key(),
                      absl::StrCat(describe(added.window), added.shortfalls.empty() ? "" : " forced"));
  return added;
}

absl::StatusOr<std::vector<Window>> ReservationControl::list(const common::FunctionRef& ref) const {
  auto record = functions_.getFunction(ref.ns, ref.name);
  if (!record.ok()) return record.status();
  return windowsOf(record->id);
}

absl::StatusOr<std::vector<Window>> ReservationControl::windowsOf(int64_t functionId) const {
  auto stored = windows_.list(functionId);
  if (!stored.ok()) return stored.status();
  std::vector<Window> windows;
  for (store::StoredWindow& window : *stored) windows.push_back(std::move(window.window));
  return windows;
}

absl::Status ReservationControl::remove(const auth::Principal& who, const common::FunctionRef& ref, int64_t id) {
  auto record = functions_.getFunction(ref.ns, ref.name);
  if (!record.ok()) return record.status();
  common::MutexLock lock(admission_.mutex());
  if (auto status = windows_.remove(record->id, id); !status.ok()) return status;
  if (auto status = refreshDriver(record->id, ref.key()); !status.ok()) return status;
  (void)audit_.record(who, "reservation.remove", ref.key(), absl::StrCat("id=", id));
  return absl::OkStatus();
}

absl::Status ReservationControl::refreshDriver(int64_t functionId, const std::string& key) {
  auto windows = windowsOf(functionId);
  if (!windows.ok()) return windows.status();
  driver_.setWindows(key, std::move(*windows));
  return absl::OkStatus();
}

absl::StatusOr<ReservationControl::Plan> ReservationControl::plan(const common::FunctionRef& ref, absl::Time from,
                                                                  absl::Time to, size_t limit) const {
  auto record = functions_.getFunction(ref.ns, ref.name);
  if (!record.ok()) return record.status();
  auto windows = windowsOf(record->id); // by id: the function was just read
  if (!windows.ok()) return windows.status();
  Plan plan;
  plan.standing = record->config.reservedTarget;
  plan.steps =
      reservations::planSteps(plan.standing, reservations::openingsOf(*windows, from, to), from, to, limit + 1);
  if (plan.steps.size() > limit) {
    plan.steps.resize(limit);
    plan.truncated = true;
  }
  return plan;
}

void ReservationControl::deleted(const common::FunctionRef& ref) { driver_.setWindows(ref.key(), {}); }

} // namespace surge::control
