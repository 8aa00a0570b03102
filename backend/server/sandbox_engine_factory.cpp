// The SandboxEngine and its launcher, configured from surged's flags.
#include "server/sandbox_engine_factory.h"

#include "common/sha256.h"
#include "engine/sandbox_engine.h"
#include "engine/sandbox_launcher.h"
#include "engine/uid_block.h"

#include <absl/strings/str_cat.h>
#include <spdlog/spdlog.h>

#include <filesystem>

namespace surge::server {
namespace {

namespace fs = std::filesystem;

// Instance ids of run R are R * kInstanceIdsPerRun + 1, + 2, ...: unique across restarts of a
// data dir, and in decimal a person can still read the run in them (run 3: 30000000001).
constexpr engine::InstanceId kInstanceIdsPerRun = 10'000'000'000;

} // namespace

absl::StatusOr<scheduler::EngineFactory> sandboxEngineFactory(const ServerConfig& config, const engine::UidBlock& uids,
                                                              int64_t run, engine::LogSink logSink) {
  std::error_code ec;
  const fs::path dataDir = fs::weakly_canonical(config.dataDir, ec);
  const fs::path sandboxes = dataDir / "sandboxes";
  fs::create_directories(sandboxes, ec);
  fs::permissions(sandboxes, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec,
                  fs::perm_options::replace, ec);
  if (ec) return absl::FailedPreconditionError(absl::StrCat("cannot create ", sandboxes.string(), ": ", ec.message()));

  engine::LauncherOptions launcherOptions;
  launcherOptions.cgroupParent = config.cgroupParent.empty()
                                     ? absl::StrCat("surge-", common::Sha256::of(dataDir.string()).substr(0, 12))
                                     : config.cgroupParent;
  // The zygote loads the same shim the sandboxes bind at /runtime.
  launcherOptions.zygote.program = config.zygote;
  launcherOptions.zygote.shimSource = config.runtimeDir / "python" / "surge_runtime.py";
  // Checked by the flag parser; a config built in code gets the same message here.
  if (!config.networkDns.empty()) {
    auto dns = engine::parseIpv4Net(config.networkDns);
    if (!dns.ok() || dns->mask != 0xffffffffu) {
      return absl::InvalidArgumentError(absl::StrCat("--network-dns '", config.networkDns, "' is not an IPv4 address"));
    }
    launcherOptions.network.dnsUpstream = dns->address;
  }
  for (const std::string& deny : config.networkDeny) {
    auto net = engine::parseIpv4Net(deny);
    if (!net.ok()) return net.status();
    launcherOptions.network.deny.push_back(*net);
  }
  engine::SandboxEngineOptions engineOptions;
  engineOptions.runtimeDir = config.runtimeDir;
  engineOptions.sandboxesDir = sandboxes;
  engineOptions.firstInstanceId = static_cast<engine::InstanceId>(run) * kInstanceIdsPerRun + 1;
  // Functions' uids in the first half of the block, pre-started sandboxes' in the second.
  engineOptions.uidBase = uids.first();
  engineOptions.uidRange = uids.size() / 2;
  engineOptions.poolSize = config.poolSize;
  engineOptions.loopSpin = std::chrono::microseconds(config.loopSpinMicros);
  if (config.python3PoolSize >= 0) engineOptions.poolSizes[common::Runtime::kPython3] = config.python3PoolSize;
  if (config.nodejsPoolSize >= 0) engineOptions.poolSizes[common::Runtime::kNodejs] = config.nodejsPoolSize;
  engineOptions.logSink = std::move(logSink);
  engineOptions.requestLogBytes = static_cast<size_t>(config.requestLogKib) << 10;
  const uid_t firstUid = uids.first(), lastUid = uids.first() + uids.size() - 1;
  return [launcherOptions, engineOptions, firstUid, lastUid, python3 = config.python3PoolSize,
          nodejs = config.nodejsPoolSize](
             engine::Executor, engine::InstanceObserver& observer) -> absl::StatusOr<scheduler::EngineOnLoop> {
    auto launcher = engine::SandboxLauncher::create(launcherOptions);
    if (!launcher.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot run function instances: ", launcher.status().message()));
    }
    spdlog::info("sandboxes: cgroup parent '{}', uids {}-{}, {} pre-started per runtime and memory size "
                 "(python3 {}, nodejs {})",
                 launcherOptions.cgroupParent, firstUid, lastUid, engineOptions.poolSize, python3, nodejs);
    // No executor: the engine posts its events to its own loop, where the scheduler runs too.
    auto engine =
        std::make_unique<engine::SandboxEngine>(engineOptions, std::move(*launcher), engine::Executor(), observer);
    asio::io_context& loop = engine->loop();
    return scheduler::EngineOnLoop{std::move(engine), &loop};
  };
}

} // namespace surge::server
