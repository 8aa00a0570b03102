// What instances print, as log lines. Output comes in chunks from two places: LOG frames, which
// the runtime tags with the request that wrote them and the stream, and the raw stdout and stderr
// pipes, which carry what bypassed the runtime (C extensions, subprocesses, a custom runtime) and
// are tagged with a request only while exactly one runs. Chunks are cut into lines (at most
// kMaxLogLineBytes, valid UTF-8), tagged with the function, version and instance, and handed to
// the LogSink in one batch per chunk. Each request's lines count against its cap; past it one
// platform line says the log was truncated and the rest is dropped. On the engine's loop only.
#pragma once

#include "common/log_line.h"
#include "engine/engine.h"

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace surge::engine {

using common::kMaxLogLineBytes;

// Cuts a byte stream into lines.
class LineSplitter {
public:
  // Appends `data`; emit(std::string text, bool cut) runs for each complete line, without its
  // newline. A line past kMaxLogLineBytes keeps its head (at a UTF-8 boundary) and is cut.
  template <typename Emit> void feed(std::string_view data, Emit&& emit);
  // What is left without a newline, as a last line.
  template <typename Emit> void finish(Emit&& emit);
  bool empty() const { return partial_.empty() && !cutting_; }

private:
  template <typename Emit> void emitLine(Emit& emit);

  std::string partial_;
  bool cutting_ = false; // the line passed the limit: the rest of it is dropped up to its newline
};

// `text` as valid UTF-8: each byte that is not part of a well-formed sequence becomes U+FFFD.
std::string toValidUtf8(std::string_view text);
// The longest head of `text` of at most `max` bytes that does not split a UTF-8 sequence.
std::string_view utf8Head(std::string_view text, size_t max);

// One request's share of the output: its lines from LOG frames, its cap, and its log tail.
class RequestLog {
public:
  // `capBytes`: line bytes kept for the request; `keepTail`: keep its last kLogTailBytes.
  void configure(size_t capBytes, bool keepTail) {
    capBytes_ = capBytes;
    keepTail_ = keepTail;
  }
  // Whether the request may have `line` (counting it); false past the cap. The first refusal
  // marks the log truncated, and `marker` is set to the line that says so.
  bool admit(const std::string& text, std::string* marker);
  // Sets result.logTail and result.logsTruncated.
  void finishInto(InvokeResult& result);

  bool truncated() const { return truncated_; }
  LineSplitter& splitter(common::LogStream stream) { return stream == common::LogStream::kStderr ? stderr_ : stdout_; }

private:
  void addToTail(std::string_view text);

  size_t capBytes_ = kDefaultRequestLogBytes;
  bool keepTail_ = false;
  size_t used_ = 0;
  bool truncated_ = false;
  std::deque<std::string> tail_; // lines with their newlines
  size_t tailBytes_ = 0;
  LineSplitter stdout_, stderr_;
};

// The lines of one instance that belong to no request the runtime named: LOG frames tagged "-"
// and the raw pipes.
struct InstanceOutput {
  LineSplitter untaggedStdout, untaggedStderr; // LOG "-"
  LineSplitter pipeStdout, pipeStderr;         // the raw descriptors
  LineSplitter& untagged(common::LogStream stream) {
    return stream == common::LogStream::kStderr ? untaggedStderr : untaggedStdout;
  }
  LineSplitter& pipe(common::LogStream stream) {
    return stream == common::LogStream::kStderr ? pipeStderr : pipeStdout;
  }
};

// Builds the lines of one chunk and hands them over at once.
class LineBatch {
public:
  // `sink` may be empty (nothing is captured then; lines are still counted for the request).
  LineBatch(const LogSink& sink, const InstanceSpec& spec, InstanceId instance, bool initializing);
  // Sends the batch.
  ~LineBatch();
  LineBatch(const LineBatch&) = delete;
  LineBatch& operator=(const LineBatch&) = delete;

  // A line tagged with `requestId` ("": the instance alone). With `request`, the line counts
  // against its cap and goes to its tail.
  void add(RequestLog* request, const std::string& requestId, common::LogStream stream, std::string text, bool cut);
  // A line of surged's own about the instance or the request; counted against no cap.
  void addPlatform(const std::string& requestId, std::string text) {
    push(requestId, common::LogStream::kPlatform, std::move(text), false);
  }

private:
  void push(const std::string& requestId, common::LogStream stream, std::string text, bool cut);

  const LogSink& sink_;
  const InstanceSpec& spec_;
  const InstanceId instance_;
  const bool initializing_;
  absl::Time now_; // when the first line came
  std::vector<common::LogLinePtr> lines_;
};

template <typename Emit> void LineSplitter::feed(std::string_view data, Emit&& emit) {
  while (!data.empty()) {
    const size_t newline = data.find('\n');
    const std::string_view piece = data.substr(0, newline);
    if (!cutting_) {
      const size_t room = kMaxLogLineBytes - partial_.size();
      if (piece.size() > room) {
        partial_.append(piece.substr(0, room));
        cutting_ = true;
      } else {
        partial_.append(piece);
      }
    }
    if (newline == std::string_view::npos) return;
    emitLine(emit); // an empty line too: the function printed one
    data.remove_prefix(newline + 1);
  }
}

template <typename Emit> void LineSplitter::finish(Emit&& emit) {
  if (!empty()) emitLine(emit);
}

template <typename Emit> void LineSplitter::emitLine(Emit& emit) {
  std::string text = toValidUtf8(partial_);
  bool cut = cutting_;
  // Replacement characters are longer than the bytes they replace.
  if (text.size() > kMaxLogLineBytes) {
    text.resize(utf8Head(text, kMaxLogLineBytes).size());
    cut = true;
  }
  partial_.clear();
  cutting_ = false;
  emit(std::move(text), cut);
}

} // namespace surge::engine
