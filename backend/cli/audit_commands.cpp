// "surgectl audit": fetches every page of ListAuditEvents from a starting time and prints them
// as one table or one JSON object.
#include "cli/audit_commands.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <absl/status/status.h>
#include <absl/strings/str_cat.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "api/proto_time.h"
#include "cli/command_support.h"
#include "cli/context.h"
#include "cli/output.h"
#include "common/absl_compat.h"
#include "surge/v1/admin.grpc.pb.h"

namespace surge::cli {
namespace {

namespace v1 = surge::v1;
using common::toAbsl;

// Nine digits of days is already far before 1970; more can only be a typo.
constexpr size_t kMaxRelativeDigits = 9;

CLI::Validator sinceValidator() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        auto since = parseSince(value, absl::Now());
        return since.ok() ? std::string() : std::string(since.status().message());
      },
      "", "since");
}

// Server text in one table cell: control characters (a newline would break the row) become
// spaces, and an empty value a dash.
std::string cell(std::string_view text) {
  if (text.empty()) return "-";
  std::string result(text);
  std::replace_if(
      result.begin(), result.end(), [](unsigned char c) { return c < ' ' || c == 0x7f; }, ' ');
  return result;
}

struct AuditState {
  std::string since;
  int32_t pageSize = 0;
};

int runAudit(Context& context, const AuditState& state) {
  v1::ListAuditEventsRequest request;
  request.set_page_size(state.pageSize);
  if (!state.since.empty()) {
    auto since = parseSince(state.since, absl::Now());
    if (!since.ok()) return context.usageError(since.status());
    // A time before 1970 asks for everything there is; leaving since_time unset says so.
    if (*since > absl::UnixEpoch()) *request.mutable_since_time() = api::toProtoTimestamp(*since);
  }
  auto stub = v1::AdminService::NewStub(context.channel());
  v1::ListAuditEventsResponse all;
  const int fetched = fetchAllPages(context, request, all, [&](grpc::ClientContext* rpc, const auto& r, auto* page) {
    return stub->ListAuditEvents(rpc, r, page);
  });
  if (fetched != kExitOk) return fetched;
  return context.print(all, [&](std::ostream& out) {
    if (all.events().empty()) {
      // On stderr, so that scripts reading the table see no rows.
      context.err() << "no audit events" << (state.since.empty() ? "" : absl::StrCat(" since ", state.since)) << '\n';
      return;
    }
    Table table({"TIME", "KEY", "ACTION", "TARGET", "DETAIL"});
    for (const v1::AuditEvent& event : all.events()) {
      table.addRow({formatTimestamp(event.time()), cell(event.key_name().empty() ? event.key_id() : event.key_name()),
                    cell(event.action()), cell(event.target()), cell(event.detail())});
    }
    table.print(out);
  });
}

} // namespace

absl::StatusOr<absl::Time> parseSince(std::string_view text, absl::Time now) {
  const size_t digits = std::min(text.find_first_not_of("0123456789"), text.size());
  if (digits > 0 && digits <= kMaxRelativeDigits && digits + 1 == text.size()) {
    const int64_t count = std::stoll(std::string(text.substr(0, digits)));
    switch (text.back()) {
    case 's': return now - absl::Seconds(count);
    case 'm': return now - absl::Minutes(count);
    case 'h': return now - absl::Hours(count);
    case 'd': return now - absl::Hours(24 * count);
    default: break;
    }
  }
  absl::Time time;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, toAbsl(text), &time, &error)) return time;
  return absl::InvalidArgumentError(absl::StrCat("'", toAbsl(text),
                                                 "' is not a time: give RFC 3339, e.g. 2026-11-28T08:00:00Z, or a "
                                                 "duration back from now: 90s, 15m, 2h or 7d"));
}

void registerAuditCommands(CLI::App& app, Context& context) {
  CLI::App* command = app.add_subcommand(
      "audit", "Show the audit trail: which key changed what, oldest first (all pages; needs an admin key)");
  auto state = std::make_shared<AuditState>();
  command
      ->add_option("--since", state->since,
                   "Only events at or after this time: RFC 3339 (2026-11-28T08:00:00Z) or a duration back from "
                   "now (90s, 15m, 2h, 7d)")
      ->type_name("TIME")
      ->check(sinceValidator());
  command
      ->add_option("--page-size", state->pageSize,
                   "Events fetched per request, 1-1000 (default 100); all pages are shown")
      ->type_name("N")
      ->check(wholeNumberValidator(1, 1000));
  command->footer(commandFooter("surgectl audit --since 2h\n  surgectl audit --since 2026-11-28T08:00:00Z -o json"));
  setAction(*command, context, state, &runAudit);
}

} // namespace surge::cli
