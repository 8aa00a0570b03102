// bench/python_hop: what one hop through a Python process costs, without Surge. A gRPC Invoke
// service that forwards each call to one of N plain Python runtime shims (surge_runtime.py with a
// no-op handler) over a socketpair, through one Asio loop thread as surged does, and answers with
// the reply. No sandbox, scheduler, authorisation, timers or metrics: any design that runs the
// handler in a process of its own pays at least this. Optionally each shim sits in a cgroup of its
// own with a sandbox's limits (memory, pids and the CPU quota), to show what the cgroups add.
// invoke_e2e serves it next to the bare echo, so that the gap between the echo and surged can be
// split into the hop, the cgroups, and surged itself.
#pragma once

#include "engine/cgroups.h"
#include "engine/frame_codec.h"
#include "engine/runtime_harness.h"
#include "engine/sandbox_engine.h"
#include "protos/bench_echo.grpc.pb.h"
#include "support/temp_dir.h"

#include <absl/status/statusor.h>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>

#include <array>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace surge::bench {

struct PythonHopOptions {
  int instances = 16;
  // Empty: the shims run in the server's own cgroups. Otherwise each gets <parent>/shim-N with
  // the limits of a sandbox of `memoryMb` (memory, pids, and the CPU quota the engine sets once
  // an instance is ready: max(0.25, memoryMb / 1024) cores).
  std::string cgroupParent;
  uint32_t memoryMb = 128;
};

class PythonHop final : public EchoService::CallbackService {
public:
  // Starts the shims and waits until each has initialised its handler.
  static absl::StatusOr<std::unique_ptr<PythonHop>> start(const PythonHopOptions& options);
  // Kills and reaps the shims and removes their cgroups.
  ~PythonHop() override;

  grpc::ServerUnaryReactor* Invoke(grpc::CallbackServerContext* context, const v1::InvokeRequest* request,
                                   v1::InvokeResponse* response) override;

  std::vector<pid_t> pids() const;

private:
  struct Call {
    grpc::ServerUnaryReactor* reactor;
    v1::InvokeResponse* response;
    std::string payload;
  };
  struct Shim {
    // Starts the process and takes it through LOADED, INIT and READY; then the loop takes over a
    // dup of its socket.
    std::unique_ptr<testing::RuntimeHarness> process;
    std::unique_ptr<asio::local::stream_protocol::socket> socket;
    engine::FrameDecoder decoder;
    std::array<char, 4096> readBuffer{};
    std::string writeBuffer;
    std::unique_ptr<Call> call; // the call it serves; null while idle
    std::vector<std::filesystem::path> cgroup;
  };

  explicit PythonHop(const PythonHopOptions& options);
  absl::Status startShim(int index);
  // On the loop: the call goes to the idle shim used last (its pages are the warmest), or waits.
  void dispatch(std::unique_ptr<Call> call);
  void serve(Shim& shim, std::unique_ptr<Call> call);
  void readReplies(Shim& shim);
  void answer(Shim& shim, const engine::Frame& frame);

  PythonHopOptions options_;
  testing::TempDir codeDir_;
  std::optional<engine::Cgroups> cgroups_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::vector<std::unique_ptr<Shim>> shims_;
  std::vector<Shim*> idle_;                   // on the loop only
  std::deque<std::unique_ptr<Call>> waiting_; // on the loop only
  std::thread loop_;
  uint64_t nextRequest_ = 0; // on the loop only
  int deadShims_ = 0;        // on the loop only
};

} // namespace surge::bench
