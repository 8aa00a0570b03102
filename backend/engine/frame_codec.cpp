// Encoding and incremental decoding of runtime-protocol frames (docs/runtime-protocol.md).
#include "engine/frame_codec.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

#include <absl/strings/escaping.h>
#include <absl/strings/str_cat.h>

#include "common/absl_compat.h"

namespace surge::engine {
namespace {

using common::toAbsl;

// Longest header line accepted, not counting its newline. Real headers are well under 100 bytes;
// the bound lets the decoder reject a peer that is not speaking the protocol without buffering
// an unbounded line.
constexpr size_t kMaxHeaderLine = 1024;

// Consumed bytes are dropped from the front of the buffer only once there are at least this many
// and they make up at least half of it, so each byte is moved at most a constant number of times.
constexpr size_t kCompactThreshold = 64u << 10;

// Header text quoted in an error message: escaped, and cut short so the message stays readable.
std::string quoted(std::string_view text) {
  constexpr size_t kMaxQuoted = 80;
  std::string escaped = absl::CHexEscape(toAbsl(text.substr(0, kMaxQuoted)));
  return absl::StrCat("'", escaped, text.size() > kMaxQuoted ? "...'" : "'");
}

bool isToken(std::string_view token) {
  if (token.empty()) return false;
  for (char c : token) {
    if (c < '!' || c > '~') return false; // printable ASCII, space excluded
  }
  return true;
}

struct Header {
  std::string type;
  std::string id;
  size_t length = 0;
  std::vector<std::string> args;
};

absl::StatusOr<Header> parseHeader(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    const size_t space = line.find(' ', start);
    fields.push_back(line.substr(start, space == std::string_view::npos ? std::string_view::npos : space - start));
    if (space == std::string_view::npos) break;
    start = space + 1;
  }
  if (fields.size() < 3) {
    return absl::InvalidArgumentError(absl::StrCat("frame header ", quoted(line), " has ", fields.size(),
                                                   " field(s); expected '<TYPE> <ID> <LENGTH>[ <ARG>...]'"));
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].empty()) {
      return absl::InvalidArgumentError(absl::StrCat("frame header ", quoted(line), " has an empty field ", i + 1,
                                                     ": fields are separated by single spaces"));
    }
  }

  Header header;
  for (char c : fields[0]) {
    if (c < 'A' || c > 'Z') {
      return absl::InvalidArgumentError(
          absl::StrCat("frame type ", quoted(fields[0]), " is not allowed: use uppercase letters A-Z"));
    }
  }
  header.type = std::string(fields[0]);

  if (!isToken(fields[1])) {
    return absl::InvalidArgumentError(
        absl::StrCat("frame id ", quoted(fields[1]), " is not allowed: use printable ASCII without spaces"));
  }
  header.id = std::string(fields[1]);

  const std::string_view length = fields[2];
  const bool digitsOnly = length.find_first_not_of("0123456789") == std::string_view::npos;
  if (!digitsOnly || (length.size() > 1 && length[0] == '0')) {
    return absl::InvalidArgumentError(absl::StrCat("frame length ", quoted(length),
                                                   " is not allowed: use a decimal number without sign or "
                                                   "leading zeros"));
  }
  // Without leading zeros, more digits than the limit has means a larger number; checking this
  // first also keeps the conversion below from overflowing.
  if (length.size() > absl::StrCat(kMaxFrameBody).size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("frame length ", quoted(length), " exceeds the limit of ", kMaxFrameBody, " bytes"));
  }
  size_t value = 0;
  for (char c : length) value = value * 10 + static_cast<size_t>(c - '0');
  if (value > kMaxFrameBody) {
    return absl::InvalidArgumentError(
        absl::StrCat("frame length ", value, " exceeds the limit of ", kMaxFrameBody, " bytes"));
  }
  header.length = value;

  for (size_t i = 3; i < fields.size(); ++i) {
    if (!isToken(fields[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("frame argument ", quoted(fields[i]), " is not allowed: use printable ASCII without spaces"));
    }
    header.args.emplace_back(fields[i]);
  }
  return header;
}

} // namespace

std::string encodeFrame(const Frame& frame) {
  assert(!frame.type.empty() && !frame.id.empty());
  std::string out = absl::StrCat(frame.type, " ", frame.id, " ", frame.body.size());
  for (const std::string& arg : frame.args) absl::StrAppend(&out, " ", arg);
  out.reserve(out.size() + 1 + frame.body.size());
  out.push_back('\n');
  out.append(frame.body);
  return out;
}

void FrameDecoder::feed(std::string_view bytes) {
  if (offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
  } else if (offset_ >= kCompactThreshold && offset_ >= buffer_.size() / 2) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  buffer_.append(bytes);
}

absl::StatusOr<std::optional<Frame>> FrameDecoder::next() {
  const size_t available = buffer_.size() - offset_;
  // Search only as far as a header may reach, never into a large body.
  const size_t searchable = std::min(available, kMaxHeaderLine + 1);
  const char* start = buffer_.data() + offset_;
  const void* newline = std::memchr(start, '\n', searchable);
  if (newline == nullptr) {
    if (available > kMaxHeaderLine) {
      return absl::InvalidArgumentError(
          absl::StrCat("frame header is longer than ", kMaxHeaderLine,
                       " bytes without a newline: ", quoted(std::string_view(start, searchable))));
    }
    return std::nullopt;
  }
  const size_t lineLength = static_cast<size_t>(static_cast<const char*>(newline) - start);
  absl::StatusOr<Header> header = parseHeader(std::string_view(start, lineLength));
  if (!header.ok()) return header.status();

  const size_t frameLength = lineLength + 1 + header->length;
  if (available < frameLength) {
    // Grow once to the whole frame instead of by doubling while a large body arrives.
    buffer_.reserve(offset_ + frameLength);
    return std::nullopt;
  }
  Frame frame;
  frame.type = std::move(header->type);
  frame.id = std::move(header->id);
  frame.args = std::move(header->args);
  frame.body.assign(start + lineLength + 1, header->length);
  offset_ += frameLength;
  return frame;
}

} // namespace surge::engine
