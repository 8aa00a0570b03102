// How "surgectl logs" and "surgectl invocations" show what LogService sends: one text line per
// log line, and one table row per invocation record. Pure, so that unit tests check them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "surge/v1/logs.pb.h"

namespace surge::cli {

// One log line for people: time to the millisecond, the request id ("-" for none, "(init)" for
// a line the instance printed while it started), the stream and the text, in columns; a line the
// server cut at 16 KiB ends in " [cut]". Control characters in the text become spaces.
//   2026-12-07T18:00:00.123Z   432dc46715a62484-1   stdout     hello, Ada
std::string logLineText(const surge::v1::LogLine& line);

// "stdout", "stderr", "platform"; "-" for STREAM_UNSPECIFIED or unknown values.
std::string_view streamName(surge::v1::LogLine::Stream stream);
// "succeeded", "function-error", "timed-out", "instance-died", "rejected", "cancelled",
// "platform-error"; "-" for INVOCATION_STATUS_UNSPECIFIED or unknown values.
std::string_view invocationStatusName(surge::v1::InvocationStatus status);

// The invocations table: TIME (arrival), REQUEST, STATUS, VERSION, INSTANCE, KIND, COLD,
// QUEUE WAIT, DURATION (execution), BILLED, PEAK MEM and ERROR (the error type).
std::vector<std::string> invocationColumns();
std::vector<std::string> invocationRow(const surge::v1::InvocationRecord& record);

} // namespace surge::cli
