// GetCost's answer: reads a function's usage and concurrency from the metrics history, prices
// the usage, replays what-if counts through cost/cost_model.h and maps it all to a CostReport.
#pragma once

#include "cost/cost_model.h"
#include "surge/v1/scaling.pb.h"

#include <absl/status/status.h>
#include <absl/time/time.h>

#include <cstdint>
#include <optional>
#include <string>

namespace surge::metrics {
class HistoryStore;
}
namespace surge::scheduler {
struct FunctionDefinition;
}

namespace surge::api {

// What surged prices and replays with.
struct CostSettings {
  cost::Prices prices;
  absl::Duration idleTimeout = absl::Seconds(300); // --idle-timeout: how long on-demand stays warm
};

struct CostQuery {
  int64_t from = 0; // Unix seconds, [from, to)
  int64_t to = 0;
  int64_t now = 0;
  std::optional<uint32_t> whatIfReserved;
  double coldStartBudget = 0.001;
};

// Fills `report` for `function` (its series in the history is its key, "ns/name"). Reads
// SQLite: call it on a worker. INVALID_ARGUMENT for an empty range; DATA_LOSS for a corrupt row.
absl::Status fillCostReport(const metrics::HistoryStore& history, const CostSettings& settings,
                            const scheduler::FunctionDefinition& function, const CostQuery& query,
                            v1::CostReport& report);

} // namespace surge::api
