// Output capture's pure parts: lines cut from chunks, UTF-8 repair, a request's cap and tail,
// and how a batch tags its lines.
#include "engine/output_capture.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace surge::engine {
namespace {

using common::LogStream;

struct Emitted {
  std::string text;
  bool cut;
  bool operator==(const Emitted&) const = default;
};

std::vector<Emitted> feedAll(LineSplitter& splitter, const std::vector<std::string>& chunks, bool finish) {
  std::vector<Emitted> lines;
  const auto emit = [&](std::string text, bool cut) { lines.push_back({std::move(text), cut}); };
  for (const std::string& chunk : chunks) splitter.feed(chunk, emit);
  if (finish) splitter.finish(emit);
  return lines;
}

TEST(LineSplitter, JoinsChunksIntoLinesAndKeepsTheRestForLater) {
  LineSplitter splitter;
  EXPECT_EQ(feedAll(splitter, {"one\ntw", "o\n\nthr"}, false),
            (std::vector<Emitted>{{"one", false}, {"two", false}, {"", false}}));
  EXPECT_FALSE(splitter.empty());
  EXPECT_EQ(feedAll(splitter, {"ee"}, true), (std::vector<Emitted>{{"three", false}}));
  EXPECT_TRUE(splitter.empty());
  EXPECT_TRUE(feedAll(splitter, {}, true).empty()); // nothing left: no empty line
}

TEST(LineSplitter, CutsALongLineAtSixteenKibibytesAndDropsTheRestUpToItsNewline) {
  LineSplitter splitter;
  const std::string head(kMaxLogLineBytes - 1, 'a');
  const auto lines = feedAll(splitter, {head, "bcd", std::string(40000, 'x'), "\nnext\n"}, false);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].text, head + "b");
  EXPECT_TRUE(lines[0].cut);
  EXPECT_EQ(lines[1], (Emitted{"next", false}));
}

TEST(LineSplitter, ALineOfExactlySixteenKibibytesIsWhole) {
  LineSplitter splitter;
  const auto lines = feedAll(splitter, {std::string(kMaxLogLineBytes, 'a') + "\n"}, false);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_FALSE(lines[0].cut);
  EXPECT_EQ(lines[0].text.size(), kMaxLogLineBytes);
}

TEST(LineSplitter, CutsAtACharacterBoundary) {
  LineSplitter splitter;
  // "é" is two bytes: the limit falls inside the last one, which must go whole.
  std::string text(kMaxLogLineBytes - 1, 'a');
  text += "\xC3\xA9 and more\n";
  const auto lines = feedAll(splitter, {text}, false);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(lines[0].cut);
  EXPECT_EQ(lines[0].text, std::string(kMaxLogLineBytes - 1, 'a'));
}

TEST(Utf8, InvalidBytesBecomeReplacementCharactersAndValidTextIsUntouched) {
  EXPECT_EQ(toValidUtf8("plain ü € 😀"), "plain ü € 😀");
  EXPECT_EQ(toValidUtf8("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(toValidUtf8("\xC3"), "\xEF\xBF\xBD");                   // truncated sequence
  EXPECT_EQ(toValidUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");   // overlong
  EXPECT_EQ(toValidUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"); // surrogate
  EXPECT_EQ(utf8Head("ab\xC3\xA9", 3), "ab");
  EXPECT_EQ(utf8Head("ab\xC3\xA9", 4), "ab\xC3\xA9");
}

TEST(RequestLog, KeepsLinesUpToItsCapThenSaysOnceThatTheLogWasTruncated) {
  RequestLog log;
  log.configure(100, /*keepTail=*/true);
  std::string marker;
  EXPECT_TRUE(log.admit(std::string(49, 'a'), &marker)); // 50 bytes with its newline
  EXPECT_TRUE(log.admit(std::string(49, 'b'), &marker)); // exactly at the cap
  EXPECT_FALSE(log.truncated());
  EXPECT_FALSE(log.admit("c", &marker));
  EXPECT_THAT(marker, ::testing::HasSubstr("truncated"));
  marker.clear();
  EXPECT_FALSE(log.admit("d", &marker));
  EXPECT_TRUE(marker.empty()); // said once
  InvokeResult result;
  log.finishInto(result);
  EXPECT_TRUE(result.logsTruncated);
  EXPECT_THAT(result.logTail, ::testing::EndsWith("truncated at 0 KiB]\n"));
}

TEST(RequestLog, TheTailIsTheLastFourKibibytesInWholeLines) {
  RequestLog log;
  log.configure(kDefaultRequestLogBytes, /*keepTail=*/true);
  std::string marker;
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(log.admit("line " + std::to_string(i) + std::string(60, '.'), &marker));
  InvokeResult result;
  log.finishInto(result);
  EXPECT_LE(result.logTail.size(), kLogTailBytes);
  EXPECT_GT(result.logTail.size(), kLogTailBytes - 100);
  EXPECT_THAT(result.logTail, ::testing::StartsWith("line "));
  EXPECT_THAT(result.logTail, ::testing::EndsWith("line 99" + std::string(60, '.') + "\n"));
}

TEST(RequestLog, ALineLongerThanTheTailKeepsItsEnd) {
  RequestLog log;
  log.configure(kDefaultRequestLogBytes, /*keepTail=*/true);
  std::string marker;
  ASSERT_TRUE(log.admit(std::string(5000, 'a') + "END", &marker));
  InvokeResult result;
  log.finishInto(result);
  EXPECT_EQ(result.logTail.size(), kLogTailBytes);
  EXPECT_THAT(result.logTail, ::testing::EndsWith("aEND\n"));
}

TEST(RequestLog, NoTailUnlessAskedButTheCapStillHolds) {
  RequestLog log;
  log.configure(10, /*keepTail=*/false);
  std::string marker;
  EXPECT_TRUE(log.admit("short", &marker));
  EXPECT_FALSE(log.admit("too long now", &marker));
  InvokeResult result;
  log.finishInto(result);
  EXPECT_TRUE(result.logTail.empty());
  EXPECT_TRUE(result.logsTruncated);
}

TEST(LineBatch, TagsEachLineAndHandsTheBatchOverOnce) {
  std::vector<std::vector<common::LogLinePtr>> batches;
  const LogSink sink = [&](std::vector<common::LogLinePtr> lines) { batches.push_back(std::move(lines)); };
  InstanceSpec spec;
  spec.function = "shop/checkout";
  spec.version = 3;
  RequestLog request;
  request.configure(20, false);
  {
    LineBatch batch(sink, spec, 42, /*initializing=*/false);
    batch.add(&request, "r1", LogStream::kStderr, "boom", false);
    batch.add(nullptr, "", LogStream::kStdout, "from a thread", true);
    batch.add(&request, "r1", LogStream::kStdout, "this one passes the cap", false);
    EXPECT_TRUE(batches.empty()); // not before the batch ends
  }
  ASSERT_EQ(batches.size(), 1u);
  const auto& lines = batches[0];
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]->function, "shop/checkout");
  EXPECT_EQ(lines[0]->version, 3);
  EXPECT_EQ(lines[0]->instance, 42u);
  EXPECT_EQ(lines[0]->requestId, "r1");
  EXPECT_EQ(lines[0]->stream, LogStream::kStderr);
  EXPECT_FALSE(lines[0]->initializer);
  EXPECT_EQ(lines[1]->requestId, "");
  EXPECT_TRUE(lines[1]->cut);
  EXPECT_EQ(lines[2]->stream, LogStream::kPlatform); // the truncation marker
  EXPECT_EQ(lines[2]->requestId, "r1");
}

TEST(LineBatch, APreStartedSandboxWithoutAFunctionLogsNothing) {
  int calls = 0;
  const LogSink sink = [&](std::vector<common::LogLinePtr>) { ++calls; };
  InstanceSpec stem; // no function yet
  {
    LineBatch batch(sink, stem, 7, true);
    batch.add(nullptr, "", LogStream::kStdout, "loading", false);
  }
  EXPECT_EQ(calls, 0);
}

} // namespace
} // namespace surge::engine
