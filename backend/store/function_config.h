// A function's configuration as the store keeps it, with its defaults and limits.
#pragma once

#include "common/runtime.h"
#include "common/tracking_policy.h"

#include <absl/status/status.h>
#include <absl/time/time.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace surge::store {

// Limits and defaults, named once so that validation, docs and tests agree.
struct ConfigLimits {
  static constexpr uint32_t kMinMemoryMb = 64, kMaxMemoryMb = 4096, kDefaultMemoryMb = 128;
  static constexpr uint32_t kMinTimeoutS = 1, kMaxTimeoutS = 900, kDefaultTimeoutS = 60;
  static constexpr uint32_t kDefaultInitializerTimeoutS = 30;
  static constexpr uint32_t kMinConcurrency = 1, kMaxConcurrency = 100, kDefaultConcurrency = 1;
  static constexpr uint32_t kMaxInstances = 1000, kDefaultMaxInstances = 100;
  static constexpr uint32_t kMaxQueueLength = 100000, kDefaultMaxQueueLength = 1000;
  static constexpr size_t kMaxEnvironmentBytes = 4096;
  static constexpr size_t kMaxDescriptionBytes = 256;
};

// Field names follow the proto's FunctionConfig. A numeric 0 means "not set"; resolveDefaults()
// replaces it with the default so that stored configs are complete. The one exception is
// queueTimeoutSeconds, where 0 is kept and means "follow timeoutSeconds", so that raising the
// timeout later raises a defaulted queue timeout with it.
struct FunctionConfig {
  common::Runtime runtime = common::Runtime::kPython3;
  std::string handler;
  std::string initializer;
  uint32_t initializerTimeoutSeconds = 0;
  uint32_t memoryMb = 0;
  uint32_t timeoutSeconds = 0;
  uint32_t instanceConcurrency = 0;
  uint32_t maxInstances = 0;
  uint32_t queueTimeoutSeconds = 0;
  uint32_t maxQueueLength = 0;
  uint32_t reservedTarget = 0;
  bool networkAccess = false;
  std::map<std::string, std::string> environment;
  std::string description;
  // A target tracking policy: the reserved target follows the load within [min, max], and
  // reservedTarget does not apply while it is on. Set only through SetTrackingPolicy.
  std::optional<common::TrackingPolicy> tracking;

  // The most this config can reserve: the policy's max, or else the standing target. What
  // reservation admission counts.
  uint32_t reservedCeiling() const { return tracking ? tracking->maxReserved : reservedTarget; }

  uint32_t effectiveQueueTimeoutSeconds() const {
    return queueTimeoutSeconds != 0 ? queueTimeoutSeconds : timeoutSeconds;
  }

  bool operator==(const FunctionConfig&) const = default;
};

// Replaces every 0 with its default, except queueTimeoutSeconds (see above).
void resolveDefaults(FunctionConfig& config);

// OK, or INVALID_ARGUMENT naming the field, the value and what is allowed. Expects resolved
// defaults.
absl::Status validateConfig(const FunctionConfig& config);

// OK, or INVALID_ARGUMENT naming the field, the value and what is allowed: min ≤ max ≤
// `maxInstances`, max ≥ 1, target utilisation in (0, 1], cool-down 10 s to 24 h in whole seconds.
absl::Status validateTrackingPolicy(const common::TrackingPolicy& policy, uint32_t maxInstances);

// Checks "module.function" syntax; `field` names the field in the message.
absl::Status validateHandlerSyntax(std::string_view field, std::string_view handler);

// The file, relative to the code root, that must exist for `handler` on `runtime`:
// python3 "pkg.mod.fn" -> "pkg/mod.py", nodejs "lib/index.fn" -> "lib/index.js",
// custom -> "bootstrap" (which must also be executable).
std::string handlerFile(common::Runtime runtime, std::string_view handler);

} // namespace surge::store
