// The engine surged runs by default: sandboxed processes (bubblewrap, namespaces, cgroups,
// seccomp), which need root. Kept apart from SurgeServer so that a server can be given another
// engine (tests give the FakeEngine).
#pragma once

#include "scheduler/scheduler.h"
#include "server/server_config.h"

#include <absl/status/statusor.h>

#include <cstdint>

namespace surge::engine {
class UidBlock;
}

namespace surge::server {

// Builds the SandboxEngine for `config`: pre-started sandboxes live in <data-dir>/sandboxes, on
// the same file system as the unpacked code, so that code is hard-linked into them; sandbox uids
// come from `uids` (held by this server alone, and outliving the engine); instance ids of server
// run `run` are run * 10^10 + 1, + 2, ... FAILED_PRECONDITION when the sandboxes folder cannot
// be made, INVALID_ARGUMENT for a bad --network-dns or --network-deny. Every line instances
// print goes to `logSink`.
absl::StatusOr<scheduler::EngineFactory> sandboxEngineFactory(const ServerConfig& config, const engine::UidBlock& uids,
                                                              int64_t run, engine::LogSink logSink);

} // namespace surge::server
