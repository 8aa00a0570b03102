// "surgectl logs NAME [--follow]" reads TailLogs and prints each line as it comes; "surgectl
// invocations NAME" pages through QueryInvocations up to --limit records and prints a table, or
// with -o json one object per line for both.
#include "cli/log_commands.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <absl/status/status.h>
#include <absl/strings/str_cat.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "api/proto_time.h"
#include "cli/cancel_on_interrupt.h"
#include "cli/command_support.h"
#include "cli/context.h"
#include "cli/log_render.h"
#include "cli/output.h"
#include "common/names.h"
#include "surge/v1/logs.grpc.pb.h"

namespace surge::cli {
namespace {

namespace v1 = surge::v1;

// The API's bounds: TailLogs keeps at most this many stored lines, QueryInvocations pages hold
// at most kMaxPageSize records.
constexpr int32_t kMaxLimit = 100000;
constexpr int32_t kMaxPageSize = 1000;

struct TimeRange {
  std::optional<absl::Time> since;
  std::optional<absl::Time> until;
};

absl::StatusOr<std::optional<absl::Time>> parseOptionalTime(const char* flag, const std::string& text, absl::Time now) {
  if (text.empty()) return std::nullopt;
  auto time = parseTimeFlag(text, now);
  if (!time.ok()) return absl::InvalidArgumentError(absl::StrCat(flag, ": ", time.status().message()));
  return *time;
}

// Checks the function name too, which every command here needs first.
absl::StatusOr<TimeRange> parseNameAndTimes(const std::string& name, const std::string& since, const std::string& until,
                                            absl::Time now) {
  if (auto status = common::validateName("function name", name); !status.ok()) return status;
  TimeRange range;
  auto parsedSince = parseOptionalTime("--since", since, now);
  if (!parsedSince.ok()) return parsedSince.status();
  auto parsedUntil = parseOptionalTime("--until", until, now);
  if (!parsedUntil.ok()) return parsedUntil.status();
  range.since = *parsedSince;
  range.until = *parsedUntil;
  if (range.since && range.until && *range.since >= *range.until) {
    return absl::InvalidArgumentError(
        absl::StrCat("--since (", since, ") must be before --until (", until, "): nothing can match"));
  }
  return range;
}

// A time before 1970 asks for everything there is; leaving the lower bound unset says so.
bool boundsAnything(absl::Time since) { return since > absl::UnixEpoch(); }

int runLogs(Context& context, const LogsFlags& flags) {
  auto request = tailLogsRequest(context.options().ns, flags, absl::Now());
  if (!request.ok()) return context.usageError(request.status());
  auto stub = v1::LogService::NewStub(context.channel());
  // The stored lines need no more than an ordinary call's deadline; a follow runs until stopped.
  auto call = flags.follow ? context.newStreamCall() : context.newCall();
  CancelOnInterrupt interrupt(*call);
  auto reader = stub->TailLogs(call.get(), *request);
  const bool json = context.options().output == OutputFormat::kJson;
  v1::LogLine line;
  bool any = false;
  while (reader->Read(&line)) {
    any = true;
    if (json) {
      if (const int code = printJsonLineOrFail(context, line); code != kExitOk) {
        call->TryCancel();
        while (reader->Read(&line)) {
        }
        reader->Finish();
        return code;
      }
    } else {
      context.out() << logLineText(line) << '\n';
    }
    // A follower reads each line as it comes, also through a pipe.
    if (flags.follow) context.out().flush();
  }
  const grpc::Status status = reader->Finish();
  if (interrupt.interrupted()) return kExitOk;
  // RESOURCE_EXHAUSTED here is a follower that fell too far behind; the message says so.
  if (!status.ok()) return context.rpcError(status);
  // On stderr, so that scripts reading stdout see no lines.
  if (!any && !json && !flags.follow) {
    context.err() << "no log lines of " << qualifiedName(request->namespace_(), request->function()) << '\n';
  }
  return kExitOk;
}

int runInvocations(Context& context, const InvocationsFlags& flags) {
  auto request = queryInvocationsRequest(context.options().ns, flags, absl::Now());
  if (!request.ok()) return context.usageError(request.status());
  auto stub = v1::LogService::NewStub(context.channel());
  const auto limit = static_cast<size_t>(flags.limit);
  std::vector<v1::InvocationRecord> records;
  const int fetched = fetchPages<v1::QueryInvocationsResponse>(
      context, *request,
      [&](grpc::ClientContext* rpc, const auto& r, auto* page) { return stub->QueryInvocations(rpc, r, page); },
      [&](v1::QueryInvocationsResponse& page) {
        for (v1::InvocationRecord& record : *page.mutable_invocations()) {
          if (records.size() == limit) break;
          records.push_back(std::move(record));
        }
        return records.size() < limit;
      });
  if (fetched != kExitOk) return fetched;
  if (context.options().output == OutputFormat::kJson) {
    for (const v1::InvocationRecord& record : records) {
      if (const int code = printJsonLineOrFail(context, record); code != kExitOk) return code;
    }
    return kExitOk;
  }
  if (records.empty()) {
    context.err() << "no invocations of " << qualifiedName(request->namespace_(), request->function()) << '\n';
    return kExitOk;
  }
  Table table(invocationColumns());
  for (const v1::InvocationRecord& record : records) table.addRow(invocationRow(record));
  table.print(context.out());
  return kExitOk;
}

} // namespace

absl::StatusOr<v1::TailLogsRequest> tailLogsRequest(std::string_view ns, const LogsFlags& flags, absl::Time now) {
  if (flags.follow && !flags.until.empty()) {
    return absl::InvalidArgumentError("--until cannot go with --follow: a follow has no end (Ctrl-C stops it)");
  }
  auto range = parseNameAndTimes(flags.name, flags.since, flags.until, now);
  if (!range.ok()) return range.status();
  v1::TailLogsRequest request;
  request.set_namespace_(std::string(ns));
  request.set_function(flags.name);
  request.set_request_id(flags.requestId);
  request.set_errors_only(flags.errorsOnly);
  request.set_follow(flags.follow);
  request.set_limit(flags.limit);
  if (range->since && boundsAnything(*range->since)) {
    *request.mutable_since_time() = api::toProtoTimestamp(*range->since);
  }
  if (range->until) *request.mutable_until_time() = api::toProtoTimestamp(*range->until);
  return request;
}

absl::StatusOr<v1::QueryInvocationsRequest> queryInvocationsRequest(std::string_view ns, const InvocationsFlags& flags,
                                                                    absl::Time now) {
  auto range = parseNameAndTimes(flags.name, flags.since, flags.until, now);
  if (!range.ok()) return range.status();
  v1::QueryInvocationsRequest request;
  request.set_namespace_(std::string(ns));
  request.set_function(flags.name);
  request.set_request_id(flags.requestId);
  request.set_page_size(std::min(flags.limit, kMaxPageSize));
  if (flags.errorsOnly) {
    for (int status = v1::InvocationStatus_MIN; status <= v1::InvocationStatus_MAX; ++status) {
      if (v1::InvocationStatus_IsValid(status) && status != v1::INVOCATION_STATUS_UNSPECIFIED &&
          status != v1::SUCCEEDED) {
        request.add_statuses(static_cast<v1::InvocationStatus>(status));
      }
    }
  }
  if (range->since && boundsAnything(*range->since)) {
    *request.mutable_start_time() = api::toProtoTimestamp(*range->since);
  }
  if (range->until) *request.mutable_end_time() = api::toProtoTimestamp(*range->until);
  return request;
}

void registerLogCommands(CLI::App& app, Context& context) {
  CLI::App* logs =
      app.add_subcommand("logs", "Print what a function printed, oldest first (--follow: then new lines until Ctrl-C)");
  auto logsFlags = std::make_shared<LogsFlags>();
  logs->add_option("name", logsFlags->name, "The function's name")->required()->type_name("NAME");
  logs->add_flag("-f,--follow", logsFlags->follow,
                 "After the stored lines, print new ones as the function prints them, until Ctrl-C");
  logs->add_option("--request", logsFlags->requestId, "Only the lines of this invocation (invoke -v shows its id)")
      ->type_name("ID");
  logs->add_flag("--errors", logsFlags->errorsOnly,
                 "Only errors: stderr lines, and every line of an invocation that did not succeed");
  logs->add_option("--since", logsFlags->since, timeFlagHelp("Only lines printed at or after this time"))
      ->type_name("TIME")
      ->check(timeFlagValidator());
  logs->add_option("--until", logsFlags->until,
                   "Only lines printed before this time (the forms of --since); not with --follow")
      ->type_name("TIME")
      ->check(timeFlagValidator());
  logs->add_option("--limit", logsFlags->limit,
                   "At most this many stored lines, the newest that match, 1-100000 (default 1000)")
      ->type_name("N")
      ->check(wholeNumberValidator(1, kMaxLimit));
  logs->footer(commandFooter("surgectl logs hello --since 15m\n  surgectl logs hello --follow --errors\n  "
                             "surgectl logs hello --request 432dc46715a62484-1 -o json"));
  setAction(*logs, context, logsFlags, &runLogs);

  CLI::App* invocations = app.add_subcommand(
      "invocations", "List a function's invocations, newest first: status, instance, timings, memory, error");
  auto invocationsFlags = std::make_shared<InvocationsFlags>();
  invocations->add_option("name", invocationsFlags->name, "The function's name")->required()->type_name("NAME");
  invocations
      ->add_option("--since", invocationsFlags->since,
                   timeFlagHelp("Only invocations that arrived at or after this time"))
      ->type_name("TIME")
      ->check(timeFlagValidator());
  invocations
      ->add_option("--until", invocationsFlags->until,
                   "Only invocations that arrived before this time (the forms of --since)")
      ->type_name("TIME")
      ->check(timeFlagValidator());
  invocations->add_flag("--errors", invocationsFlags->errorsOnly, "Only invocations that did not succeed");
  invocations->add_option("--request", invocationsFlags->requestId, "Only this invocation")->type_name("ID");
  invocations->add_option("--limit", invocationsFlags->limit, "Print at most this many, 1-100000 (default 100)")
      ->type_name("N")
      ->check(wholeNumberValidator(1, kMaxLimit));
  invocations->footer(commandFooter("surgectl invocations hello\n  surgectl invocations hello --errors --since 2h\n  "
                                    "surgectl invocations hello --limit 1000 -o json"));
  setAction(*invocations, context, invocationsFlags, &runInvocations);
}

} // namespace surge::cli
