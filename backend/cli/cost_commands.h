// The "surgectl cost" command: what a function's capacity cost over a period, a what-if for a
// reserved count and the recommended count, over ScalingService.GetCost.
#pragma once

#include <iosfwd>

namespace CLI {
class App;
} // namespace CLI
namespace surge::v1 {
class CostReport;
}

namespace surge::cli {

class Context;

// Adds the "cost" command to `app`. Its action is stored in `context` when the command is
// parsed; `context` must outlive the parse and the action.
void registerCostCommands(CLI::App& app, Context& context);

// The human form of a report: the period, the usage, the actual cost by kind, the what-if and
// the recommendation.
void printCostReport(std::ostream& out, const v1::CostReport& report);

} // namespace surge::cli
