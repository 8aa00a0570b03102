// One line a function's instance printed, as the engine captures it and the log store keeps it.
// Shared by the engine, which cuts and tags the lines, and logs/, which stores and serves them.
#pragma once

#include <absl/time/time.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace surge::common {

enum class LogStream : uint8_t {
  kStdout = 1,
  kStderr = 2,
  kPlatform = 3, // written by surged about the instance or the request (a timeout, a cut log)
};

// Longer lines keep their first kMaxLogLineBytes (at a UTF-8 boundary) and are marked cut.
inline constexpr size_t kMaxLogLineBytes = 16u << 10;

struct LogLine {
  absl::Time time;
  std::string function; // "namespace/name"
  int64_t version = 0;
  uint64_t instance = 0;
  // The request that printed it; empty when none can be named (output outside any request, or
  // on a raw descriptor while several requests ran at once).
  std::string requestId;
  LogStream stream = LogStream::kStdout;
  bool initializer = false; // printed while the instance started
  bool cut = false;         // longer than kMaxLogLineBytes
  std::string text;         // UTF-8, no trailing newline
};
using LogLinePtr = std::shared_ptr<const LogLine>;

} // namespace surge::common
