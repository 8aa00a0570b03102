// The channel to an instance over a real socketpair and pipes, on a loop of the test's own (no
// sandbox): frames out in order, frames in as they are decoded, a broken stream, pipe output.
#include "engine/instance_channel.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <vector>

namespace surge::engine {
namespace {

struct Received {
  std::vector<Frame> frames;
  std::vector<absl::Status> broken;
  std::string output;
  std::string errors; // what came on stderr
};

// Stands in for the engine's handler: it holds what keeps the channel's data alive.
struct Handler {
  std::shared_ptr<Received> received;
  void onFrame(Frame&& frame) { received->frames.push_back(std::move(frame)); }
  void onBroken(const absl::Status& status) { received->broken.push_back(status); }
  void onOutput(bool isStdout, std::string_view data) { (isStdout ? received->output : received->errors).append(data); }
};

// Runs `io` until `done()` holds (each step waits for one handler at most).
template <typename Done> void runUntil(asio::io_context& io, Done done) {
  for (int i = 0; i < 1000 && !done(); ++i) io.run_one_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(done());
}

std::string readAll(int fd, size_t size) {
  std::string data(size, '\0');
  size_t got = 0;
  while (got < size) {
    const ssize_t n = ::read(fd, data.data() + got, size - got);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  data.resize(got);
  return data;
}

TEST(InstanceChannel, SendsQueuedFramesInOrder) {
  asio::io_context io;
  InstanceChannel channel(io);
  auto child = channel.openSocket();
  ASSERT_TRUE(child.ok()) << child.status();
  auto owner = std::make_shared<int>(0);
  const Frame first{"INVOKE", "r1", {"100"}, "payload"};
  const Frame second{"CANCEL", "r1", {}, ""};
  channel.send(first, owner);
  channel.send(second, owner);
  const std::string expected = encodeFrame(first) + encodeFrame(second);
  io.run(); // until both writes are done
  EXPECT_EQ(readAll(*child, expected.size()), expected);
  ::close(*child);
}

TEST(InstanceChannel, DecodesFramesSplitAcrossReadsAndStopsAtABrokenOne) {
  asio::io_context io;
  InstanceChannel channel(io);
  auto child = channel.openSocket();
  ASSERT_TRUE(child.ok()) << child.status();
  auto received = std::make_shared<Received>();
  channel.readFrames(Handler{received});
  const std::string wire = encodeFrame(Frame{"READY", "-", {}, ""}) + encodeFrame(Frame{"RESULT", "r1", {}, "42"});
  ASSERT_EQ(::write(*child, wire.data(), 10), 10);
  io.run_one_for(std::chrono::milliseconds(50));
  ASSERT_EQ(::write(*child, wire.data() + 10, wire.size() - 10), static_cast<ssize_t>(wire.size() - 10));
  runUntil(io, [&] { return received->frames.size() == 2; });
  EXPECT_EQ(received->frames[0].type, "READY");
  EXPECT_EQ(received->frames[1].body, "42");
  const std::string garbage = "not a frame\n";
  ASSERT_EQ(::write(*child, garbage.data(), garbage.size()), static_cast<ssize_t>(garbage.size()));
  runUntil(io, [&] { return received->broken.size() == 1; });
  EXPECT_EQ(received->broken[0].code(), absl::StatusCode::kInvalidArgument);
  ::close(*child);
}

TEST(InstanceChannel, HandsPipeOutputOnAndKeepsStderrsTail) {
  asio::io_context io;
  InstanceChannel channel(io);
  int out[2], err[2];
  ASSERT_EQ(::pipe2(out, O_NONBLOCK | O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(err, O_NONBLOCK | O_CLOEXEC), 0);
  channel.adoptPipes(out[0], err[0]);
  auto received = std::make_shared<Received>();
  channel.readPipes(Handler{received});
  ASSERT_EQ(::write(out[1], "printed ", 8), 8);
  runUntil(io, [&] { return received->output == "printed "; });
  // What is already in the pipes can be taken at once, without the loop.
  ASSERT_EQ(::write(err[1], "Traceback", 9), 9);
  std::string drained;
  bool drainedStdout = true;
  channel.drainPipes([&](bool isStdout, std::string_view data) {
    drained.append(data);
    drainedStdout = isStdout;
  });
  EXPECT_EQ(drained, "Traceback");
  EXPECT_FALSE(drainedStdout);
  EXPECT_EQ(channel.stderrTail(), "Traceback");
  channel.close();
  io.run(); // the reads end with an error, and no handler reports it
  EXPECT_EQ(received->output, "printed ");
  ::close(out[1]);
  ::close(err[1]);
}

} // namespace
} // namespace surge::engine
