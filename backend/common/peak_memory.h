// What reads an instance's memory high-water mark from its cgroup (engine/cgroups.h,
// memoryPeakReader): made by the engine once per instance, carried by each of its results and
// invocation records as a shared pointer (no allocation per invocation), and called by the log
// writer thread, off the invoke path. nullopt: the cgroup is gone.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

namespace surge::common {

using PeakMemoryReader = std::function<std::optional<uint64_t>()>;
using PeakMemoryReaderPtr = std::shared_ptr<const PeakMemoryReader>;

} // namespace surge::common
