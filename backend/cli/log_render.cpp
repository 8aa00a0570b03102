// Text lines and table rows for LogService's log lines and invocation records.
#include "cli/log_render.h"

#include <absl/strings/str_cat.h>

#include "cli/output.h"

namespace surge::cli {
namespace {

namespace v1 = surge::v1;

// Columns wide enough for the usual values, so that lines printed one at a time line up: a
// millisecond timestamp, a request id such as "432dc46715a62484-1", "platform". A longer request
// id shifts its own line only.
const StreamingTable& logLineColumns() {
  static const StreamingTable columns({{"TIME", 24}, {"REQUEST", 18}, {"STREAM", 8}, {"TEXT", 0}});
  return columns;
}

std::string requestCell(const v1::LogLine& line) {
  if (line.initializer()) return "(init)";
  return line.request_id().empty() ? "-" : withoutControlCharacters(line.request_id());
}

// 0 means "none" or "unknown" for a record's version and peak memory.
std::string unlessZero(int64_t value, std::string text) { return value == 0 ? "-" : std::move(text); }

std::string microsCell(int64_t micros) { return formatLatency(static_cast<double>(micros) / 1000.0); }

} // namespace

std::string logLineText(const v1::LogLine& line) {
  std::string text = withoutControlCharacters(line.text());
  if (line.cut()) text += " [cut]";
  return logLineColumns().row(
      {formatTimestampMillis(line.time()), requestCell(line), std::string(streamName(line.stream())), text});
}

std::string_view streamName(v1::LogLine::Stream stream) {
  switch (stream) {
  case v1::LogLine::STDOUT: return "stdout";
  case v1::LogLine::STDERR: return "stderr";
  case v1::LogLine::PLATFORM: return "platform";
  default: return "-";
  }
}

std::string_view invocationStatusName(v1::InvocationStatus status) {
  switch (status) {
  case v1::SUCCEEDED: return "succeeded";
  case v1::FUNCTION_ERROR: return "function-error";
  case v1::TIMED_OUT: return "timed-out";
  case v1::INSTANCE_DIED: return "instance-died";
  case v1::REJECTED: return "rejected";
  case v1::CANCELLED: return "cancelled";
  case v1::PLATFORM_ERROR: return "platform-error";
  default: return "-";
  }
}

std::vector<std::string> invocationColumns() {
  return {"TIME", "REQUEST",    "STATUS",   "VERSION", "INSTANCE", "KIND",
          "COLD", "QUEUE WAIT", "DURATION", "BILLED",  "PEAK MEM", "ERROR"};
}

std::vector<std::string> invocationRow(const v1::InvocationRecord& record) {
  return {formatTimestampMillis(record.arrival_time()),
          tableCell(record.request_id()),
          std::string(invocationStatusName(record.status())),
          unlessZero(record.version(), absl::StrCat(record.version())),
          tableCell(record.instance_id()),
          std::string(instanceKindName(record.instance_kind())),
          record.cold_start() ? "yes" : "no",
          microsCell(record.queue_wait_us()),
          microsCell(record.execution_us()),
          absl::StrCat(record.billed_ms(), " ms"),
          unlessZero(record.peak_memory_bytes(), formatBytes(record.peak_memory_bytes())),
          tableCell(record.error_type())};
}

} // namespace surge::cli
