// The custom-runtime function that runtime_conformance_test copies in as /code/bootstrap: the
// conformance behaviours of tests/engine/runtime_conformance_test.cpp, in the plain-POSIX style
// of resources/samples/hello-cpp (no project libraries), but serving requests concurrently.
//
// The payload picks the behaviour: "echo:..." returns the payload, "count" the number of INITs
// this process has served, "fail" an ERROR, "hang" never answers, "log" writes a LOG frame and raw
// stderr, "gather" waits until four requests are in flight at once; anything else is greeted.
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

constexpr int kProtocolFd = 3;
constexpr size_t kMaxHeaderLine = 1024;
constexpr size_t kMaxBody = 8u << 20;
constexpr int kExitProtocolError = 2;
constexpr int kGatherCount = 4;

struct Frame {
  std::string type;
  std::string id;
  std::string body;
};

[[noreturn]] void fail(const std::string& why) {
  const std::string line = "conformance_bootstrap: " + why + "\n";
  [[maybe_unused]] const ssize_t n = ::write(2, line.data(), line.size());
  std::_Exit(kExitProtocolError);
}

void writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) std::_Exit(0); // the host is gone
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// Several handlers answer at once: a frame goes out whole, under the lock, or the wire breaks.
std::mutex sendMutex;

void sendFrame(std::string_view type, std::string_view id, std::string_view body) {
  std::string header;
  header.append(type).append(" ").append(id).append(" ").append(std::to_string(body.size())).append("\n");
  std::lock_guard lock(sendMutex);
  writeAll(kProtocolFd, header);
  writeAll(kProtocolFd, body);
}

class FrameReader {
public:
  // The next frame, or false at end of stream; a malformed header ends the process.
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
    const size_t first = header.find(' ');
    const size_t second = first == std::string::npos ? first : header.find(' ', first + 1);
    if (first == 0 || second == std::string::npos || second == first + 1) fail("malformed frame header: " + header);
    const size_t third = header.find(' ', second + 1);
    const std::string length = header.substr(second + 1, third == std::string::npos ? third : third - second - 1);
    if (length.empty() || length.size() > 7 || length.find_first_not_of("0123456789") != std::string::npos ||
        (length.size() > 1 && length[0] == '0')) {
      fail("malformed frame length: " + header);
    }
    const size_t bodyLength = std::stoul(length);
    if (bodyLength > kMaxBody) fail("frame body over 8 MiB: " + header);
    while (buffer_.size() < bodyLength) {
      if (!fill()) fail("end of stream inside a frame body");
    }
    frame.type = header.substr(0, first);
    frame.id = header.substr(first + 1, second - first - 1);
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

std::atomic<int> inits = 0;

// Requests in flight, so that STOP can let them finish; and the "gather" meeting point.
std::mutex stateMutex;
std::condition_variable stateChanged;
int inflight = 0;
int gathered = 0;

void handle(const Frame& invoke) {
  const std::string& payload = invoke.body;
  if (payload.starts_with("echo:")) {
    sendFrame("RESULT", invoke.id, payload);
  } else if (payload == "count") {
    sendFrame("RESULT", invoke.id, std::to_string(inits.load()));
  } else if (payload == "fail") {
    sendFrame("ERROR", invoke.id,
              "ConformanceError\nbad input\n  at handle() in tests/engine/conformance_bootstrap.cpp\n");
  } else if (payload == "hang") {
    // Only the host's timeout ends this request: it kills the instance.
    while (true) ::pause();
  } else if (payload == "log") {
    // Raw stderr first: at concurrency 1 the host attributes it to the one request in flight.
    writeAll(2, "raw line from stderr\n");
    sendFrame("LOG", invoke.id, "log line from the handler\n");
    sendFrame("RESULT", invoke.id, "logged");
  } else if (payload == "gather") {
    std::unique_lock lock(stateMutex);
    ++gathered;
    stateChanged.notify_all();
    const bool met = stateChanged.wait_for(lock, std::chrono::seconds(30), [] { return gathered >= kGatherCount; });
    lock.unlock();
    if (met) {
      sendFrame("RESULT", invoke.id, "gathered");
    } else {
      sendFrame("ERROR", invoke.id, "GatherTimeout\nfewer than 4 requests were in flight at once within 30 s\n");
    }
  } else {
    sendFrame("RESULT", invoke.id, "hello, " + (payload.empty() ? std::string("world") : payload) + "!");
  }
}

} // namespace

int main() {
  FrameReader reader;
  Frame frame;
  if (!reader.next(frame)) return 0;
  if (frame.type != "INIT") fail("the first frame is " + frame.type + ", not INIT");
  // "Initialisation" is the work between INIT and READY; the count shows it ran once.
  ++inits;
  sendFrame("LOG", "-", "initialised\n");
  sendFrame("READY", "-", "");

  while (reader.next(frame)) {
    if (frame.type == "INVOKE") {
      {
        std::lock_guard lock(stateMutex);
        ++inflight;
      }
      std::thread([request = std::move(frame)] {
        handle(request);
        std::lock_guard lock(stateMutex);
        --inflight;
        stateChanged.notify_all();
      }).detach();
      frame = Frame{};
    } else if (frame.type == "INIT") {
      ++inits; // a second INIT is a host bug; "count" then shows it
    } else if (frame.type == "STOP") {
      std::unique_lock lock(stateMutex);
      stateChanged.wait(lock, [] { return inflight == 0; });
      std::_Exit(0); // detached handler threads must not outlive a normal exit's destructors
    }
  }
  std::_Exit(0); // end of stream: the host is gone, in-flight requests or not
}
