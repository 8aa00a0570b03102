// "surgectl metrics NAME" and "surgectl top", over MetricsService.WatchMetrics; and the pure
// rendering of a snapshot (rows, blocks, order) that they print and the unit tests check.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <absl/time/time.h>
#include <google/protobuf/timestamp.pb.h>

#include "cli/output.h"
#include "surge/v1/metrics.pb.h"

namespace CLI {
class App;
} // namespace CLI

namespace surge::cli {

class Context;

// Adds "metrics" and "top" to `app`, whose global flags must be added already (top reads
// whether --namespace was given); `context` must outlive the parse and the action.
void registerMetricsCommands(CLI::App& app, Context& context);

// ---- Which snapshot of a WatchMetrics stream is the current one ----

// A new watcher first gets up to five minutes of past snapshots in one burst, then one live
// snapshot a second, and the stream never says where the backlog ends. A snapshot counts as
// current when either
//  - its time is within 1 s of `now` (this machine's clock) either way: the newest snapshot of
//    the backlog ends at most a second ago, and the one before it more than a second ago; or
//  - it arrived `sincePrevious` >= 0.5 s after the snapshot before it: the burst does not
//    pause, so this one came live. nullopt for the stream's first snapshot, whose wait includes
//    connecting.
// The first rule answers at once when the clocks agree; the second bounds the wait to about two
// seconds when they do not (the server's clock is then not used at all).
bool isCurrentSnapshot(const google::protobuf::Timestamp& time, absl::Time now,
                       std::optional<absl::Duration> sincePrevious);

// ---- Shaping a snapshot ----

// Sets every absent sub-message (outcomes, latency summaries, instance states, ...) of every
// function, the server total included, to its empty value, so that JSON always has the same
// shape: `jq .functions[0].outcomes.success` works for an idle second too.
void fillAbsentParts(surge::v1::MetricsSnapshot& snapshot);

// The figures of `ns/name` in `snapshot`; zeros under that name when the snapshot has no entry
// for it (it had neither instances nor traffic in that second). Every part is present.
surge::v1::FunctionMetrics functionIn(const surge::v1::MetricsSnapshot& snapshot, std::string_view ns,
                                      std::string_view name);

// The functions of `snapshot` in top's order: TPS descending, then "namespace/name" ascending.
std::vector<const surge::v1::FunctionMetrics*> topOrder(const surge::v1::MetricsSnapshot& snapshot);

// ---- top's screen ----

// The lines above the table: the time, the function count and the TPS and errors per second of
// all of them (the server's total when the snapshot has one, else the sum of its functions); and,
// for snapshots with the server's figures, its memory, starts and pre-started sandboxes.
std::vector<std::string> topHeadline(const surge::v1::MetricsSnapshot& snapshot);
// FUNCTION, TPS, ERR/S, P50, P95, P99 (end to end), INST (ready/total), RESERVED (ready/target),
// IN FLIGHT, QUEUE, UTIL.
std::vector<std::string> topColumns();
// One row per function, in topOrder().
std::vector<std::vector<std::string>> topRows(const surge::v1::MetricsSnapshot& snapshot);
// The headline, a blank line and the table (or a line saying no function had anything).
void printTopScreen(std::ostream& out, const surge::v1::MetricsSnapshot& snapshot);

// ---- metrics NAME ----

// One function's second as a "key: value" block, then a latency table (end to end, queue wait,
// execution, cold start) and an instance table (reserved and on-demand by state).
void printFunctionMetrics(std::ostream& out, const google::protobuf::Timestamp& time,
                          const surge::v1::FunctionMetrics& function);
// "metrics NAME --watch": the header is printed once, then one row per second.
StreamingTable watchTable();
std::vector<std::string> watchRow(const google::protobuf::Timestamp& time, const surge::v1::FunctionMetrics& function);

// ---- Values ----

// A rate with one decimal: "12.0".
std::string formatRate(double perSecond);
// A ratio as a whole percentage: 0.5 is "50%".
std::string formatPercent(double ratio);

} // namespace surge::cli
