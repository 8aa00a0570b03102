// PythonHop: shims started and initialised by the runtime tests' harness, then served by one
// Asio loop.
#include "bench/python_hop.h"

#include <absl/strings/str_cat.h>
#include <asio/post.hpp>
#include <asio/write.hpp>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>

namespace surge::bench {
namespace {

constexpr const char* kNoopHandler = "def handler(event, context):\n    return b''\n";
constexpr auto kShimStartTimeout = std::chrono::seconds(10);

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
  try {
    // The environment a sandbox gives the Python runtime.
    shim->process = std::make_unique<testing::RuntimeHarness>(
        std::vector<std::string>{"/usr/bin/python3", "-S", SURGE_SOURCE_RUNTIME_DIR "/python/surge_runtime.py"},
        std::map<std::string, std::string>{
            {"PATH", "/usr/bin:/bin"}, {"LANG", "C.UTF-8"}, {"PYTHONDONTWRITEBYTECODE", "1"}});
  } catch (const std::exception& e) {
    return absl::InternalError(e.what());
  }
  Shim& started = *shim;
  shims_.push_back(std::move(shim)); // the destructor reaps it, whatever fails below
  testing::RuntimeHarness& process = *started.process;

  if (cgroups_) {
    auto dirs = cgroups_->createGroup(absl::StrCat("shim-", index),
                                      engine::CgroupLimits{.memoryBytes = uint64_t{options_.memoryMb} << 20,
                                                           .pidsMax = engine::SandboxEngineOptions{}.pidsMax});
    if (!dirs.ok()) return dirs.status();
    started.cgroup = std::move(*dirs);
    // Python has no other thread yet, so moving this one moves the process.
    for (const auto& file : cgroups_->joinFiles(started.cgroup)) {
      std::ofstream join(file);
      if (!(join << process.pid() << std::flush)) return absl::InternalError("cannot join " + file.string());
    }
  }
  const auto deadline = testing::RuntimeHarness::Clock::now() + kShimStartTimeout;
  auto loaded = process.next(deadline);
  if (!loaded.ok()) return loaded.status();
  if (loaded->type != "LOADED") return absl::InternalError("the shim sent " + loaded->type + " instead of LOADED");
  const std::string config = absl::StrCat("handler=index.handler\ncode_dir=", codeDir_.path().string(),
                                          "\nconcurrency=1\nmemory_mb=", options_.memoryMb, "\n");
  if (auto status = process.send(engine::Frame{"INIT", "-", {}, config}, deadline); !status.ok()) return status;
  auto ready = process.next(deadline);
  if (!ready.ok()) return ready.status();
  if (ready->type != "READY") return absl::InternalError("the shim failed to initialise: " + ready->body);
  if (cgroups_) {
    // The quota the engine sets once a sandbox is ready (docs/sandbox.md).
    const double cores = std::max(0.25, options_.memoryMb / 1024.0);
    if (auto status = cgroups_->throttleCpu(started.cgroup, cores); !status.ok()) return status;
  }
  const int fd = ::dup(process.socketFd());
  if (fd < 0) return absl::InternalError(absl::StrCat("dup: ", std::strerror(errno)));
  started.socket = std::make_unique<asio::local::stream_protocol::socket>(io_, asio::local::stream_protocol(), fd);
  return absl::OkStatus();
}

PythonHop::~PythonHop() {
  work_.reset();
  io_.stop();
  if (loop_.joinable()) loop_.join();
  for (auto& shim : shims_) {
    shim->socket.reset();
    shim->process.reset(); // kills and reaps it
    if (cgroups_ && !shim->cgroup.empty()) (void)cgroups_->removeGroup(shim->cgroup);
  }
  if (cgroups_) cgroups_->removeParentIfEmpty();
}

std::vector<pid_t> PythonHop::pids() const {
  std::vector<pid_t> pids;
  for (const auto& shim : shims_) pids.push_back(shim->process->pid());
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
