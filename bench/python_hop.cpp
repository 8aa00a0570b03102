// PythonHop: shims started with posix_spawn, one Asio loop for their sockets.
#include "bench/python_hop.h"

#include <absl/strings/str_cat.h>
#include <asio/post.hpp>
#include <asio/write.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>

extern char** environ;

namespace surge::bench {
namespace {

namespace fs = std::filesystem;

constexpr const char* kNoopHandler = "def handler(event, context):\n    return b''\n";
constexpr auto kShimStartTimeout = std::chrono::seconds(10);

// Reads frames from a blocking descriptor until one arrives, the stream ends, or the time is up.
absl::StatusOr<engine::Frame> readFrame(int fd, engine::FrameDecoder& decoder) {
  const auto deadline = std::chrono::steady_clock::now() + kShimStartTimeout;
  while (true) {
    auto frame = decoder.next();
    if (!frame.ok()) return frame.status();
    if (frame->has_value()) return std::move(**frame);
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    pollfd ready{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&ready, 1, static_cast<int>(left)) <= 0) {
      return absl::DeadlineExceededError("the Python shim did not answer within 10 s");
    }
    char buffer[4096];
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n <= 0) return absl::UnavailableError("the Python shim closed its socket while starting");
    decoder.feed(std::string_view(buffer, static_cast<size_t>(n)));
  }
}

absl::Status writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::UnavailableError(absl::StrCat("cannot write to the Python shim: ", std::strerror(errno)));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

} // namespace

PythonHop::PythonHop(const PythonHopOptions& options) : options_(options) {}

absl::StatusOr<std::unique_ptr<PythonHop>> PythonHop::start(const PythonHopOptions& options) {
  std::unique_ptr<PythonHop> hop(new PythonHop(options));
  std::ofstream(hop->codeDir_.path() / "index.py") << kNoopHandler;
  if (!options.cgroupParent.empty()) {
    auto cgroups = engine::Cgroups::open("/sys/fs/cgroup", options.cgroupParent);
    if (!cgroups.ok()) return cgroups.status();
    hop->cgroups_.emplace(std::move(*cgroups));
  }
  for (int i = 0; i < options.instances; ++i) {
    if (auto status = hop->startShim(i); !status.ok()) return status;
  }
  hop->work_.emplace(asio::make_work_guard(hop->io_));
  for (auto& shim : hop->shims_) {
    hop->idle_.push_back(shim.get());
    hop->readReplies(*shim);
  }
  hop->loop_ = std::thread([hop = hop.get()] { hop->io_.run(); });
  return hop;
}

absl::Status PythonHop::startShim(int index) {
  auto shim = std::make_unique<Shim>();
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return absl::InternalError(absl::StrCat("socketpair: ", std::strerror(errno)));
  }
  const std::string shimPath = SURGE_SOURCE_RUNTIME_DIR "/python/surge_runtime.py";
  const char* argv[] = {"/usr/bin/python3", "-S", shimPath.c_str(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 3); // fd 3: the runtime protocol's socket
  // Not the server child's stdin and stdout: the parent closes its end of stdout once it has read
  // the address, and a shim writing there would die of SIGPIPE.
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  const int rc = ::posix_spawn(&shim->pid, argv[0], &actions, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return absl::InternalError(absl::StrCat("cannot start ", argv[0], ": ", std::strerror(rc)));
  }
  const int fd = fds[0];
  // Registered before anything can fail, so that the destructor reaps the process.
  shim->socket = std::make_unique<asio::local::stream_protocol::socket>(io_, asio::local::stream_protocol(), fd);
  Shim& started = *shim;
  shims_.push_back(std::move(shim));

  if (cgroups_) {
    auto dirs = cgroups_->createGroup(absl::StrCat("shim-", index),
                                      engine::CgroupLimits{.memoryBytes = uint64_t{options_.memoryMb} << 20,
                                                           .pidsMax = engine::SandboxEngineOptions{}.pidsMax});
    if (!dirs.ok()) return dirs.status();
    started.cgroup = std::move(*dirs);
    // Python has no other thread yet, so moving this one moves the process.
    for (const auto& file : cgroups_->joinFiles(started.cgroup)) {
      std::ofstream join(file);
      if (!(join << started.pid << std::flush)) return absl::InternalError("cannot join " + file.string());
    }
  }
  auto loaded = readFrame(fd, started.decoder);
  if (!loaded.ok()) return loaded.status();
  if (loaded->type != "LOADED") return absl::InternalError("the shim sent " + loaded->type + " instead of LOADED");
  const std::string config = absl::StrCat("handler=index.handler\ncode_dir=", codeDir_.path().string(),
                                          "\nconcurrency=1\nmemory_mb=", options_.memoryMb, "\n");
  if (auto status = writeAll(fd, engine::encodeFrame(engine::Frame{"INIT", "-", {}, config})); !status.ok()) {
    return status;
  }
  auto ready = readFrame(fd, started.decoder);
  if (!ready.ok()) return ready.status();
  if (ready->type != "READY") return absl::InternalError("the shim failed to initialise: " + ready->body);
  if (cgroups_) {
    // The quota the engine sets once a sandbox is ready (docs/sandbox.md).
    const double cores = std::max(0.25, options_.memoryMb / 1024.0);
    if (auto status = cgroups_->throttleCpu(started.cgroup, cores); !status.ok()) return status;
  }
  return absl::OkStatus();
}

PythonHop::~PythonHop() {
  work_.reset();
  io_.stop();
  if (loop_.joinable()) loop_.join();
  for (auto& shim : shims_) shim->socket.reset(); // end of stream: each shim exits
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (auto& shim : shims_) {
    while (::waitpid(shim->pid, nullptr, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(shim->pid, SIGKILL);
        ::waitpid(shim->pid, nullptr, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5)); // polls our own child's exit
    }
    if (cgroups_ && !shim->cgroup.empty()) (void)cgroups_->removeGroup(shim->cgroup);
  }
  if (cgroups_) cgroups_->removeParentIfEmpty();
}

std::vector<pid_t> PythonHop::pids() const {
  std::vector<pid_t> pids;
  for (const auto& shim : shims_) pids.push_back(shim->pid);
  return pids;
}

grpc::ServerUnaryReactor* PythonHop::Invoke(grpc::CallbackServerContext* context, const v1::InvokeRequest* request,
                                            v1::InvokeResponse* response) {
  auto call = std::make_unique<Call>(Call{context->DefaultReactor(), response, request->payload()});
  grpc::ServerUnaryReactor* reactor = call->reactor;
  asio::post(io_, [this, call = std::move(call)]() mutable { dispatch(std::move(call)); });
  return reactor;
}

void PythonHop::dispatch(std::unique_ptr<Call> call) {
  if (deadShims_ == static_cast<int>(shims_.size())) {
    call->reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "every Python shim ended"));
    return;
  }
  if (idle_.empty()) {
    waiting_.push_back(std::move(call));
    return;
  }
  Shim& shim = *idle_.back();
  idle_.pop_back();
  serve(shim, std::move(call));
}

void PythonHop::serve(Shim& shim, std::unique_ptr<Call> call) {
  shim.writeBuffer =
      engine::encodeFrame(engine::Frame{"INVOKE", absl::StrCat("hop-", ++nextRequest_), {"10000"}, call->payload});
  shim.call = std::move(call);
  asio::async_write(*shim.socket, asio::buffer(shim.writeBuffer), [](const asio::error_code&, size_t) {
    // A failed write shows as the end of the stream on the read side.
  });
}

void PythonHop::readReplies(Shim& shim) {
  shim.socket->async_read_some(asio::buffer(shim.readBuffer), [this, &shim](const asio::error_code& ec, size_t n) {
    if (ec) {
      // The shim is gone: take it out of service, and fail what nothing can serve any more.
      if (shim.call) shim.call->reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the Python shim ended"));
      shim.call.reset();
      idle_.erase(std::remove(idle_.begin(), idle_.end(), &shim), idle_.end());
      if (++deadShims_ == static_cast<int>(shims_.size())) {
        for (auto& waiting : waiting_) {
          waiting->reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "every Python shim ended"));
        }
        waiting_.clear();
      }
      return;
    }
    shim.decoder.feed(std::string_view(shim.readBuffer.data(), n));
    while (true) {
      auto frame = shim.decoder.next();
      if (!frame.ok() || !frame->has_value()) break;
      answer(shim, **frame);
    }
    readReplies(shim);
  });
}

void PythonHop::answer(Shim& shim, const engine::Frame& frame) {
  if (!shim.call || (frame.type != "RESULT" && frame.type != "ERROR")) return; // LOG frames
  std::unique_ptr<Call> call = std::move(shim.call);
  // The fields surged fills, as the echo does, so that both move the same bytes.
  v1::InvokeResponse& response = *call->response;
  response.set_result(frame.body);
  response.set_request_id("5f1e2d3c4b5a6978-12");
  response.set_queue_wait_us(21);
  response.set_execution_us(35);
  response.set_billed_ms(1);
  response.set_instance_id("17");
  response.set_instance_kind(v1::RESERVED);
  response.set_version(1);
  call->reactor->Finish(frame.type == "RESULT" ? grpc::Status::OK
                                               : grpc::Status(grpc::StatusCode::INTERNAL, "the no-op handler failed"));
  if (waiting_.empty()) {
    idle_.push_back(&shim);
  } else {
    serve(shim, std::move(waiting_.front()));
    waiting_.pop_front();
  }
}

} // namespace surge::bench
