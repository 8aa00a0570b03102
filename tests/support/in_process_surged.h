// surged's server object in the test's own process, on 127.0.0.1 at a free port, with the
// FakeEngine answering every start and request at once: for API tests that are not about
// sandboxes. No root, no bubblewrap, no cgroups; a server starts in milliseconds.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

namespace spdlog::sinks {
template <typename Mutex> class ringbuffer_sink;
}
namespace surge::server {
class SurgeServer;
}

namespace surge::testing {

class InProcessSurged {
public:
  // Starts the server on `dataDir` (created if missing) and makes its bootstrap admin token the
  // default key of contextWithDeadline(). Throws std::runtime_error if it cannot start.
  explicit InProcessSurged(const std::filesystem::path& dataDir);
  ~InProcessSurged();
  InProcessSurged(const InProcessSurged&) = delete;
  InProcessSurged& operator=(const InProcessSurged&) = delete;

  const std::string& address() const { return address_; }
  const std::string& adminKey() const { return adminKey_; }
  const std::filesystem::path& dataDir() const { return dataDir_; }
  // What the server logged since it was started here.
  std::string log() const;

private:
  std::filesystem::path dataDir_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink<std::mutex>> log_;
  std::unique_ptr<server::SurgeServer> server_;
  std::string address_;
  std::string adminKey_;
};

} // namespace surge::testing
