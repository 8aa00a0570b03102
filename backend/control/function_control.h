// FunctionControl: every change to a function, made once for all callers. Each change is checked
// (a raised reservation must fit the instance memory budget), stored, handed to the directory and
// the scheduler, and recorded in the audit trail under the key that made it. The gRPC services
// only check the caller, translate, and call it.
#pragma once

#include "common/function_ref.h"
#include "common/mutex.h"
#include "control/function_directory.h"

#include <absl/status/statusor.h>

#include <functional>
#include <memory>
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

// Thread-safe. Every call may read and write SQLite, and some wait for the scheduler's loop:
// call them on workers, never on a gRPC reactor or the scheduler's loop.
class FunctionControl {
public:
  using Mutation = std::function<absl::Status(store::FunctionConfig&)>;

  FunctionControl(store::FunctionStore& store, scheduler::Scheduler& scheduler, auth::AuditLog& audit);

  // The scheduler's view of the functions, for the invoke and status paths.
  FunctionDirectory& directory() { return directory_; }

  // Hands the reserved targets and the network kinds of the stored functions to the scheduler.
  // Called once, before serving.
  absl::Status start();

  // Creates the function, if a reserved target in `config` fits the instance memory budget beside
  // the other functions' reservations (RESOURCE_EXHAUSTED with the figures otherwise).
  absl::StatusOr<store::FunctionRecord> create(const auth::Principal& who, const common::FunctionRef& ref,
                                               const store::FunctionConfig& config);
  // Changes the config through `mutate` (see store::FunctionStore::updateConfig). More reserved
  // memory (a higher target, or more memory per instance) must still fit the budget; lowering
  // always goes through, even on a server whose budget shrank. The check waits on the
  // scheduler's loop while no store lock is held; the write then commits only if the function is
  // still at the revision that was checked, and is checked again otherwise. expectedRevision 0
  // means unconditional. `auditDetail` says what changed ("fields=memory_mb").
  absl::StatusOr<store::FunctionRecord> updateConfig(const auth::Principal& who, const common::FunctionRef& ref,
                                                     int64_t expectedRevision, const Mutation& mutate,
                                                     const std::string& auditDetail);
  // Sets the reserved target, as updateConfig() does.
  absl::StatusOr<store::FunctionRecord> setReservedTarget(const auth::Principal& who, const common::FunctionRef& ref,
                                                          uint32_t count);
  // Deletes the function; the scheduler drains its instances.
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
  // OK when a change from `before` to `after` reserves no more memory, or when `after` fits the
  // budget (asked on the scheduler's loop, waiting for its answer). An invalid `after` is OK
  // here: the store refuses it with its own message.
  absl::Status reservationFits(const common::FunctionRef& ref, const store::FunctionConfig& before,
                               const store::FunctionConfig& after) ABSL_EXCLUSIVE_LOCKS_REQUIRED(reservationChanges_);
  absl::StatusOr<store::FunctionRecord> storeConfig(const common::FunctionRef& ref, int64_t expectedRevision,
                                                    const Mutation& mutate);

  store::FunctionStore& store_;
  scheduler::Scheduler& scheduler_;
  auth::AuditLog& audit_;
  FunctionDirectory directory_;
  // Reservation changes go one at a time, from the budget check until the directory has handed
  // the stored change to the scheduler. The next check then runs on the scheduler's loop after
  // that change (both go through it in order), so that two raises that each fit alone cannot
  // both be accepted. Never a store lock: store writes elsewhere go on while a check waits.
  common::Mutex reservationChanges_;
};

} // namespace surge::control
