// FunctionControl: every change to a function, made once for all callers. Each change is checked
// (more reserved memory must fit the instance memory budget beside every reservation window:
// ReservationAdmission), stored, handed to the directory and the scheduler, and recorded in the
// audit trail under the key that made it. The gRPC services only check the caller, translate,
// and call it.
#pragma once

#include "common/function_ref.h"
#include "common/mutex.h"
#include "common/tracking_policy.h"
#include "control/function_directory.h"
#include "control/reservation_admission.h"
#include "control/window_driver.h"

#include <absl/status/statusor.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace surge::store {
class CodeUpload;
struct FunctionConfig;
struct UploadResult;
} // namespace surge::store
namespace surge::auth {
class AuditLog;
struct Principal;
} // namespace surge::auth

namespace surge::control {

// "min 2, max 10, target 0.6": a policy as the messages name it.
std::string describeTracking(const common::TrackingPolicy& policy);

// Thread-safe. Every call may read and write SQLite, and some wait for the scheduler's loop:
// call them on workers, never on a gRPC reactor or the scheduler's loop.
class FunctionControl {
public:
  using Mutation = std::function<absl::Status(store::FunctionConfig&)>;

  FunctionControl(store::FunctionStore& store, scheduler::Scheduler& scheduler, auth::AuditLog& audit,
                  ReservationAdmission& admission, WindowDriver& windows, const common::Clock& clock);

  // The scheduler's view of the functions, for the invoke and status paths.
  FunctionDirectory& directory() { return directory_; }

  // Hands the reserved targets and the network kinds of the stored functions to the scheduler.
  // Called once, before serving.
  absl::Status start();

  // Creates the function, if a reserved target in `config` fits the instance memory budget beside
  // the other functions' reservations and windows (RESOURCE_EXHAUSTED with the figures otherwise).
  absl::StatusOr<store::FunctionRecord> create(const auth::Principal& who, const common::FunctionRef& ref,
                                               const store::FunctionConfig& config);
  // Changes the config through `mutate` (see store::FunctionStore::updateConfig). More reserved
  // memory (a higher target, or more memory per instance) must still fit the budget at every
  // moment of the windows' horizon; lowering always goes through, even on a server whose budget
  // shrank. The write commits only if the function is still at the revision that was checked,
  // and is checked again otherwise. expectedRevision 0 means unconditional. `auditDetail` says
  // what changed ("fields=memory_mb").
  absl::StatusOr<store::FunctionRecord> updateConfig(const auth::Principal& who, const common::FunctionRef& ref,
                                                     int64_t expectedRevision, const Mutation& mutate,
                                                     const std::string& auditDetail);
  // Sets the reserved target, as updateConfig() does. FAILED_PRECONDITION while a tracking
  // policy is on, naming the command that turns it off.
  absl::StatusOr<store::FunctionRecord> setReservedTarget(const auth::Principal& who, const common::FunctionRef& ref,
                                                          uint32_t count);
  // Sets (or with nullopt turns off) the function's target tracking policy, as updateConfig()
  // does: validated (INVALID_ARGUMENT), its max admitted as a standing target against the
  // memory budget and the windows (RESOURCE_EXHAUSTED), stored, synced, and audited as
  // scaling.track or scaling.untrack. Turning off goes back to the stored standing target.
  absl::StatusOr<store::FunctionRecord> setTrackingPolicy(const auth::Principal& who, const common::FunctionRef& ref,
                                                          std::optional<common::TrackingPolicy> policy);
  // Deletes the function and its reservation windows; the scheduler drains its instances.
  absl::Status remove(const auth::Principal& who, const common::FunctionRef& ref, int64_t expectedRevision);
  // Makes a retained version active (a rollback, or a roll forward).
  absl::StatusOr<store::FunctionRecord> setActiveVersion(const auth::Principal& who, const common::FunctionRef& ref,
                                                         int64_t version, int64_t expectedRevision);
  // Commits a finished upload (see store::FunctionStore::commitUpload); a new version is
  // audited and handed to the scheduler.
  absl::StatusOr<store::UploadResult> commitUpload(const auth::Principal& who, const common::FunctionRef& ref,
                                                   std::unique_ptr<store::CodeUpload> upload, const std::string& sha256,
                                                   int64_t expectedRevision);

private:
  absl::StatusOr<store::FunctionRecord> storeConfig(const common::FunctionRef& ref, int64_t expectedRevision,
                                                    const Mutation& mutate);

  store::FunctionStore& store_;
  scheduler::Scheduler& scheduler_;
  auth::AuditLog& audit_;
  FunctionDirectory directory_;
  // Reservation changes go one at a time under its mutex, from the check until the change is
  // stored, so that two raises that each fit alone cannot both be accepted.
  ReservationAdmission& admission_;
  WindowDriver& windows_;
  const common::Clock& clock_;
};

} // namespace surge::control
