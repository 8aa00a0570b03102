// FunctionDirectory: store records -> scheduler definitions, cached, and pushed on change.
#include "control/function_directory.h"

#include "common/absl_compat.h"
#include "common/function_ref.h"
#include "scheduler/scheduler.h"
#include "store/function_store.h"

#include <absl/strings/str_cat.h>
#include <spdlog/spdlog.h>

namespace surge::control {
namespace {

std::string keyOf(const std::string& ns, const std::string& name) { return common::FunctionRef{ns, name}.key(); }

} // namespace

scheduler::FunctionDefinitionPtr toDefinition(const store::FunctionRecord& record,
                                              const std::filesystem::path& codeDir) {
  auto definition = std::make_shared<scheduler::FunctionDefinition>();
  const store::FunctionConfig& config = record.config;
  definition->key = keyOf(record.ns, record.name);
  definition->functionId = record.id;
  definition->revision = record.revision;
  engine::InstanceSpec& spec = definition->spec;
  spec.function = definition->key;
  spec.functionId = record.id;
  spec.version = record.activeVersion;
  if (record.activeVersion > 0) spec.codeDir = codeDir;
  spec.runtime = config.runtime;
  spec.handler = config.handler;
  spec.initializer = config.initializer;
  spec.initializerTimeout = absl::Seconds(config.initializerTimeoutSeconds);
  spec.timeout = absl::Seconds(config.timeoutSeconds);
  spec.memoryMb = config.memoryMb;
  spec.concurrency = config.instanceConcurrency;
  spec.networkAccess = config.networkAccess;
  spec.environment = config.environment;
  definition->reservedTarget = config.reservedTarget;
  definition->tracking = config.tracking;
  definition->maxInstances = config.maxInstances;
  definition->maxQueueLength = config.maxQueueLength;
  definition->queueTimeout = absl::Seconds(config.effectiveQueueTimeoutSeconds());
  return definition;
}

FunctionDirectory::FunctionDirectory(store::FunctionStore& store, scheduler::Scheduler& scheduler)
    : store_(store), scheduler_(scheduler) {}

scheduler::FunctionDefinitionPtr FunctionDirectory::cached(const std::string& ns, const std::string& name) const {
  common::MutexLock lock(mu_);
  auto it = definitions_.find(keyOf(ns, name));
  return it == definitions_.end() ? nullptr : it->second;
}

bool FunctionDirectory::rememberLocked(const scheduler::FunctionDefinitionPtr& definition) {
  // A change or load that read the store before the function was deleted must not bring it back.
  if (deletedIds_.contains(definition->functionId)) return false;
  auto& slot = definitions_[definition->key];
  // A load that read the store before a change finished must not undo the change.
  if (slot && slot->functionId == definition->functionId && slot->revision > definition->revision) return true;
  slot = definition;
  return true;
}

absl::StatusOr<scheduler::FunctionDefinitionPtr> FunctionDirectory::load(const std::string& ns,
                                                                         const std::string& name) {
  auto record = store_.getFunction(ns, name);
  if (!record.ok()) return record.status();
  auto definition = toDefinition(*record, store_.codeDir(record->activeSha256));
  {
    common::MutexLock lock(mu_);
    if (!rememberLocked(definition)) {
      return absl::NotFoundError(absl::StrCat("function '", definition->key, "' was deleted"));
    }
  }
  return cached(ns, name);
}

absl::StatusOr<std::shared_ptr<const engine::InstanceSpec>>
FunctionDirectory::versionSpec(const scheduler::FunctionDefinition& function, int64_t version) const {
  auto ref = common::FunctionRef::parse(function.key);
  if (!ref) return absl::InternalError(absl::StrCat("'", function.key, "' is not a function's key"));
  auto versions = store_.listVersions(ref->ns, ref->name);
  if (!versions.ok()) return versions.status();
  for (const store::CodeVersionRecord& retained : *versions) {
    if (retained.version != version) continue;
    auto spec = std::make_shared<engine::InstanceSpec>(function.spec);
    spec->version = version;
    spec->codeDir = store_.codeDir(retained.sha256);
    return spec;
  }
  return absl::NotFoundError(absl::StrCat("function '", function.key, "' has no version ", version,
                                          "; list the retained versions with ListCodeVersions"));
}

void FunctionDirectory::changed(const store::FunctionRecord& record) {
  sync(record);
  refreshNetworkKindsOrWarn();
}

void FunctionDirectory::sync(const store::FunctionRecord& record) {
  auto definition = toDefinition(record, store_.codeDir(record.activeSha256));
  // Under the lock, so that the scheduler gets updates and removals in the order they are made
  // here (posting does not block).
  common::MutexLock lock(mu_);
  const bool known = definitions_.contains(definition->key);
  // A function nobody has invoked and nobody reserves costs the scheduler nothing. One with a
  // tracking policy is always held: its load must be measured.
  if ((known || definition->reservedTarget > 0 || definition->tracking) && rememberLocked(definition)) {
    scheduler_.update(definition);
  }
}

void FunctionDirectory::refreshNetworkKindsOrWarn() {
  if (auto status = refreshNetworkKinds(); !status.ok()) {
    spdlog::warn("cannot tell which network sandboxes to pre-start: {}", status.ToString());
  }
}

void FunctionDirectory::deleted(const std::string& ns, const std::string& name, int64_t functionId) {
  const std::string key = keyOf(ns, name);
  {
    common::MutexLock lock(mu_);
    deletedIds_.insert(functionId);
    definitions_.erase(key);
    scheduler_.remove(key);
  }
  refreshNetworkKindsOrWarn();
}

absl::Status FunctionDirectory::refreshNetworkKinds() {
  common::MutexLock lock(networkKindsMu_);
  auto stored = store_.listNetworkKinds();
  if (!stored.ok()) return stored.status();
  std::set<engine::NetworkSandboxKind> kinds;
  for (const auto& [runtime, memoryMb] : *stored) kinds.insert({runtime, memoryMb});
  if (kinds == networkKinds_) return absl::OkStatus();
  networkKinds_ = kinds;
  scheduler_.setNetworkKinds(std::move(kinds));
  return absl::OkStatus();
}

absl::Status FunctionDirectory::warmReserved() {
  auto functions = store_.listReservedFunctions();
  if (!functions.ok()) return functions.status();
  for (const store::FunctionRecord& record : *functions) {
    if (record.activeVersion > 0 && record.config.tracking) {
      spdlog::info("tracking the reserved target of {}/{} from {} (max {})", record.ns, record.name,
                   record.config.tracking->minReserved, record.config.tracking->maxReserved);
    } else if (record.activeVersion > 0) {
      spdlog::info("warming {} reserved instances of {}/{}", record.config.reservedTarget, record.ns, record.name);
    }
    sync(record); // the network kinds are read once, after all of them (FunctionControl::start)
  }
  return absl::OkStatus();
}

} // namespace surge::control
