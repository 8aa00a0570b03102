// Output capture: UTF-8 repair, the per-request cap and tail, and the batches of tagged lines.
#include "engine/output_capture.h"

#include <absl/strings/str_cat.h>

namespace surge::engine {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD"; // U+FFFD

// The length of the well-formed UTF-8 sequence at the start of `s`, or 0 when there is none
// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
size_t sequenceLength(std::string_view s) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto continuation = [&](size_t i) { return i < s.size() && (byte(i) & 0xC0) == 0x80; };
  const unsigned char b0 = byte(0);
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) return continuation(1) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (!continuation(1) || !continuation(2)) return 0;
    if (b0 == 0xE0 && byte(1) < 0xA0) return 0; // overlong
    if (b0 == 0xED && byte(1) > 0x9F) return 0; // surrogate
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
    if (b0 == 0xF0 && byte(1) < 0x90) return 0; // overlong
    if (b0 == 0xF4 && byte(1) > 0x8F) return 0; // above U+10FFFF
    return 4;
  }
  return 0;
}

} // namespace

std::string toValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const size_t n = sequenceLength(text);
    if (n == 0) {
      out.append(kReplacement);
      text.remove_prefix(1);
    } else {
      out.append(text.substr(0, n));
      text.remove_prefix(n);
    }
  }
  return out;
}

std::string_view utf8Head(std::string_view text, size_t max) {
  if (text.size() <= max) return text;
  size_t end = max;
  // Back up over continuation bytes to the start of the sequence the limit falls in.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

bool RequestLog::admit(const std::string& text, std::string* marker) {
  if (truncated_) return false;
  const size_t size = text.size() + 1; // with its newline, as the caller will read it
  if (used_ + size > capBytes_) {
    truncated_ = true;
    *marker = absl::StrCat("[surge: the log of this request was truncated at ", capBytes_ / 1024, " KiB]");
    addToTail(*marker);
    return false;
  }
  used_ += size;
  addToTail(text);
  return true;
}

void RequestLog::addToTail(std::string_view text) {
  if (!keepTail_) return;
  tail_.emplace_back(text).push_back('\n');
  tailBytes_ += text.size() + 1;
  // Whole lines while more than one is kept: the oldest go first.
  while (tail_.size() > 1 && tailBytes_ > kLogTailBytes) {
    tailBytes_ -= tail_.front().size();
    tail_.pop_front();
  }
}

void RequestLog::finishInto(InvokeResult& result) {
  std::string tail;
  tail.reserve(tailBytes_);
  for (const std::string& line : tail_) tail.append(line);
  if (tail.size() > kLogTailBytes) {
    // One line longer than the tail: its end, from a UTF-8 sequence's start.
    size_t from = tail.size() - kLogTailBytes;
    while (from < tail.size() && (static_cast<unsigned char>(tail[from]) & 0xC0) == 0x80) ++from;
    tail.erase(0, from);
  }
  result.logTail = std::move(tail);
  result.logsTruncated = truncated_;
  tail_.clear();
  tailBytes_ = 0;
}

LineBatch::LineBatch(const LogSink& sink, const InstanceSpec& spec, InstanceId instance, bool initializing)
    : sink_(sink), spec_(spec), instance_(instance), initializing_(initializing) {}

LineBatch::~LineBatch() {
  if (!lines_.empty() && sink_) sink_(std::move(lines_));
}

void LineBatch::add(RequestLog* request, const std::string& requestId, common::LogStream stream, std::string text,
                    bool cut) {
  if (request) {
    std::string marker;
    if (!request->admit(text, &marker)) {
      if (!marker.empty()) push(requestId, common::LogStream::kPlatform, std::move(marker), false);
      return;
    }
  }
  push(requestId, stream, std::move(text), cut);
}

void LineBatch::push(const std::string& requestId, common::LogStream stream, std::string text, bool cut) {
  // A pre-started sandbox has no function yet: what its runtime prints while loading is the
  // platform's business, not a function's log.
  if (!sink_ || spec_.function.empty()) return;
  // Read once a line comes: most requests print nothing, and their batch costs no clock read.
  if (lines_.empty()) now_ = absl::Now();
  auto line = std::make_shared<common::LogLine>();
  line->time = now_;
  line->function = spec_.function;
  line->version = spec_.version;
  line->instance = instance_;
  line->requestId = requestId;
  line->stream = stream;
  line->initializer = initializing_;
  line->cut = cut;
  line->text = std::move(text);
  lines_.push_back(std::move(line));
}

} // namespace surge::engine
