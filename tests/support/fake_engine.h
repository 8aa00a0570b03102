// FakeEngine: an Engine that starts nothing. Tests of the scheduler drive it by hand: they decide
// when an instance becomes ready, when a request finishes, and when an instance dies. API tests
// that are not about sandboxes let it answer by itself (Mode::kAnswerAtOnce).
#pragma once

#include "common/mutex.h"
#include "engine/engine.h"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace surge::testing {

// Thread-safe. Every event and completion goes through the Executor, as with the real engine.
// Posted events hold the observer, never the engine: the Scheduler destroys its engine before
// the events already queued on its loop have run.
class FakeEngine final : public engine::Engine {
public:
  enum class Mode {
    kByHand,       // the test ends every start and request
    kAnswerAtOnce, // every start is ready at once, and every request answers its payload
  };
  FakeEngine(engine::Executor executor, engine::InstanceObserver& observer, Mode mode = Mode::kByHand)
      : executor_(std::move(executor)), observer_(observer), mode_(mode) {}

  engine::InstanceId start(const engine::InstanceSpec& spec) override;
  void invoke(engine::InstanceId id, engine::InvokeRequest request, engine::InvokeCallback done) override;
  void stop(engine::InstanceId id, engine::StopMode mode) override;
  void setNetworkKinds(std::set<engine::NetworkSandboxKind> kinds) override;
  // The fake pre-starts nothing.
  std::map<std::string, uint32_t> prestartedSandboxes() const override { return {}; }

  // --- what the test controls ---
  // Ends a start: ready, or failed for `message` with the fault `kind` says.
  void finishStart(engine::InstanceId id, engine::StartOutcome::Kind kind = engine::StartOutcome::Kind::kReady,
                   std::string message = "");
  // Ends a request with `result`.
  void finishInvoke(const std::string& requestId, engine::InvokeOutcome result);
  // The instance dies: its requests end with a Crashed error, then onExit.
  void crash(engine::InstanceId id, const std::string& reason = "exit code 1");

  // --- what the test observes ---
  struct Instance {
    engine::InstanceSpec spec;
    bool ready = false;
    bool stopped = false;
    engine::StopMode stopMode = engine::StopMode::kNow;
    std::vector<std::string> inflight; // request ids, in arrival order
  };
  std::map<engine::InstanceId, Instance> instances() const;
  // Request id -> instance id, for every request in flight.
  std::map<std::string, engine::InstanceId> inflightRequests() const;
  // The id of the request in flight with `payload`; empty when there is none.
  std::string requestWithPayload(const std::string& payload) const;
  // What setNetworkKinds() was last told.
  std::set<engine::NetworkSandboxKind> networkKinds() const;

private:
  struct Call {
    engine::InstanceId instance;
    engine::InvokeCallback done;
    std::string payload;
  };
  void exitLocked(engine::InstanceId id, const engine::InstanceExit& exit, const std::string& errorType,
                  const std::string& errorMessage) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  engine::Executor executor_;
  engine::InstanceObserver& observer_;
  const Mode mode_;
  mutable common::Mutex mu_;
  engine::InstanceId nextId_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<engine::InstanceId, Instance> instances_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Call> calls_ ABSL_GUARDED_BY(mu_);
  std::set<engine::NetworkSandboxKind> networkKinds_ ABSL_GUARDED_BY(mu_);
};

} // namespace surge::testing
