// FakeEngine: an Engine driven by the test.
#include "support/fake_engine.h"

#include <algorithm>

namespace surge::testing {

engine::InstanceId FakeEngine::start(const engine::InstanceSpec& spec) {
  common::MutexLock lock(mu_);
  const engine::InstanceId id = nextId_++;
  instances_[id].spec = spec;
  if (mode_ == Mode::kAnswerAtOnce) {
    instances_[id].ready = true;
    executor_([&observer = observer_, id] { observer.onStarted(id, engine::StartOutcome{}); });
  }
  return id;
}

void FakeEngine::invoke(engine::InstanceId id, engine::InvokeRequest request, engine::InvokeCallback done) {
  common::MutexLock lock(mu_);
  auto it = instances_.find(id);
  std::string refusal;
  if (it == instances_.end() || it->second.stopped) {
    refusal = "instance is gone";
  } else if (!it->second.ready) {
    refusal = "instance is not ready";
  } else if (it->second.inflight.size() >= it->second.spec.concurrency) {
    refusal = "instance has no free slot";
  }
  if (!refusal.empty()) {
    executor_([done = std::move(done), refusal] { done(engine::InvokeOutcome::refusedBecause(refusal)); });
    return;
  }
  if (mode_ == Mode::kAnswerAtOnce) {
    engine::InvokeResult echo;
    echo.output = std::move(request.payload);
    executor_([done = std::move(done), echo = std::move(echo)]() mutable {
      done(engine::InvokeOutcome::fromResult(std::move(echo)));
    });
    return;
  }
  it->second.inflight.push_back(request.requestId);
  calls_[request.requestId] = Call{id, std::move(done), std::move(request.payload)};
}

void FakeEngine::stop(engine::InstanceId id, engine::StopMode mode) {
  common::MutexLock lock(mu_);
  auto it = instances_.find(id);
  if (it == instances_.end() || it->second.stopped) return;
  it->second.stopped = true;
  it->second.stopMode = mode;
  if (mode == engine::StopMode::kNow || it->second.inflight.empty()) {
    exitLocked(id, engine::InstanceExit{"stopped", true}, "InstanceLost", "the instance was stopped");
  }
}

void FakeEngine::setNetworkKinds(std::set<engine::NetworkSandboxKind> kinds) {
  common::MutexLock lock(mu_);
  networkKinds_ = std::move(kinds);
}

std::set<engine::NetworkSandboxKind> FakeEngine::networkKinds() const {
  common::MutexLock lock(mu_);
  return networkKinds_;
}

void FakeEngine::finishStart(engine::InstanceId id, engine::StartOutcome::Kind kind, std::string message) {
  common::MutexLock lock(mu_);
  auto it = instances_.find(id);
  if (it == instances_.end()) return;
  const engine::StartOutcome outcome{kind, std::move(message), engine::StartPath::kDirect};
  it->second.ready = outcome.ready();
  executor_([&observer = observer_, id, outcome] { observer.onStarted(id, outcome); });
  if (!outcome.ready()) exitLocked(id, engine::InstanceExit{"failed to start", false}, "", "");
}

void FakeEngine::finishInvoke(const std::string& requestId, engine::InvokeOutcome result) {
  common::MutexLock lock(mu_);
  auto call = calls_.find(requestId);
  if (call == calls_.end()) return;
  const engine::InstanceId id = call->second.instance;
  executor_([done = std::move(call->second.done), result = std::move(result)]() mutable { done(std::move(result)); });
  calls_.erase(call);
  auto it = instances_.find(id);
  if (it == instances_.end()) return;
  auto& inflight = it->second.inflight;
  inflight.erase(std::remove(inflight.begin(), inflight.end(), requestId), inflight.end());
  if (it->second.stopped && inflight.empty()) exitLocked(id, engine::InstanceExit{"stopped", true}, "", "");
}

void FakeEngine::crash(engine::InstanceId id, const std::string& reason) {
  common::MutexLock lock(mu_);
  if (instances_.contains(id)) exitLocked(id, engine::InstanceExit{reason, false}, "Crashed", reason);
}

void FakeEngine::exitLocked(engine::InstanceId id, const engine::InstanceExit& exit, const std::string& errorType,
                            const std::string& errorMessage) {
  auto it = instances_.find(id);
  for (const std::string& requestId : it->second.inflight) {
    auto call = calls_.find(requestId);
    engine::InvokeResult result;
    result.error = engine::FunctionError{errorType, errorMessage, ""};
    executor_([done = std::move(call->second.done), result]() mutable {
      done(engine::InvokeOutcome::fromResult(std::move(result)));
    });
    calls_.erase(call);
  }
  instances_.erase(it);
  executor_([&observer = observer_, id, exit] { observer.onExit(id, exit); });
}

std::map<engine::InstanceId, FakeEngine::Instance> FakeEngine::instances() const {
  common::MutexLock lock(mu_);
  return instances_;
}

std::map<std::string, engine::InstanceId> FakeEngine::inflightRequests() const {
  common::MutexLock lock(mu_);
  std::map<std::string, engine::InstanceId> result;
  for (const auto& [requestId, call] : calls_) result[requestId] = call.instance;
  return result;
}

std::string FakeEngine::requestWithPayload(const std::string& payload) const {
  common::MutexLock lock(mu_);
  for (const auto& [requestId, call] : calls_) {
    if (call.payload == payload) return requestId;
  }
  return "";
}

} // namespace surge::testing
