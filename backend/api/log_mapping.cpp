// Log lines and invocation records to and from their proto form.
#include "api/log_mapping.h"

#include "api/function_mapping.h"
#include "api/proto_time.h"
#include "common/function_ref.h"

#include <absl/strings/str_cat.h>

#include <optional>
#include <string>

namespace surge::api {
namespace {

v1::LogLine::Stream toProto(common::LogStream stream) {
  switch (stream) {
  case common::LogStream::kStdout: return v1::LogLine::STDOUT;
  case common::LogStream::kStderr: return v1::LogLine::STDERR;
  case common::LogStream::kPlatform: return v1::LogLine::PLATFORM;
  }
  return v1::LogLine::STREAM_UNSPECIFIED;
}

// "namespace/name" as the two fields; a key that is not one goes whole into `function`.
template <typename Message> void setFunction(const std::string& key, Message& out) {
  const std::optional<common::FunctionRef> ref = common::FunctionRef::parse(key);
  if (!ref) return out.set_function(key);
  out.set_namespace_(ref->ns);
  out.set_function(ref->name);
}

} // namespace

void toProto(const common::LogLine& line, v1::LogLine& out) {
  *out.mutable_time() = toProtoTimestamp(line.time);
  setFunction(line.function, out);
  out.set_request_id(line.requestId);
  out.set_instance_id(std::to_string(line.instance));
  out.set_stream(toProto(line.stream));
  out.set_text(line.text);
  out.set_version(line.version);
  out.set_initializer(line.initializer);
  out.set_cut(line.cut);
}

void toProto(const logs::InvocationRecord& record, v1::InvocationRecord& out) {
  out.set_request_id(record.requestId);
  setFunction(record.function, out);
  out.set_version(record.version);
  out.set_status(static_cast<v1::InvocationStatus>(record.status)); // the same numbers, by design
  *out.mutable_arrival_time() = toProtoTimestamp(record.arrival);
  out.set_queue_wait_us(absl::ToInt64Microseconds(record.queueWait));
  out.set_execution_us(absl::ToInt64Microseconds(record.execution));
  out.set_billed_ms(record.billedMs);
  out.set_cold_start(record.coldStart);
  if (record.instance != 0) {
    out.set_instance_id(std::to_string(record.instance));
    out.set_instance_kind(toProto(record.kind));
  }
  out.set_error_type(record.errorType);
  out.set_error_message(record.errorMessage);
  out.set_peak_memory_bytes(static_cast<int64_t>(record.peakMemoryBytes.value_or(0)));
}

absl::StatusOr<logs::RecordStatus> fromProto(int status) {
  if (status >= v1::SUCCEEDED && status <= v1::PLATFORM_ERROR) return static_cast<logs::RecordStatus>(status);
  return absl::InvalidArgumentError(absl::StrCat("invocation status ", status,
                                                 " is not one to filter by: SUCCEEDED, FUNCTION_ERROR, TIMED_OUT, "
                                                 "INSTANCE_DIED, REJECTED, CANCELLED or PLATFORM_ERROR"));
}

} // namespace surge::api
