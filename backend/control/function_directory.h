// FunctionDirectory: the scheduler's view of each function, kept in step with the store. It
// turns store records into scheduler definitions, caches them for the invoke path (which then
// reads no SQLite), and hands every change to the scheduler. Changes come from FunctionControl.
#pragma once

#include "common/mutex.h"
#include "scheduler/scheduler_types.h"

#include <absl/base/thread_annotations.h>
#include <absl/status/statusor.h>

#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace surge::store {
class FunctionStore;
struct FunctionRecord;
} // namespace surge::store
namespace surge::scheduler {
class Scheduler;
}

namespace surge::control {

// The definition the scheduler runs for `record`, whose active version is unpacked at `codeDir`.
scheduler::FunctionDefinitionPtr toDefinition(const store::FunctionRecord& record,
                                              const std::filesystem::path& codeDir);

// Thread-safe. cached() never blocks; the other calls may read SQLite and belong on workers.
class FunctionDirectory {
public:
  FunctionDirectory(store::FunctionStore& store, scheduler::Scheduler& scheduler);

  // The cached definition, or null.
  scheduler::FunctionDefinitionPtr cached(const std::string& ns, const std::string& name) const;
  // Reads the function from the store and caches its definition. NOT_FOUND when it does not exist.
  absl::StatusOr<scheduler::FunctionDefinitionPtr> load(const std::string& ns, const std::string& name);
  // The instance spec of a retained version, with the function's current config. NOT_FOUND
  // naming the version when it is not retained.
  absl::StatusOr<std::shared_ptr<const engine::InstanceSpec>> versionSpec(const scheduler::FunctionDefinition& function,
                                                                          int64_t version) const;

  // The store changed the function: refresh the cache and tell the scheduler if it runs or
  // reserves anything for it.
  void changed(const store::FunctionRecord& record);
  // The function was deleted: forget it, and the scheduler drains its instances. A change or
  // load of that function (its id) that read the store before the delete is ignored from now on.
  void deleted(const std::string& ns, const std::string& name, int64_t functionId);
  // Hands every function with a reserved target to the scheduler, which warms its instances.
  // Called once at start-up, followed by refreshNetworkKinds() (FunctionControl::start).
  absl::Status warmReserved();
  // Tells the scheduler which network-on sandboxes the stored functions would start, so that
  // the engine pre-starts those and no others. Called at start-up; changed() and deleted() call
  // it too. Reads SQLite: call it on a worker.
  absl::Status refreshNetworkKinds();

private:
  // changed() without the network kinds: caches the definition and tells the scheduler.
  void sync(const store::FunctionRecord& record);
  void refreshNetworkKindsOrWarn();
  // Caches `definition` unless a newer one of the same function is already there. False when
  // the function has been deleted.
  bool rememberLocked(const scheduler::FunctionDefinitionPtr& definition) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  store::FunctionStore& store_;
  scheduler::Scheduler& scheduler_;
  mutable common::Mutex mu_;
  std::unordered_map<std::string, scheduler::FunctionDefinitionPtr> definitions_ ABSL_GUARDED_BY(mu_);
  // Ids of deleted functions. Ids are never reused (AUTOINCREMENT), and this grows by 8 bytes
  // per delete until the server restarts.
  std::unordered_set<int64_t> deletedIds_ ABSL_GUARDED_BY(mu_);
  // Orders refreshNetworkKinds(): what it posts last was read last.
  common::Mutex networkKindsMu_;
  std::set<engine::NetworkSandboxKind> networkKinds_ ABSL_GUARDED_BY(networkKindsMu_);
};

} // namespace surge::control
