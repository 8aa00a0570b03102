// How an instance is counted: reserved or on-demand, and the state GetScalingStatus reports.
// Shared by the scheduler, which decides them, and metrics, which counts them.
#pragma once

namespace surge::common {

enum class InstanceKind { kReserved, kOnDemand };
enum class InstanceState { kStarting, kIdle, kBusy, kDraining };

} // namespace surge::common
