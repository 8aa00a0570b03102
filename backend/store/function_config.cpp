// A function's configuration: defaults, limits and the handler-file rule.
#include "store/function_config.h"

#include "common/absl_compat.h"

#include <absl/strings/str_cat.h>
#include <absl/strings/str_replace.h>

namespace surge::store {
namespace {

using common::toAbsl;

absl::Status outOfRange(std::string_view field, int64_t value, int64_t min, int64_t max) {
  return absl::InvalidArgumentError(
      absl::StrCat(toAbsl(field), " ", value, " is out of range: allowed ", min, "-", max));
}

bool isIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool isIdentChar(char c) { return isIdentStart(c) || (c >= '0' && c <= '9'); }

absl::Status validateEnvironment(const std::map<std::string, std::string>& environment) {
  size_t total = 0;
  for (const auto& [key, value] : environment) {
    bool valid = !key.empty() && isIdentStart(key[0]);
    for (char c : key) valid = valid && isIdentChar(c);
    if (!valid) {
      return absl::InvalidArgumentError(absl::StrCat("environment variable name '", key,
                                                     "' is not allowed: use letters, digits and '_', "
                                                     "not starting with a digit"));
    }
    if (key.rfind("SURGE_", 0) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "environment variable '", key, "' is not allowed: the SURGE_ prefix is reserved for the platform"));
    }
    if (value.find_first_of(std::string_view("\0\n\r", 3)) != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("environment variable '", key,
                                                     "' contains a NUL byte or a line break; values must be one line"));
    }
    total += key.size() + value.size();
  }
  if (total > ConfigLimits::kMaxEnvironmentBytes) {
    return absl::InvalidArgumentError(absl::StrCat("environment variables total ", total, " bytes; at most ",
                                                   ConfigLimits::kMaxEnvironmentBytes, " are allowed"));
  }
  return absl::OkStatus();
}

} // namespace

void resolveDefaults(FunctionConfig& config) {
  using L = ConfigLimits;
  if (config.memoryMb == 0) config.memoryMb = L::kDefaultMemoryMb;
  if (config.timeoutSeconds == 0) config.timeoutSeconds = L::kDefaultTimeoutS;
  if (config.initializerTimeoutSeconds == 0) config.initializerTimeoutSeconds = L::kDefaultInitializerTimeoutS;
  if (config.instanceConcurrency == 0) config.instanceConcurrency = L::kDefaultConcurrency;
  if (config.maxInstances == 0) config.maxInstances = L::kDefaultMaxInstances;
  if (config.maxQueueLength == 0) config.maxQueueLength = L::kDefaultMaxQueueLength;
}

absl::Status validateHandlerSyntax(std::string_view field, std::string_view handler) {
  auto invalid = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(toAbsl(field), " '", toAbsl(handler), "' is not valid: ", toAbsl(why)));
  };
  if (handler.empty()) return absl::InvalidArgumentError(absl::StrCat(toAbsl(field), " is required"));
  if (handler.size() > 128) return invalid("at most 128 characters are allowed");
  const size_t dot = handler.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == handler.size()) {
    return invalid("use the form module.function, e.g. index.handler");
  }
  const std::string_view module = handler.substr(0, dot);
  const std::string_view function = handler.substr(dot + 1);
  if (!isIdentStart(function[0])) return invalid("the function name must start with a letter or '_'");
  for (char c : function) {
    if (!isIdentChar(c)) return invalid("the function name may hold only letters, digits and '_'");
  }
  if (module.front() == '/' || module.front() == '.' || module.find("..") != std::string_view::npos ||
      module.find("//") != std::string_view::npos || module.back() == '/') {
    return invalid("the module must be a relative path inside the code");
  }
  for (char c : module) {
    if (!(isIdentChar(c) || c == '.' || c == '/' || c == '-')) {
      return invalid("the module may hold only letters, digits, '_', '-', '.' and '/'");
    }
  }
  return absl::OkStatus();
}

absl::Status validateConfig(const FunctionConfig& config) {
  using L = ConfigLimits;
  if (auto status = validateHandlerSyntax("handler", config.handler); !status.ok()) return status;
  if (!config.initializer.empty()) {
    if (auto status = validateHandlerSyntax("initializer", config.initializer); !status.ok()) return status;
  }
  if (config.memoryMb < L::kMinMemoryMb || config.memoryMb > L::kMaxMemoryMb) {
    return outOfRange("memory_mb", config.memoryMb, L::kMinMemoryMb, L::kMaxMemoryMb);
  }
  if (config.timeoutSeconds < L::kMinTimeoutS || config.timeoutSeconds > L::kMaxTimeoutS) {
    return outOfRange("timeout_seconds", config.timeoutSeconds, L::kMinTimeoutS, L::kMaxTimeoutS);
  }
  if (config.initializerTimeoutSeconds < L::kMinTimeoutS || config.initializerTimeoutSeconds > L::kMaxTimeoutS) {
    return outOfRange("initializer_timeout_seconds", config.initializerTimeoutSeconds, L::kMinTimeoutS,
                      L::kMaxTimeoutS);
  }
  if (config.instanceConcurrency < L::kMinConcurrency || config.instanceConcurrency > L::kMaxConcurrency) {
    return outOfRange("instance_concurrency", config.instanceConcurrency, L::kMinConcurrency, L::kMaxConcurrency);
  }
  if (config.maxInstances < 1 || config.maxInstances > L::kMaxInstances) {
    return outOfRange("max_instances", config.maxInstances, 1, L::kMaxInstances);
  }
  if (config.queueTimeoutSeconds != 0 &&
      (config.queueTimeoutSeconds < L::kMinTimeoutS || config.queueTimeoutSeconds > L::kMaxTimeoutS)) {
    return outOfRange("queue_timeout_seconds", config.queueTimeoutSeconds, L::kMinTimeoutS, L::kMaxTimeoutS);
  }
  if (config.maxQueueLength < 1 || config.maxQueueLength > L::kMaxQueueLength) {
    return outOfRange("max_queue_length", config.maxQueueLength, 1, L::kMaxQueueLength);
  }
  if (config.reservedTarget > config.maxInstances) {
    return absl::InvalidArgumentError(
        absl::StrCat("reserved_target ", config.reservedTarget, " exceeds max_instances ", config.maxInstances));
  }
  if (config.tracking) {
    if (auto status = validateTrackingPolicy(*config.tracking, config.maxInstances); !status.ok()) return status;
  }
  if (config.description.size() > L::kMaxDescriptionBytes) {
    return absl::InvalidArgumentError(absl::StrCat("description is ", config.description.size(), " bytes; at most ",
                                                   L::kMaxDescriptionBytes, " are allowed"));
  }
  return validateEnvironment(config.environment);
}

absl::Status validateTrackingPolicy(const common::TrackingPolicy& policy, uint32_t maxInstances) {
  using P = common::TrackingPolicy;
  if (policy.maxReserved < 1) {
    return absl::InvalidArgumentError("tracking max_reserved must be at least 1 (turn tracking off instead)");
  }
  if (policy.minReserved > policy.maxReserved) {
    return absl::InvalidArgumentError(
        absl::StrCat("tracking min_reserved ", policy.minReserved, " exceeds max_reserved ", policy.maxReserved));
  }
  if (policy.maxReserved > maxInstances) {
    return absl::InvalidArgumentError(absl::StrCat("tracking max_reserved ", policy.maxReserved,
                                                   " exceeds max_instances ", maxInstances,
                                                   "; lower it or raise max_instances first"));
  }
  if (!(policy.targetUtilization > P::kMinUtilization && policy.targetUtilization <= P::kMaxUtilization)) {
    return absl::InvalidArgumentError(absl::StrCat("tracking target_utilization ", policy.targetUtilization,
                                                   " is outside (0, 1]; for example 0.6 keeps 40% headroom"));
  }
  if (policy.cooldown < P::kMinCooldown || policy.cooldown > P::kMaxCooldown ||
      policy.cooldown != absl::Seconds(absl::ToInt64Seconds(policy.cooldown))) {
    return absl::InvalidArgumentError(absl::StrCat("tracking cooldown ", absl::FormatDuration(policy.cooldown),
                                                   " must be whole seconds from 10s to 24h"));
  }
  return absl::OkStatus();
}

std::string handlerFile(common::Runtime runtime, std::string_view handler) {
  const std::string_view module = handler.substr(0, handler.rfind('.'));
  switch (runtime) {
  case common::Runtime::kPython3: return absl::StrCat(absl::StrReplaceAll(toAbsl(module), {{".", "/"}}), ".py");
  case common::Runtime::kNodejs: return absl::StrCat(toAbsl(module), ".js");
  case common::Runtime::kCustom: return "bootstrap";
  }
  return {};
}

} // namespace surge::store
