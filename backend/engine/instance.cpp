// One instance's requests in flight, and the facts its exit report reads.
#include "engine/instance.h"

namespace surge::engine {
namespace {

// The request is over: its hook on the caller's token goes, since the hook holds the instance
// and the caller may keep its token for long after the answer.
void unhook(PendingRequest& pending) {
  if (pending.cancellation) pending.cancellation->setHook({});
}

} // namespace

std::optional<PendingRequest> InFlightRequests::remove(const std::string& requestId) {
  auto it = requests_.find(requestId);
  if (it == requests_.end()) return std::nullopt;
  std::optional<PendingRequest> pending(std::move(it->second));
  requests_.erase(it);
  unhook(*pending);
  return pending;
}

std::map<std::string, PendingRequest> InFlightRequests::removeAll() {
  std::map<std::string, PendingRequest> all = std::exchange(requests_, {});
  for (auto& [requestId, pending] : all) unhook(pending);
  return all;
}

bool InFlightRequests::cancel(const std::string& requestId) {
  auto it = requests_.find(requestId);
  if (it == requests_.end() || it->second.cancelled) return false;
  it->second.cancelled = true;
  return true;
}


ExitFacts Instance::exitFacts(int waitStatus, bool oomKilled) const {
  ExitFacts facts;
  facts.waitStatus = waitStatus;
  facts.oomKilled = oomKilled;
  facts.stopRequested = stopRequested;
  facts.killedFor = killedFor;
  facts.platformStartFailure = std::string(platformStartFailure.message());
  facts.saidLoaded = saidLoaded;
  facts.runtime = spec.runtime;
  facts.memoryMb = spec.memoryMb;
  facts.stderrTail = channel.stderrTail();
  return facts;
}

} // namespace surge::engine
