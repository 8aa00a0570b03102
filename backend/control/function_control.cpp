// FunctionControl: check, store, sync, audit, for every change to a function.
#include "control/function_control.h"

#include "auth/audit_log.h"
#include "common/absl_compat.h"
#include "scheduler/scheduler.h"
#include "store/function_config.h"
#include "store/function_store.h"

#include <absl/strings/str_cat.h>

namespace surge::control {

FunctionControl::FunctionControl(store::FunctionStore& store, scheduler::Scheduler& scheduler, auth::AuditLog& audit,
                                 ReservationAdmission& admission, WindowDriver& windows, const common::Clock& clock)
    : store_(store), scheduler_(scheduler), audit_(audit), directory_(store, scheduler), admission_(admission),
      windows_(windows), clock_(clock) {}

absl::Status FunctionControl::start() {
  if (auto status = directory_.warmReserved(); !status.ok()) return status;
  return directory_.refreshNetworkKinds();
}

absl::StatusOr<store::FunctionRecord> FunctionControl::create(const auth::Principal& who,
                                                              const common::FunctionRef& ref,
                                                              const store::FunctionConfig& config) {
  common::MutexLock reservations(admission_.mutex());
  store::FunctionRecord none;
  none.ns = ref.ns;
  none.name = ref.name;
  if (auto fits = admission_.checkConfig(none, config, clock_.now()); !fits.ok()) return fits;
  auto created = store_.createFunction(ref.ns, ref.name, config);
  if (!created.ok()) return created.status();
  // A reserved target counts against the budget from now on, code or not.
  directory_.changed(*created);
  (void)audit_.record(who, "function.create", ref.key(),
                      absl::StrCat("runtime=", common::toAbsl(common::runtimeName(created->config.runtime))));
  return created;
}

absl::StatusOr<store::FunctionRecord> FunctionControl::updateConfig(const auth::Principal& who,
                                                                    const common::FunctionRef& ref,
                                                                    int64_t expectedRevision, const Mutation& mutate,
                                                                    const std::string& auditDetail) {
  auto updated = storeConfig(ref, expectedRevision, mutate);
  if (!updated.ok()) return updated;
  (void)audit_.record(who, "function.update", ref.key(), absl::StrCat(auditDetail, " revision=", updated->revision));
  return updated;
}

absl::StatusOr<store::FunctionRecord>
FunctionControl::setReservedTarget(const auth::Principal& who, const common::FunctionRef& ref, uint32_t count) {
  auto updated = storeConfig(ref, 0, [&ref, count](store::FunctionConfig& config) {
    if (config.tracking) {
      const std::string ns = ref.ns == "default" ? "" : absl::StrCat(" -n ", ref.ns);
      return absl::FailedPreconditionError(absl::StrCat(
          ref.key(), " follows a tracking policy (", describeTracking(*config.tracking),
          "); turn it off with `surgectl", ns, " reserve track ", ref.name, " --off` to set a standing target"));
    }
    config.reservedTarget = count;
    return absl::OkStatus();
  });
  if (!updated.ok()) return updated;
  (void)audit_.record(who, "scaling.reserve", ref.key(),
                      absl::StrCat("count=", count, " revision=", updated->revision));
  return updated;
}

absl::StatusOr<store::FunctionRecord> FunctionControl::setTrackingPolicy(const auth::Principal& who,
                                                                         const common::FunctionRef& ref,
                                                                         std::optional<common::TrackingPolicy> policy) {
  auto updated = storeConfig(ref, 0, [&policy](store::FunctionConfig& config) {
    if (policy) {
      store::FunctionConfig resolved = config;
      store::resolveDefaults(resolved);
      if (auto valid = store::validateTrackingPolicy(*policy, resolved.maxInstances); !valid.ok()) return valid;
    }
    config.tracking = policy;
    return absl::OkStatus();
  });
  if (!updated.ok()) return updated;
  if (policy) {
    (void)audit_.record(
        who, "scaling.track", ref.key(),
        absl::StrCat("min=", policy->minReserved, " max=", policy->maxReserved, " target=", policy->targetUtilization,
                     " cooldown=", absl::ToInt64Seconds(policy->cooldown), "s revision=", updated->revision));
  } else {
    (void)audit_.record(who, "scaling.untrack", ref.key(),
                        absl::StrCat("standing=", updated->config.reservedTarget, " revision=", updated->revision));
  }
  return updated;
}

std::string describeTracking(const common::TrackingPolicy& policy) {
  return absl::StrCat("min ", policy.minReserved, ", max ", policy.maxReserved, ", target ", policy.targetUtilization);
}

absl::StatusOr<store::FunctionRecord> FunctionControl::storeConfig(const common::FunctionRef& ref,
                                                                   int64_t expectedRevision, const Mutation& mutate) {
  // A change that raced ours (a description, an upload) moved the revision between the check
  // and the write; the check is then made again on what is stored now, a few times at most.
  constexpr int kAttempts = 5;
  common::MutexLock reservations(admission_.mutex());
  for (int attempt = 1;; ++attempt) {
    auto current = store_.getFunction(ref.ns, ref.name);
    if (!current.ok()) return current.status();
    store::FunctionConfig after = current->config;
    if (auto status = mutate(after); !status.ok()) return status;
    if (auto fits = admission_.checkConfig(*current, after, clock_.now()); !fits.ok()) return fits;
    const int64_t checkedRevision = expectedRevision != 0 ? expectedRevision : current->revision;
    auto updated = store_.updateConfig(ref.ns, ref.name, checkedRevision, mutate);
    if (updated.ok()) {
      directory_.changed(*updated);
      return updated;
    }
    if (updated.status().code() != absl::StatusCode::kAborted || expectedRevision != 0 || attempt == kAttempts) {
      return updated.status();
    }
  }
}

absl::Status FunctionControl::remove(const auth::Principal& who, const common::FunctionRef& ref,
                                     int64_t expectedRevision) {
  auto deleted = store_.deleteFunction(ref.ns, ref.name, expectedRevision);
  if (!deleted.ok()) return deleted.status();
  directory_.deleted(ref.ns, ref.name, *deleted);
  windows_.setWindows(ref.key(), {}); // deleted with the function
  (void)audit_.record(who, "function.delete", ref.key());
  return absl::OkStatus();
}

absl::StatusOr<store::FunctionRecord> FunctionControl::setActiveVersion(const auth::Principal& who,
                                                                        const common::FunctionRef& ref, int64_t version,
                                                                        int64_t expectedRevision) {
  auto updated = store_.setActiveVersion(ref.ns, ref.name, version, expectedRevision);
  if (!updated.ok()) return updated;
  (void)audit_.record(who, "code.activate", ref.key(), absl::StrCat("version=", version));
  directory_.changed(*updated);
  return updated;
}

absl::StatusOr<store::UploadResult> FunctionControl::commitUpload(const auth::Principal& who,
                                                                  const common::FunctionRef& ref,
                                                                  std::unique_ptr<store::CodeUpload> upload,
                                                                  const std::string& sha256, int64_t expectedRevision) {
  auto result = store_.commitUpload(std::move(upload), sha256, expectedRevision);
  if (!result.ok() || !result->created) return result;
  (void)audit_.record(who, "code.upload", ref.key(),
                      absl::StrCat("version=", result->version.version, " sha256=", result->version.sha256));
  directory_.changed(result->function);
  return result;
}

} // namespace surge::control
