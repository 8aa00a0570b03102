// The runtime protocol's framing (docs/runtime-protocol.md): each frame is one ASCII header line
// "<TYPE> <ID> <LENGTH>[ <ARG>...]\n" followed by exactly LENGTH bytes of body. Simple enough for
// a shell script to speak with `read` and `head -c`.
#pragma once

#include <absl/status/statusor.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace surge::engine {

struct Frame {
  std::string type;              // e.g. "INVOKE", "RESULT"; uppercase letters
  std::string id;                // request id, or "-" when the frame belongs to no request
  std::vector<std::string> args; // extra header tokens, e.g. the remaining milliseconds of INVOKE
  std::string body;
};

// Largest body accepted: a 6 MiB payload plus room for a structured error.
inline constexpr size_t kMaxFrameBody = 8u << 20;

// The wire form of `frame`. Type, id and args must be non-empty tokens without spaces or newlines.
std::string encodeFrame(const Frame& frame);

// Incremental decoder for a byte stream. Not thread-safe.
class FrameDecoder {
public:
  // Appends received bytes.
  void feed(std::string_view bytes);
  // The next complete frame, nullopt if more bytes are needed, or INVALID_ARGUMENT for a
  // malformed header or a body over kMaxFrameBody (the stream is then unusable).
  absl::StatusOr<std::optional<Frame>> next();

private:
  std::string buffer_;
  size_t offset_ = 0;
};

} // namespace surge::engine
