// "surgectl logs NAME" and "surgectl invocations NAME", over LogService; and the requests their
// flags make, which the unit tests check without a server.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include "surge/v1/logs.pb.h"

namespace CLI {
class App;
} // namespace CLI

namespace surge::cli {

class Context;

// Adds "logs" and "invocations" to `app`; `context` must outlive the parse and the action.
void registerLogCommands(CLI::App& app, Context& context);

// The flags of "logs". Times are as parseTimeFlag() reads them; empty: not given.
struct LogsFlags {
  std::string name;
  bool follow = false;
  std::string requestId;
  bool errorsOnly = false;
  std::string since;
  std::string until;
  int32_t limit = 0; // 0: the server's default
};

// The flags of "invocations".
struct InvocationsFlags {
  std::string name;
  std::string since;
  std::string until;
  bool errorsOnly = false;
  std::string requestId;
  int32_t limit = 100; // records printed at most, over all pages
};

// What "logs" asks for in namespace `ns`, relative times counted back from `now`.
// INVALID_ARGUMENT for a bad function name or time, --until with --follow (a follow has no end),
// or --since not before --until.
absl::StatusOr<surge::v1::TailLogsRequest> tailLogsRequest(std::string_view ns, const LogsFlags& flags, absl::Time now);
// What "invocations" asks for first: --errors asks for every status but SUCCEEDED, and a page is
// at most --limit records. INVALID_ARGUMENT as tailLogsRequest().
absl::StatusOr<surge::v1::QueryInvocationsRequest>
queryInvocationsRequest(std::string_view ns, const InvocationsFlags& flags, absl::Time now);

} // namespace surge::cli
