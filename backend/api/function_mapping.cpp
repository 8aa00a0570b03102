// Conversions between the surge.v1 function messages and the store's records, and the
// scheduler's instance kinds.
#include "api/function_mapping.h"

#include "api/proto_time.h"
#include "common/absl_compat.h"
#include "common/names.h"

#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>

#include <array>
#include <functional>
#include <string_view>

namespace surge::api {
namespace {

absl::StatusOr<common::Runtime> runtimeFromProto(v1::Runtime runtime) {
  switch (runtime) {
  case v1::RUNTIME_PYTHON3: return common::Runtime::kPython3;
  case v1::RUNTIME_NODEJS: return common::Runtime::kNodejs;
  case v1::RUNTIME_CUSTOM: return common::Runtime::kCustom;
  default: return absl::InvalidArgumentError("runtime is required: RUNTIME_PYTHON3, RUNTIME_NODEJS or RUNTIME_CUSTOM");
  }
}

v1::Runtime runtimeToProto(common::Runtime runtime) {
  switch (runtime) {
  case common::Runtime::kPython3: return v1::RUNTIME_PYTHON3;
  case common::Runtime::kNodejs: return v1::RUNTIME_NODEJS;
  case common::Runtime::kCustom: return v1::RUNTIME_CUSTOM;
  }
  return v1::RUNTIME_UNSPECIFIED;
}

// One entry per FunctionConfig field: how to copy it from a proto into the domain config.
struct MaskedField {
  std::string_view path;
  std::function<absl::Status(const v1::FunctionConfig&, store::FunctionConfig&)> copy;
};

absl::Status copyRuntime(const v1::FunctionConfig& s, store::FunctionConfig& t) {
  auto runtime = runtimeFromProto(s.runtime());
  if (!runtime.ok()) return runtime.status();
  t.runtime = *runtime;
  return absl::OkStatus();
}

template <typename Member, typename Getter> MaskedField field(std::string_view path, Member member, Getter getter) {
  return {path, [member, getter](const v1::FunctionConfig& s, store::FunctionConfig& t) {
            t.*member = (s.*getter)();
            return absl::OkStatus();
          }};
}

const std::array<MaskedField, 14>& maskedFields() {
  using C = store::FunctionConfig;
  using P = v1::FunctionConfig;
  static const std::array<MaskedField, 14> fields = {
      MaskedField{"runtime", copyRuntime},
      field("handler", &C::handler, &P::handler),
      field("initializer", &C::initializer, &P::initializer),
      field("initializer_timeout_seconds", &C::initializerTimeoutSeconds, &P::initializer_timeout_seconds),
      field("memory_mb", &C::memoryMb, &P::memory_mb),
      field("timeout_seconds", &C::timeoutSeconds, &P::timeout_seconds),
      field("instance_concurrency", &C::instanceConcurrency, &P::instance_concurrency),
      field("max_instances", &C::maxInstances, &P::max_instances),
      field("queue_timeout_seconds", &C::queueTimeoutSeconds, &P::queue_timeout_seconds),
      field("max_queue_length", &C::maxQueueLength, &P::max_queue_length),
      field("reserved_target", &C::reservedTarget, &P::reserved_target),
      field("network_access", &C::networkAccess, &P::network_access),
      MaskedField{"environment",
                  [](const P& s, C& t) {
                    t.environment = {s.environment().begin(), s.environment().end()};
                    return absl::OkStatus();
                  }},
      field("description", &C::description, &P::description),
  };
  return fields;
}

} // namespace

std::string namespaceOrDefault(const std::string& ns) {
  return ns.empty() ? std::string(common::kDefaultNamespace) : ns;
}

absl::StatusOr<store::FunctionConfig> fromProto(const v1::FunctionConfig& config) {
  store::FunctionConfig result;
  for (const MaskedField& f : maskedFields()) {
    if (auto status = f.copy(config, result); !status.ok()) return status;
  }
  return result;
}

void toProto(const store::FunctionRecord& record, v1::Function& out) {
  out.set_namespace_(record.ns);
  out.set_name(record.name);
  const store::FunctionConfig& c = record.config;
  v1::FunctionConfig& p = *out.mutable_config();
  p.set_runtime(runtimeToProto(c.runtime));
  p.set_handler(c.handler);
  p.set_initializer(c.initializer);
  p.set_initializer_timeout_seconds(c.initializerTimeoutSeconds);
  p.set_memory_mb(c.memoryMb);
  p.set_timeout_seconds(c.timeoutSeconds);
  p.set_instance_concurrency(c.instanceConcurrency);
  p.set_max_instances(c.maxInstances);
  p.set_queue_timeout_seconds(c.effectiveQueueTimeoutSeconds());
  p.set_max_queue_length(c.maxQueueLength);
  p.set_reserved_target(c.reservedTarget);
  p.set_network_access(c.networkAccess);
  p.mutable_environment()->insert(c.environment.begin(), c.environment.end());
  p.set_description(c.description);
  out.set_active_version(record.activeVersion);
  out.set_revision(record.revision);
  *out.mutable_create_time() = toProtoTimestamp(record.createTime);
  *out.mutable_update_time() = toProtoTimestamp(record.updateTime);
}

void toProto(const store::CodeVersionRecord& record, v1::CodeVersion& out) {
  out.set_version(record.version);
  out.set_sha256(record.sha256);
  out.set_size_bytes(record.sizeBytes);
  out.set_unpacked_bytes(record.unpackedBytes);
  out.set_file_count(record.fileCount);
  *out.mutable_upload_time() = toProtoTimestamp(record.uploadTime);
  out.set_active(record.active);
}

v1::InstanceKind toProto(scheduler::InstanceKind kind) {
  switch (kind) {
  case scheduler::InstanceKind::kReserved: return v1::RESERVED;
  case scheduler::InstanceKind::kOnDemand: return v1::ON_DEMAND;
  }
  return v1::INSTANCE_KIND_UNSPECIFIED;
}

absl::Status applyFieldMask(const google::protobuf::FieldMask& mask, const v1::FunctionConfig& source,
                            store::FunctionConfig& target) {
  if (mask.paths().empty()) {
    return absl::InvalidArgumentError("update_mask is empty: name the config fields to change, e.g. memory_mb");
  }
  for (std::string_view path : mask.paths()) {
    if (path.rfind("config.", 0) == 0) path.remove_prefix(7);
    const MaskedField* match = nullptr;
    for (const MaskedField& f : maskedFields()) {
      if (f.path == path) match = &f;
    }
    if (match == nullptr) {
      std::vector<std::string> allowed;
      for (const MaskedField& f : maskedFields()) allowed.emplace_back(f.path);
      return absl::InvalidArgumentError(
          absl::StrCat("update_mask path '", common::toAbsl(path),
                       "' is not a FunctionConfig field; allowed: ", absl::StrJoin(allowed, ", ")));
    }
    if (auto status = match->copy(source, target); !status.ok()) return status;
  }
  return absl::OkStatus();
}

} // namespace surge::api
