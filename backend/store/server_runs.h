// Server runs: each start of surged on a data dir is a run with a number of its own, so that
// what a run names (its instances) never collides with what an earlier run named.
#pragma once

#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include <cstdint>

namespace surge::store {

class Database;

// Records a new run started at `now` and returns its number: 1 on the first start of a data
// dir, then always greater than any run before it (never reused, even after a crash).
absl::StatusOr<int64_t> beginServerRun(Database& db, absl::Time now);

} // namespace surge::store
