// Tests for the runtime protocol's framing: round trips, arbitrary splits of the byte stream,
// large binary bodies, and one test per way a header can be malformed.
#include "engine/frame_codec.h"
#include "engine/make_frame.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace surge::engine {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Decodes everything in `bytes`, fed at once; fails the test on a decode error.
std::vector<Frame> decodeAll(std::string_view bytes) {
  FrameDecoder decoder;
  decoder.feed(bytes);
  std::vector<Frame> frames;
  while (true) {
    absl::StatusOr<std::optional<Frame>> next = decoder.next();
    EXPECT_TRUE(next.ok()) << next.status();
    if (!next.ok() || !next->has_value()) break;
    frames.push_back(std::move(**next));
  }
  return frames;
}

// The decoder's error for a stream holding just `bytes`.
absl::Status decodeError(std::string_view bytes) {
  FrameDecoder decoder;
  decoder.feed(bytes);
  absl::StatusOr<std::optional<Frame>> next = decoder.next();
  if (next.ok()) return absl::OkStatus();
  return next.status();
}

void expectSameFrame(const Frame& actual, const Frame& expected) {
  EXPECT_EQ(actual.type, expected.type);
  EXPECT_EQ(actual.id, expected.id);
  EXPECT_EQ(actual.args, expected.args);
  EXPECT_EQ(actual.body.size(), expected.body.size());
  EXPECT_TRUE(actual.body == expected.body) << "bodies differ";
}

TEST(FrameCodec, EncodesHeaderLineThenBody) {
  EXPECT_EQ(encodeFrame(makeFrame("READY", "-", "")), "READY - 0\n");
  EXPECT_EQ(encodeFrame(makeFrame("RESULT", "r-1", "hello")), "RESULT r-1 5\nhello");
  EXPECT_EQ(encodeFrame(makeFrame("INVOKE", "r-2", "{}", {"2999"})), "INVOKE r-2 2 2999\n{}");
}

TEST(FrameCodec, RoundTripsFramesWithArgsAndEmptyBodies) {
  const std::vector<Frame> frames = {
      makeFrame("INIT", "-", "handler=index.handler\nconcurrency=1\n"),
      makeFrame("INVOKE", "req-1", "", {"3000"}),
      makeFrame("INVOKE", "req-2", "payload", {"3000", "extra"}),
      makeFrame("STOP", "-", ""),
  };
  for (const Frame& frame : frames) {
    std::vector<Frame> decoded = decodeAll(encodeFrame(frame));
    ASSERT_EQ(decoded.size(), 1u);
    expectSameFrame(decoded[0], frame);
  }
}

TEST(FrameCodec, DecodesFrameSplitAtEveryByteBoundary) {
  const Frame frame = makeFrame("INVOKE", "abc", "line one\nline two\n", {"1500"});
  const std::string wire = encodeFrame(frame);
  for (size_t split = 0; split <= wire.size(); ++split) {
    FrameDecoder decoder;
    decoder.feed(std::string_view(wire).substr(0, split));
    absl::StatusOr<std::optional<Frame>> first = decoder.next();
    ASSERT_TRUE(first.ok()) << first.status();
    if (split < wire.size()) {
      EXPECT_FALSE(first->has_value()) << "complete frame after only " << split << " bytes";
      decoder.feed(std::string_view(wire).substr(split));
      first = decoder.next();
      ASSERT_TRUE(first.ok()) << first.status();
    }
    ASSERT_TRUE(first->has_value()) << "no frame with split at " << split;
    expectSameFrame(**first, frame);
    absl::StatusOr<std::optional<Frame>> after = decoder.next();
    ASSERT_TRUE(after.ok());
    EXPECT_FALSE(after->has_value());
  }
}

TEST(FrameCodec, DecodesFrameFedOneByteAtATime) {
  const Frame frame = makeFrame("LOG", "-", "x\n");
  const std::string wire = encodeFrame(frame);
  FrameDecoder decoder;
  std::vector<Frame> frames;
  for (char c : wire) {
    decoder.feed(std::string_view(&c, 1));
    absl::StatusOr<std::optional<Frame>> next = decoder.next();
    ASSERT_TRUE(next.ok()) << next.status();
    if (next->has_value()) frames.push_back(std::move(**next));
  }
  ASSERT_EQ(frames.size(), 1u);
  expectSameFrame(frames[0], frame);
}

TEST(FrameCodec, RoundTripsSixMebibyteBinaryBodyWithNulsAndNewlines) {
  std::mt19937 random(42);
  std::string body(6u << 20, '\0');
  for (char& c : body) c = static_cast<char>(random() & 0xff);
  // Make sure the interesting bytes are there, including at the edges.
  body[0] = '\n';
  body[1] = '\0';
  body[body.size() - 1] = '\n';
  const Frame frame = makeFrame("RESULT", "big", body);
  const std::string wire = encodeFrame(frame);

  // Fed in socket-sized chunks, as a reader would.
  FrameDecoder decoder;
  std::vector<Frame> frames;
  constexpr size_t kChunk = 64u << 10;
  for (size_t at = 0; at < wire.size(); at += kChunk) {
    decoder.feed(std::string_view(wire).substr(at, kChunk));
    absl::StatusOr<std::optional<Frame>> next = decoder.next();
    ASSERT_TRUE(next.ok()) << next.status();
    if (next->has_value()) frames.push_back(std::move(**next));
  }
  ASSERT_EQ(frames.size(), 1u);
  expectSameFrame(frames[0], frame);
}

TEST(FrameCodec, DecodesSeveralFramesFromOneFeed) {
  const std::vector<Frame> frames = {
      makeFrame("LOG", "r1", "started\n"),
      makeFrame("RESULT", "r1", "one"),
      makeFrame("ERROR", "r2", "ValueError\nbad\ntrace"),
      makeFrame("READY", "-", ""),
  };
  std::string wire;
  for (const Frame& frame : frames) wire += encodeFrame(frame);
  std::vector<Frame> decoded = decodeAll(wire);
  ASSERT_EQ(decoded.size(), frames.size());
  for (size_t i = 0; i < frames.size(); ++i) expectSameFrame(decoded[i], frames[i]);
}

TEST(FrameCodec, KeepsDecodingAcrossManyFramesAfterCompaction) {
  // Enough traffic to pass the compaction threshold several times with a partial frame pending.
  FrameDecoder decoder;
  const std::string body(1000, 'b');
  const std::string wire = encodeFrame(makeFrame("LOG", "r", body));
  size_t decoded = 0;
  for (int i = 0; i < 500; ++i) {
    decoder.feed(std::string_view(wire).substr(0, 7));
    decoder.feed(std::string_view(wire).substr(7));
    absl::StatusOr<std::optional<Frame>> next = decoder.next();
    ASSERT_TRUE(next.ok()) << next.status();
    ASSERT_TRUE(next->has_value());
    EXPECT_EQ((*next)->body, body);
    ++decoded;
  }
  EXPECT_EQ(decoded, 500u);
}

TEST(FrameCodec, AcceptsBodyOfExactlyTheLimit) {
  FrameDecoder decoder;
  decoder.feed("RESULT r " + std::to_string(kMaxFrameBody) + "\n");
  decoder.feed(std::string(kMaxFrameBody, 'z'));
  absl::StatusOr<std::optional<Frame>> next = decoder.next();
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_TRUE(next->has_value());
  EXPECT_EQ((*next)->body.size(), kMaxFrameBody);
}

TEST(FrameCodec, RejectsLengthOverTheLimit) {
  absl::Status status = decodeError("RESULT r " + std::to_string(kMaxFrameBody + 1) + "\n");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("frame length 8388609 exceeds the limit of 8388608 bytes"));

  status = decodeError("RESULT r 123456789012345678901234567890\n");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("exceeds the limit of 8388608 bytes"));
}

TEST(FrameCodec, RejectsHeaderOverOneKibibyteWithoutNewline) {
  FrameDecoder decoder;
  decoder.feed(std::string(1024, 'A'));
  absl::StatusOr<std::optional<Frame>> next = decoder.next();
  ASSERT_TRUE(next.ok()) << "1024 bytes may still be a header";
  EXPECT_FALSE(next->has_value());
  decoder.feed("A");
  next = decoder.next();
  EXPECT_EQ(next.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(next.status().message()),
              HasSubstr("frame header is longer than 1024 bytes without a newline"));
}

TEST(FrameCodec, RejectsTooFewFields) {
  absl::Status status = decodeError("READY -\n");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("frame header 'READY -' has 2 field(s); expected"));

  status = decodeError("\n");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("has 1 field(s)"));
}

TEST(FrameCodec, RejectsEmptyFieldsFromExtraSpaces) {
  for (const char* header : {"READY  - 0\n", " READY - 0\n", "READY - 0 \n", "INVOKE r 0  5\n"}) {
    absl::Status status = decodeError(header);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << header;
    EXPECT_THAT(std::string(status.message()), HasSubstr("fields are separated by single spaces")) << header;
  }
}

TEST(FrameCodec, RejectsTypeThatIsNotUppercaseLetters) {
  for (const char* header : {"ready - 0\n", "RE4DY - 0\n", "READY_X - 0\n"}) {
    absl::Status status = decodeError(header);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << header;
    EXPECT_THAT(std::string(status.message()), HasSubstr("is not allowed: use uppercase letters A-Z")) << header;
  }
}

TEST(FrameCodec, RejectsIdWithControlOrNonAsciiBytes) {
  absl::Status status = decodeError("RESULT a\tb 0\n");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("frame id 'a\\tb' is not allowed: use printable ASCII without spaces"));

  status = decodeError("RESULT \xc3\xa9 0\n");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("frame id '\\xc3\\xa9' is not allowed"));
}

TEST(FrameCodec, RejectsCarriageReturnBeforeNewline) {
  // A CRLF peer would otherwise have '\r' glued to its last field.
  absl::Status status = decodeError("READY - 0\r\n");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("frame length '0\\r' is not allowed"));
}

TEST(FrameCodec, RejectsMalformedLength) {
  for (const char* header :
       {"RESULT r -1\n", "RESULT r +1\n", "RESULT r 01\n", "RESULT r 00\n", "RESULT r 1x\n", "RESULT r 0x10\n"}) {
    absl::Status status = decodeError(header);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << header;
    EXPECT_THAT(std::string(status.message()),
                HasSubstr("is not allowed: use a decimal number without sign or leading zeros"))
        << header;
  }
}

TEST(FrameCodec, RejectsArgumentWithControlBytes) {
  absl::Status status = decodeError("INVOKE r 0 12\x01\n");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("frame argument '12\\x01' is not allowed: use printable ASCII without spaces"));
}

TEST(FrameCodec, ParsesArgumentsInOrder) {
  std::vector<Frame> frames = decodeAll("INVOKE r-9 0 250 a=b x\n");
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].type, "INVOKE");
  EXPECT_EQ(frames[0].id, "r-9");
  EXPECT_THAT(frames[0].args, ElementsAre("250", "a=b", "x"));
  EXPECT_EQ(frames[0].body, "");
}

TEST(FrameCodec, ReportsErrorOnlyWhenTheBadFrameIsReached) {
  FrameDecoder decoder;
  decoder.feed("RESULT ok 2\nhiRESULT bad 01\n");
  absl::StatusOr<std::optional<Frame>> first = decoder.next();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->body, "hi");
  absl::StatusOr<std::optional<Frame>> second = decoder.next();
  EXPECT_EQ(second.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("frame length '01' is not allowed"));
}

} // namespace
} // namespace surge::engine
