#include "support/in_process_surged.h"

#include "server/surge_server.h"
#include "support/client.h"
#include "support/fake_engine.h"

#include <absl/strings/str_join.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <stdexcept>

namespace surge::testing {

InProcessSurged::InProcessSurged(const std::filesystem::path& dataDir)
    : dataDir_(dataDir), log_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(10000)) {
  // The server logs through spdlog's default logger: keep its lines for log(), and show them.
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "surged", spdlog::sinks_init_list{log_, std::make_shared<spdlog::sinks::stderr_sink_mt>()}));
  server::ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.dataDir = dataDir;
  server::ServerParts parts;
  parts.engine = [](engine::Executor executor,
                    engine::InstanceObserver& observer) -> absl::StatusOr<scheduler::EngineOnLoop> {
    return scheduler::EngineOnLoop{
        std::make_unique<FakeEngine>(std::move(executor), observer, FakeEngine::Mode::kAnswerAtOnce)};
  };
  auto server = server::SurgeServer::start(config, std::move(parts));
  if (!server.ok()) throw std::runtime_error("surged did not start in-process: " + server.status().ToString());
  server_ = std::move(*server);
  address_ = server_->listenAddress();
  std::ifstream keyFile(server::SurgeServer::adminKeyPath(dataDir));
  std::getline(keyFile, adminKey_);
  if (!adminKey_.empty()) setDefaultApiKey(adminKey_);
}

InProcessSurged::~InProcessSurged() {
  if (server_) server_->shutdown();
  server_.reset();
}

std::string InProcessSurged::log() const { return absl::StrJoin(log_->last_formatted(), ""); }

} // namespace surge::testing
