// hello-cpp: a custom-runtime sample in plain C++. It is the function's /code/bootstrap and speaks
// the runtime protocol (docs/runtime-protocol.md) on fd 3 with nothing but POSIX read and write,
// so it can be copied out of this repository and built on its own.
//
// It serves one request at a time (it is meant for concurrency 1): the payload names whom to
// greet ("world" when empty), and the payload "fail" shows how a handler reports an error.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr int kProtocolFd = 3;
constexpr size_t kMaxHeaderLine = 1024;
constexpr size_t kMaxBody = 8u << 20;
// 0 and 1 have meanings in the protocol (a clean exit, a failed start); 2 is a protocol violation.
constexpr int kExitProtocolError = 2;

struct Frame {
  std::string type;
  std::string id;
  std::vector<std::string> args;
  std::string body;
};

[[noreturn]] void fail(const std::string& why) {
  // stderr is captured by the host: it explains the exit status.
  const std::string line = "hello-cpp: " + why + "\n";
  [[maybe_unused]] const ssize_t n = ::write(2, line.data(), line.size());
  std::_Exit(kExitProtocolError);
}

void writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    // The host is gone: nobody is left to answer.
    if (n <= 0) std::_Exit(0);
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void sendFrame(std::string_view type, std::string_view id, std::string_view body) {
  std::string header;
  header.append(type).append(" ").append(id).append(" ").append(std::to_string(body.size())).append("\n");
  writeAll(kProtocolFd, header);
  writeAll(kProtocolFd, body);
}

// Reads frames from fd 3. It reads ahead into a buffer, which is fine here: this process is the
// only reader of the socket.
class FrameReader {
public:
  // The next frame, or false at end of stream. A malformed header ends the process: the stream
  // cannot be resynchronised after it.
  bool next(Frame& frame) {
    size_t newline;
    while ((newline = buffer_.find('\n')) == std::string::npos) {
      if (buffer_.size() > kMaxHeaderLine) fail("frame header longer than 1024 bytes");
      if (!fill()) {
        if (!buffer_.empty()) fail("end of stream inside a frame header");
        return false;
      }
    }
    if (newline > kMaxHeaderLine) fail("frame header longer than 1024 bytes");
    const std::string header = buffer_.substr(0, newline);
    buffer_.erase(0, newline + 1);

    std::vector<std::string> fields;
    for (size_t start = 0;;) {
      const size_t space = header.find(' ', start);
      fields.push_back(header.substr(start, space == std::string::npos ? std::string::npos : space - start));
      if (space == std::string::npos) break;
      start = space + 1;
    }
    if (fields.size() < 3) fail("malformed frame header: " + header);
    for (const std::string& field : fields) {
      if (field.empty()) fail("malformed frame header: " + header);
    }
    const std::string& length = fields[2];
    if (length.size() > 7 || length.find_first_not_of("0123456789") != std::string::npos ||
        (length.size() > 1 && length[0] == '0')) {
      fail("malformed frame length: " + header);
    }
    const size_t bodyLength = std::stoul(length);
    if (bodyLength > kMaxBody) fail("frame body over 8 MiB: " + header);
    while (buffer_.size() < bodyLength) {
      if (!fill()) fail("end of stream inside a frame body");
    }
    frame.type = fields[0];
    frame.id = fields[1];
    frame.args.assign(fields.begin() + 3, fields.end());
    frame.body = buffer_.substr(0, bodyLength);
    buffer_.erase(0, bodyLength);
    return true;
  }

private:
  bool fill() {
    char chunk[65536];
    while (true) {
      const ssize_t n = ::read(kProtocolFd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buffer_.append(chunk, static_cast<size_t>(n));
      return true;
    }
  }

  std::string buffer_;
};

// The function itself. An ERROR body is the error type, the message (one line) and a trace.
void handle(const Frame& invoke) {
  if (invoke.body == "fail") {
    sendFrame("ERROR", invoke.id,
              "SampleError\nthe payload asked the function to fail\n  at handle() in hello-cpp/main.cpp\n");
    return;
  }
  const std::string name = invoke.body.empty() ? "world" : invoke.body;
  // Output for the request goes out as LOG frames tagged with its id, before the reply.
  sendFrame("LOG", invoke.id, "greeting a name of " + std::to_string(name.size()) + " bytes\n");
  sendFrame("RESULT", invoke.id, "hello, " + name + "!");
}

} // namespace

int main() {
  FrameReader reader;
  Frame frame;
  if (!reader.next(frame)) return 0;
  if (frame.type != "INIT") fail("the first frame is " + frame.type + ", not INIT");
  // The INIT body (handler=..., env.NAME=..., one per line) configures nothing in this sample.
  sendFrame("READY", "-", "");

  while (reader.next(frame)) {
    if (frame.type == "INVOKE") {
      handle(frame);
    } else if (frame.type == "STOP") {
      return 0; // nothing is in flight: requests are served one at a time
    }
    // CANCEL (a request here always finishes first) and frame types of later versions: ignored.
  }
  return 0; // end of stream: the host is gone
}
