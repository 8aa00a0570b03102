// "surgectl audit": fetches every page of ListAuditEvents from a starting time and prints them
// as one table or one JSON object.
#include "cli/audit_commands.h"

#include <cstdint>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <absl/strings/str_cat.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "api/proto_time.h"
#include "cli/command_support.h"
#include "cli/context.h"
#include "cli/output.h"
#include "surge/v1/admin.grpc.pb.h"

namespace surge::cli {
namespace {

namespace v1 = surge::v1;

struct AuditState {
  std::string since;
  int32_t pageSize = 0;
};

int runAudit(Context& context, const AuditState& state) {
  v1::ListAuditEventsRequest request;
  request.set_page_size(state.pageSize);
  if (!state.since.empty()) {
    auto since = parseTimeFlag(state.since, absl::Now());
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
      table.addRow({formatTimestamp(event.time()),
                    tableCell(event.key_name().empty() ? event.key_id() : event.key_name()), tableCell(event.action()),
                    tableCell(event.target()), tableCell(event.detail())});
    }
    table.print(out);
  });
}

} // namespace

void registerAuditCommands(CLI::App& app, Context& context) {
  CLI::App* command = app.add_subcommand(
      "audit", "Show the audit trail: which key changed what, oldest first (all pages; needs an admin key)");
  auto state = std::make_shared<AuditState>();
  command->add_option("--since", state->since, timeFlagHelp("Only events at or after this time"))
      ->type_name("TIME")
      ->check(timeFlagValidator());
  command
      ->add_option("--page-size", state->pageSize,
                   "Events fetched per request, 1-1000 (default 100); all pages are shown")
      ->type_name("N")
      ->check(wholeNumberValidator(1, 1000));
  command->footer(commandFooter("surgectl audit --since 2h\n  surgectl audit --since 2026-11-28T08:00:00Z -o json"));
  setAction(*command, context, state, &runAudit);
}

} // namespace surge::cli
